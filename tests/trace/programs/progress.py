"""A long line and a progress line redrawn with carriage returns, then waits for stdin to close."""

import sys

print("start-" + "x" * 200 + "-tail-end", flush=True)
print("step-one-of-two\rstep-two-done", flush=True)
sys.stdin.read()
