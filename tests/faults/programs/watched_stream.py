"""Not started by flowertui trace: watches one streamed reply, one token per character, then exits."""

import os
import sys

sys.path.insert(0, os.environ["FLOWERTUI_SOURCE"])
import flowertui  # noqa: E402
from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402

with flowertui.watch():
    for _ in FakeListChatModel(responses=["pink roses for a birthday"], sleep=0.01).stream("hi"):
        pass
print("streamed", flush=True)
