"""Writes lines as fast as it can until it has written argv[1] bytes and a line came on stdin; then one chain
call, then 'flood done'. Told when to stop, it is still flooding whenever the viewer handles a key before that."""

import sys
import threading

from langchain_core.language_models.fake_chat_models import FakeListChatModel

told = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), told.set()), daemon=True).start()
line = "y" * 99 + "\n"
written = 0
while written < int(sys.argv[1]) or not told.is_set():
    sys.stdout.write(line)
    written += len(line)
print(FakeListChatModel(responses=["after the flood"]).invoke("hi").content)
print("flood done")
