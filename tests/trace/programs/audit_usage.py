"""Audit test program: a reply with cached tokens, and a stream without a `model` field (usage still sent)."""
from langchain_openai import ChatOpenAI

print(ChatOpenAI(model="cached").invoke("roses?").content[:10])
print(ChatOpenAI(model="nameless", streaming=True, stream_usage=True).invoke("tulips?").content[:10])
