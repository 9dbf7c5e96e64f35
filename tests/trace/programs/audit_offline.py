"""Audit test program (offline server upstream): a stream without stream_usage, a plain call, embeddings."""
from langchain_openai import ChatOpenAI, OpenAIEmbeddings

print(ChatOpenAI(model="gpt-4o-mini", streaming=True).invoke("I want roses").content[:20])
print(ChatOpenAI(model="gpt-4o-mini").invoke("tulips?").content[:20])
print(len(OpenAIEmbeddings(model="text-embedding-3-small").embed_documents(["roses", "tulips"])))
