"""Prints its pid, makes one call, then streams a long reply slowly; prints "streaming" after 30 pieces."""

import os

from langchain_core.language_models.fake_chat_models import FakeListChatModel

print(os.getpid(), flush=True)
model = FakeListChatModel(responses=["the first answer, finished", "a long reply, one piece at a time. " * 100],
                          sleep=0.02)
print("first:", model.invoke("the first question").content, flush=True)
for number, _ in enumerate(model.stream("the second question, asked while streaming")):
    if number == 30:
        print("streaming", flush=True)
