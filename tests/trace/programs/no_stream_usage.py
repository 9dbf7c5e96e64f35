"""ChatOpenAI streaming from a custom base URL without stream_usage=True: the server sends no usage."""

import sys

from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o-mini", base_url=sys.argv[1], api_key="sk-x", streaming=True)
print(llm.invoke("Which flower for a birthday?").content)
