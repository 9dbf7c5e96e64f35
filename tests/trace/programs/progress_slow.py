"""A progress line redrawn with carriage returns, one state per write with pauses between (so each state
arrives in a read of its own), then its final state with a newline, and a line after it."""

import sys
import time

for step in range(1, 4):
    sys.stdout.write(f"\rloading {step}/3")
    sys.stdout.flush()
    time.sleep(0.3)
sys.stdout.write("\rloaded all 3\n")
print("after the progress", flush=True)
