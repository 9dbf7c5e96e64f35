"""A RAG lookup (OpenAIEmbeddings into an in-memory vector store) that prints what the server said it counted:
`SERVED <requests> <prompt tokens>`, summed from each embeddings response's `usage`."""

import httpx
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_openai import OpenAIEmbeddings

served = []


def count(response: httpx.Response) -> None:
    if response.request.url.path.endswith("/embeddings"):
        response.read()
        served.append(response.json()["usage"]["prompt_tokens"])


embeddings = OpenAIEmbeddings(model="text-embedding-3-small", http_client=httpx.Client(event_hooks={"response": [count]}))
store = InMemoryVectorStore.from_texts([
    "Roses mean love; red roses suit anniversaries.",
    "Delivery in the city is 15 CNY; order before 18:00 for same-day delivery.",
    "Carnations thank mothers.",
], embeddings)
print("FOUND", store.similarity_search("How much is delivery?", k=1)[0].page_content)
print("SERVED", len(served), sum(served))
