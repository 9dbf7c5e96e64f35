"""Counts tokens with tiktoken itself (as token-buffer memory and get_num_tokens do), then asks argv[1]'s model.

Its own network is blocked beyond loopback, as on a machine without internet: tiktoken can only
read its files from a cache.
"""

import ipaddress
import socket

_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and not (host == "localhost" or _is_loopback(host)):
        raise OSError(f"no network here: {host}")
    return _connect(self, address)


def _is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


socket.socket.connect = _loopback_only

import tiktoken  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402

print("TOKENS", len(tiktoken.get_encoding("cl100k_base").encode("Which flower suits a birthday?")))
print(ChatOpenAI(model="gpt-4o-mini", max_retries=0, streaming=True).invoke("Which flower suits a birthday?").content)
