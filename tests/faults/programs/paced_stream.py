"""Streams argv[1] replies of 100 characters, one token per character, about 4 ms apart (2 s for 5 replies);
writes how many tokens it streamed to the file argv[2] when it has finished."""

import sys

from langchain_core.language_models.fake_chat_models import FakeListChatModel

calls = int(sys.argv[1]) if len(sys.argv) > 1 else 5
model = FakeListChatModel(responses=[("reply %d " % i).ljust(100, "x") for i in range(calls)], sleep=0.004)
for _ in range(calls):
    for _ in model.stream("hi"):
        pass
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as handle:
        handle.write(str(calls * 100))
