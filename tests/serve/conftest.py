"""One real `flowertui serve` server on 127.0.0.1 for the module's tests."""

from __future__ import annotations

import pytest

from flowertui.serve.server import ShopServer


@pytest.fixture(scope="module")
def server():
    with ShopServer() as running:
        yield running


@pytest.fixture
def client(server):
    import openai

    return openai.OpenAI(base_url=server.base_url, api_key="sk-test-placeholder", max_retries=0)
