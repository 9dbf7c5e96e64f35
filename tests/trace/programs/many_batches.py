"""Prints its pid, makes argv[2] calls one batch apart, waits for the file argv[1], makes argv[2] more, exits 0."""

import os
import sys
import time

from langchain_core.language_models.fake_chat_models import FakeListChatModel

print(os.getpid(), flush=True)
count = int(sys.argv[2])
model = FakeListChatModel(responses=[f"answer {i}" for i in range(2 * count)])
for _ in range(count):
    model.invoke("before")
    time.sleep(0.03)  # each call its own batch, acknowledged but (under 32 batches) not yet read by the probe
print("ready", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
for _ in range(count):
    model.invoke("after")
    time.sleep(0.03)
