"""Writes argv[1] bytes of output as fast as it can, then one chain call, then 'flood done'."""

import sys

from langchain_core.language_models.fake_chat_models import FakeListChatModel

line = "y" * 99 + "\n"
for _ in range(int(sys.argv[1]) // 100):
    sys.stdout.write(line)
print(FakeListChatModel(responses=["after the flood"]).invoke("hi").content)
print("flood done")
