"""Prints its pid, makes one call, waits for the file argv[1] to exist, makes a second call, exits 5."""

import os
import sys
import time

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate

print(os.getpid(), flush=True)
chain = ChatPromptTemplate.from_template("{x}") | FakeListChatModel(responses=["first answer", "second answer"])
print("first:", chain.invoke({"x": "one"}).content, flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
print("second:", chain.invoke({"x": "two"}).content, flush=True)
sys.exit(5)
