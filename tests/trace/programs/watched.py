"""Not started by flowertui trace: one line in code watches a chain."""

import os
import sys

sys.path.insert(0, os.environ["FLOWERTUI_SOURCE"])
import flowertui  # noqa: E402
from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402

chain = ChatPromptTemplate.from_template("{x}") | FakeListChatModel(responses=["watched answer", "unseen"])
with flowertui.watch():
    print(chain.invoke({"x": "inside " + os.environ["DEMO_API_KEY"]}).content)
print(chain.invoke({"x": "outside"}).content)
