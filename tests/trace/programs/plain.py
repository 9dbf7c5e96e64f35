"""A program without LangChain."""

print("no chains here")
