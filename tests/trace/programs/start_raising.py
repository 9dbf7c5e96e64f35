"""A handler whose on_llm_start raises: LangChain logs it (a chat model falls back to it) and the call goes on."""

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel


class Loud(BaseCallbackHandler):
    def on_llm_start(self, serialized, prompts, **kwargs):
        raise ValueError("start boom")


print(FakeListChatModel(responses=["ok"]).invoke("hi", config={"callbacks": [Loud()]}).content)
