"""Prints its pid, asks the offline server once, waits for the file argv[1], asks again, prints, exits 3."""

import os
import sys
import time

from langchain_openai import ChatOpenAI

model = ChatOpenAI(model="gpt-4o-mini", max_retries=0, timeout=10)
print(os.getpid(), flush=True)
print("first:", bool(model.invoke("Do you have roses?").content), flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
print("second:", bool(model.invoke("And tulips?").content), flush=True)
sys.exit(3)
