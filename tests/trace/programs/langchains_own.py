"""A handler of the program's and LangChain's own astream_events handler on the same chain."""

import asyncio

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate


class Mine(BaseCallbackHandler):
    def on_llm_end(self, response, **kwargs):
        pass


async def main():
    chain = ChatPromptTemplate.from_template("{x}") | FakeListChatModel(responses=["streamed answer"])
    async for _ in chain.astream_events({"x": "hi"}, version="v2", config={"callbacks": [Mine()]}):
        pass


asyncio.run(main())
