"""Writes 5 MB to stdout without a single newline."""

import sys

sys.stdout.write("x" * 5_000_000)
sys.stdout.flush()
