"""Streams a 140-character reply through a chain, one character every 10 ms (a model's pace, not a burst)."""

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate

chain = ChatPromptTemplate.from_template("{x}") | FakeListChatModel(responses=["roses are red " * 10], sleep=0.01)
print(sum(1 for _ in chain.stream({"x": "flowers"})), "pieces")
