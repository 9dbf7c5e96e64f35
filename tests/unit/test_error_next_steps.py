"""A failed reply names the URL, the setting to check and what to do; a cancel reads "Cancelled".

Real servers on 127.0.0.1 and the real openai client: a closed port, a server that never answers,
one that answers a stream request with a plain JSON body, one whose stream holds nothing.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flowertui.engine.providers import ProviderSettings
from flowertui.engine.runner import TurnFailed
from tests.support.openai_server import STOP_POLL
from tests.support.rigs import LESSON, offline_rig


def _fail(base_url: str, timeout: float = 30.0) -> str:
    provider = ProviderSettings(provider="compatible", model="gpt-4o-mini", base_url=base_url,
                                api_key="sk-test-placeholder-key", timeout=timeout, max_retries=0)
    rig = offline_rig("buffer", provider=provider)
    with pytest.raises(TurnFailed) as failed:
        rig.conversation.ask("hello")
    assert rig.kinds("turn_error")[-1].payload["error"] == str(failed.value)
    return str(failed.value)


def test_a_closed_port_says_nothing_listens_there_and_names_base_url():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    probe.close()
    message = _fail(url)
    assert url in message and "Connection refused" in message and "--base-url" in message
    assert "start the server" in message


def test_an_unknown_host_says_so_and_names_base_url():
    message = _fail("http://flowertui-no-such-host.invalid/v1")
    assert "http://flowertui-no-such-host.invalid/v1" in message and "not found" in message
    assert "--base-url" in message


def test_a_server_that_never_answers_names_the_timeout_setting():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections are accepted by the kernel; nothing ever answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
    try:
        message = _fail(url, timeout=0.5)
    finally:
        silent.close()
    assert url in message and "within 0.5 s" in message and "`timeout`" in message


class _Plain(BaseHTTPRequestHandler):
    """Answers a stream request with a whole chat.completion JSON body, as a non-streaming server does."""

    body = json.dumps({"id": "x", "object": "chat.completion", "model": "gpt-4o-mini", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}]}).encode()
    content_type = "application/json"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


class _Empty(_Plain):
    body = b"data: [DONE]\n\n"
    content_type = "text/event-stream"


@pytest.mark.parametrize("handler", [_Plain, _Empty], ids=["json-body", "empty-stream"])
def test_a_reply_that_is_no_stream_says_the_server_must_stream(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(STOP_POLL,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        message = _fail(url)
    finally:
        server.shutdown()
        server.server_close()
    assert url in message and "no streamed reply" in message and "--base-url" in message
    assert "No generations" not in message and "ValueError" not in message


def test_a_cancel_reads_cancelled_in_every_event():
    rig = offline_rig("buffer")

    def cancel_on_third_token(event):
        if event.counted_token and sum(e.counted_token for e in rig.events if e.turn == event.turn) == 3:
            rig.conversation.cancel()

    rig.bus.subscribe(cancel_on_third_token)
    assert rig.conversation.ask(LESSON[0]).status == "cancelled"
    errors = [e.payload["error"] for e in rig.events if e.kind.endswith("_error")]
    assert errors and set(errors) == {"Cancelled"}
