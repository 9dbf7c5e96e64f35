"""Fault-suite fixtures: a misbehaving loopback server per case, and the provider settings to reach it."""

from __future__ import annotations

import socket
from contextlib import contextmanager

from flowertui.engine.providers import ProviderSettings
from tests.support.faults import PLANTED_KEY, Fault
from tests.support.openai_server import OpenAIServer, Reply


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
