"""Streams one short reply through a chain; a handler of its own raises on some streamed tokens (LangChain logs it).

Prints the reply, then how many times LangChain called a handler's inherited no-op for a token: only a handler
with no token code of its own (the probe's, when traced) would be called there."""

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.callbacks.base import LLMManagerMixin
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate

no_ops = []
inherited = LLMManagerMixin.on_llm_new_token
LLMManagerMixin.on_llm_new_token = lambda self, *args, **kwargs: no_ops.append(type(self).__name__)


class Picky(BaseCallbackHandler):
    def on_llm_new_token(self, token, **kwargs):
        if token == "s":
            raise ValueError("no s")


chain = ChatPromptTemplate.from_template("{x}") | FakeListChatModel(responses=["roses"])
print("".join(chunk.content for chunk in chain.stream({"x": "flowers"}, config={"callbacks": [Picky()]})))
print("inherited token no-ops called:", len(no_ops))
