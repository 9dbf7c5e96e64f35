"""Opt-in: a real Arize Phoenix (`phoenix serve`) receives a chat session's spans and counts its tokens as the
ledger does. Phoenix is large (≈ 850 MB with its dependencies), so it is not in the `test` extra: install it in
a venv of its own and point FLOWERTUI_PHOENIX at its `phoenix` executable, then `pytest -m phoenix`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.support.traced import flowertui

PHOENIX = os.environ.get("FLOWERTUI_PHOENIX")
pytestmark = [pytest.mark.phoenix,
              pytest.mark.skipif(not PHOENIX, reason="set FLOWERTUI_PHOENIX to a `phoenix` executable")]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310  loopback
        return json.loads(answer.read())


def _spans(base: str) -> list[dict]:
    """The spans of the project flowertui's resource names (none while Phoenix has not created it yet)."""
    try:
        return _get(f"{base}/v1/projects/flowertui/spans?limit=1000")["data"]
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise


@pytest.fixture
def phoenix(tmp_path):
    port = _port()
    env = {**os.environ, "PHOENIX_WORKING_DIR": str(tmp_path), "PHOENIX_HOST": "127.0.0.1",
           "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(_port()), "PHOENIX_TELEMETRY_ENABLED": "false"}
    server = subprocess.Popen([PHOENIX, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()  # noqa: S310
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "phoenix serve did not come up"
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(30)


def test_phoenix_takes_a_chat_sessions_spans_and_counts_the_ledgers_tokens(phoenix):
    document = json.loads(flowertui("run", "--script", "lesson", "--memory", "summary_buffer", "--json").stdout)
    sent = flowertui("export", document["session_id"], "--format", "otlp", "--endpoint", phoenix)  # /v1/traces added
    assert sent.returncode == 0, sent.stderr
    expected = int(sent.stdout.decode().split("sent ")[1].split()[0])
    deadline = time.monotonic() + 30
    while len(spans := _spans(phoenix)) < expected:  # Phoenix files spans in the background
        assert time.monotonic() < deadline, f"phoenix has {len(spans)} of {expected} spans"
        time.sleep(0.5)
    ids = {s["context"]["span_id"] for s in spans}
    assert all(s["parent_id"] in ids for s in spans if s["parent_id"])
    assert {s["span_kind"] for s in spans} == {"CHAIN", "LLM"}
    assert sum(s["attributes"]["llm.token_count.total"] for s in spans if s["span_kind"] == "LLM") == \
        document["total_tokens"]
    assert {s["attributes"]["session.id"] for s in spans} == {document["session_id"]}
