"""Waits for ctrl+c, says it got it, exits 4."""

import time

print("waiting for ctrl+c", flush=True)
try:
    while True:
        time.sleep(0.05)
except KeyboardInterrupt:
    print("got SIGINT", flush=True)
    raise SystemExit(4)
