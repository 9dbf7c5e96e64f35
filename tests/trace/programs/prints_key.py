"""Prints its own API key, as a careless program might."""

import os

print("key:", os.environ["MY_API_KEY"], flush=True)
