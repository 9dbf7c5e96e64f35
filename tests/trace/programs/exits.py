"""Ends the way argv[1] says: `code N`, `signal N`, or `crash` (an exception with markup in its message)."""

import os
import sys

how, value = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
print("before the end", flush=True)
if how == "code":
    sys.exit(int(value))
if how == "signal":
    os.kill(os.getpid(), int(value))
if how == "crash":
    raise ValueError("[bold]not markup[/bold] \x1b[31mred\x1b[0m")
