"""Audit test program: the upstream answers 429 once; the client retries within one LangChain run."""
from langchain_openai import ChatOpenAI

print(ChatOpenAI(model="flaky", max_retries=2).invoke("roses?").content)
