"""The fault matrix: each way a provider can misbehave, what flowertui must make of it, and the loopback server that plays it."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from dataclasses import dataclass, field

from flowertui.engine.providers import ProviderSettings
from tests.support.openai_server import OpenAIServer, Reply

PLANTED_KEY = "sk-planted-fault-key-0123456789abcdefghij"

MARKUP = ["[/bold] ", "[@click=app.quit]x[/] ", "[link=file:///etc/passwd]x[/link]"]
ESCAPES = ["\x1b[31mred\x1b[0m ", "\x1b[2J\x1b[H", "\x1b]52;c;cHduZWQ=\x07", "\x1b]0;pwned title\x07", "ok"]
UNICODE = ["粉色玫瑰 ", "🌹💐 ", "e\u0301te\u0301 ", "مرحبا بالزهور ", "ok"]
LARGE = ["花" * 50 + "rose " * 30] * 1000  # about 200 KB of text


@dataclass(frozen=True)
class Fault:
    name: str
    replies: list[Reply]
    fails: bool  # True: the turn fails and `run` exits 1
    says: str = ""  # part of the message the user must see
    timeout: float | None = None  # provider timeout for this case
    refused: bool = False  # no server at all
    retries: int = 0  # retry events expected
    usage_missing: bool = False
    shown: str | None = None  # the reply as it must be shown (escapes stripped, markup literal)
    extra: dict = field(default_factory=dict)


FAULTS: list[Fault] = [
    Fault("401 bad key", [Reply(status=401, error=f"Incorrect API key provided: {PLANTED_KEY}")], True,
          "401: the API key was refused by the server at http://127.0.0.1"),
    Fault("404 unknown model", [Reply(status=404, error="The model `qwen-nope` does not exist")], True, "does not exist"),
    Fault("429 then success", [Reply(status=429, error="Rate limit reached", headers={"Retry-After": "1"}), Reply()],
          False, retries=1, shown="Pink roses suit a birthday."),
    Fault("500 server error", [Reply(status=500, error="internal failure")] * 3, True, "internal failure", retries=2),
    Fault("503 unavailable", [Reply(status=503, error="overloaded, try later")] * 3, True, "overloaded", retries=2),
    Fault("connection refused", [Reply()], True, "Connection", refused=True),
    Fault("first token too slow", [Reply(first_delay=3.0)], True, "Timeout", timeout=1.0),
    Fault("disconnect mid-stream", [Reply(pieces=["Pink ", "roses ", "are "] * 5, cut_after=6)], True, "closed"),
    Fault("malformed SSE line", [Reply(malformed_after=3)], True, "sent a reply that is not valid JSON"),
    Fault("no usage chunk", [Reply(usage=False)], False, usage_missing=True, shown="Pink roses suit a birthday."),
    Fault("Rich markup in reply", [Reply(pieces=MARKUP)], False, shown="".join(MARKUP)),
    Fault("ANSI and OSC escapes", [Reply(pieces=ESCAPES)], False, shown="red ok"),
    Fault("200 KB reply", [Reply(pieces=LARGE, completion_tokens=60000)], False, shown="".join(LARGE)),
    Fault("CJK, emoji, combining, RTL", [Reply(pieces=UNICODE)], False, shown="".join(UNICODE)),
]


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


@contextmanager
def serving(fault: Fault, *then: Reply):
    """The fault's server (none for a refused connection), with `then` answered afterwards."""
    if fault.refused:
        yield None, closed_port_url()
        return
    with OpenAIServer(*fault.replies, *then) as server:
        yield server, server.base_url


def provider(url: str, fault: Fault) -> ProviderSettings:
    return ProviderSettings(provider="compatible", model="qwen-turbo", base_url=url, api_key=PLANTED_KEY,
                            timeout=fault.timeout or 10.0)
