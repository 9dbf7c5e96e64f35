"""Handlers that raise: LangChain only logs these; one with raise_error=True still stops the program's call."""

import asyncio

from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate


class Bad(BaseCallbackHandler):
    def on_chain_start(self, serialized, inputs, **kwargs):
        raise ValueError("sync boom")


class AsyncBad(AsyncCallbackHandler):
    async def on_llm_end(self, response, **kwargs):
        raise RuntimeError("async boom")


class Strict(BaseCallbackHandler):
    raise_error = True

    def on_llm_start(self, serialized, prompts, **kwargs):
        raise KeyError("strict boom")


chain = ChatPromptTemplate.from_template("{x}") | FakeListChatModel(responses=["ok"])
print(chain.invoke({"x": "a"}, config={"callbacks": [Bad(), AsyncBad()]}).content)
print(asyncio.run(chain.ainvoke({"x": "b"}, config={"callbacks": [Bad(), AsyncBad()]})).content)
try:
    chain.invoke({"x": "c"}, config={"callbacks": [Strict()]})
except KeyError as error:
    print("strict handler stopped the call:", error)
