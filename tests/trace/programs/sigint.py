"""Says whether ctrl+c would interrupt it, as Python sets that up at start."""

import signal

print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
