"""Watched (no flowertui trace): one answer, then a reply cut off mid-stream by os._exit (no exit handler runs)."""

import os
import sys
import time

sys.path.insert(0, os.environ["FLOWERTUI_SOURCE"])
import flowertui  # noqa: E402
from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402

model = FakeListChatModel(responses=["a finished answer", "a reply cut off mid-stream. " * 50])
with flowertui.watch():
    model.invoke("the first question")
    for number, _ in enumerate(model.stream("the second question")):
        if number == 40:
            time.sleep(0.5)  # what streamed so far reaches the viewer, or the spool
            os._exit(0)
