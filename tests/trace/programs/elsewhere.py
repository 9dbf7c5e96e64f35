"""Run by another Python environment that has langchain-core but not flowertui."""

import importlib.util
import sys

assert importlib.util.find_spec("flowertui") is None, "flowertui must not be importable here"
assert importlib.util.find_spec("textual") is None
from langchain_core.callbacks import BaseCallbackHandler  # noqa: E402
from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402


class Mine(BaseCallbackHandler):
    def on_chain_start(self, serialized, inputs, **kwargs):
        pass


chain = ChatPromptTemplate.from_template("{x}") | FakeListChatModel(responses=["from elsewhere"])
print(chain.invoke({"x": "hi"}, config={"callbacks": [Mine()]}).content, sys.prefix)
