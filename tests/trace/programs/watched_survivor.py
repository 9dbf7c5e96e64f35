"""Calls flowertui.watch(), makes one call, waits for the file argv[1], makes a second call, exits 6."""

import os
import sys
import time

sys.path.insert(0, os.environ["FLOWERTUI_SOURCE"])
import flowertui  # noqa: E402
from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402

chain = ChatPromptTemplate.from_template("{x}") | FakeListChatModel(responses=["first answer", "second answer"])
flowertui.watch()
print("first:", chain.invoke({"x": "one"}).content, flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
print("second:", chain.invoke({"x": "two"}).content, flush=True)
sys.exit(6)
