"""One call to a fake chat model."""

from langchain_core.language_models.fake_chat_models import FakeListChatModel

print(FakeListChatModel(responses=["an answer"]).invoke("a question").content, flush=True)
