"""A chain with a handler of its own, called once per word of argv[1]; the model's reply names the word.

`flowertui diff` tests trace it twice with different words and compare the run trees."""

import sys

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate


class Counter(BaseCallbackHandler):
    def on_llm_end(self, response, **kwargs):
        pass


words = sys.argv[1].split(",")
model = FakeListChatModel(responses=[f"red roses for {word}" for word in words])
chain = ChatPromptTemplate.from_template("flowers for {x}?") | model
for word in words:
    print(chain.invoke({"x": word}, config={"callbacks": [Counter()]}).content, flush=True)
