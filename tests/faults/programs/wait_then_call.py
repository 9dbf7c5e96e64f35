"""Writes the probe's address to argv[1], waits for the file argv[2], then imports LangChain and makes a call."""

import os
import sys
import time

with open(sys.argv[1], "w") as handle:
    handle.write(os.environ["FLOWERTUI_TRACE_ADDR"])
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402

print(FakeListChatModel(responses=["after the siege"]).invoke("hi").content, flush=True)
