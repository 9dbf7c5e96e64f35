"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests, able to misbehave on request.

Streams chat.completion.chunk SSE like the real services do. Each request takes
the next planned `Reply` (the last one repeats), so a test can script "429, then
success" or "disconnect in the middle of the stream". Every request is recorded
(path, lower-cased headers, JSON body) so tests can check what the client sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STOP_POLL = 0.02  # seconds: how often a serving loop looks whether shutdown() was asked for


@dataclass
class Reply:
    """One answer: an error status, or a stream of pieces with optional faults."""

    pieces: list[str] = field(default_factory=lambda: ["Pink ", "roses ", "suit ", "a ", "birthday."])
    prompt_tokens: int = 42
    completion_tokens: int = 5
    model: str = "qwen-turbo"
    status: int = 200
    error: str = ""  # the error message of a non-200 answer
    headers: dict[str, str] = field(default_factory=dict)
    first_delay: float = 0.0  # seconds before the first chunk
    hold: threading.Event | None = None  # the first chunk also waits until the test sets this (60 s at most)
    piece_delay: float = 0.0  # seconds between chunks (a paced stream)
    cut_after: int | None = None  # drop the connection after this many pieces
    malformed_after: int | None = None  # send a broken SSE line after this many pieces
    usage: bool = True  # send the usage chunk when the client asks for one
    cached_tokens: int = 0  # of the prompt tokens, read from the cache (usage.prompt_tokens_details)
    reasoning_tokens: int = 0  # of the completion tokens, spent reasoning (usage.completion_tokens_details)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]


class OpenAIServer:
    """Start with `with OpenAIServer(reply, ...) as server:`; `server.base_url` is the client's base_url."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [Reply()]
        self.requests: list[Recorded] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._httpd.handle_error = _quiet_when_the_client_left
        # a short poll: shutdown() waits for the serving loop to notice (0.5 s at the default), at every test's end
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(STOP_POLL,), daemon=True)

    @property
    def reply(self) -> Reply:
        return self.replies[0]

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next(self) -> Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = server._next()
                if not self.path.endswith("/chat/completions"):
                    self._error(404, "not found", {})
                elif reply.status != 200:
                    self._error(reply.status, reply.error or "error", reply.headers)
                else:
                    self._stream(reply, bool((body.get("stream_options") or {}).get("include_usage")))

            def _error(self, status: int, message: str, headers: dict[str, str]) -> None:
                payload = json.dumps({"error": {"message": message, "type": "error", "code": status}}).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, reply: Reply, include_usage: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")  # as real services stream
                self.end_headers()
                self.close_connection = True
                time.sleep(reply.first_delay)
                if reply.hold is not None:
                    reply.hold.wait(60)
                for index, chunk in enumerate(_chunks(reply, include_usage)):
                    if reply.cut_after is not None and index > reply.cut_after:
                        self.connection.shutdown(socket.SHUT_RDWR)  # no closing chunk: a broken stream
                        return
                    if reply.malformed_after is not None and index > reply.malformed_after:
                        self._send(b'data: {"choices": [{"delta": {"content": "oops"\n\n')
                        break
                    self._send(f"data: {json.dumps(chunk)}\n\n".encode())
                    if reply.piece_delay:
                        time.sleep(reply.piece_delay)
                else:
                    self._send(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def _send(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        return Handler


def _chunks(reply: Reply, include_usage: bool) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": reply.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in reply.pieces]
    chunks.append(chunk({}, "stop"))
    if include_usage and reply.usage:
        chunks.append({
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": reply.model,
            "choices": [],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                **({"prompt_tokens_details": {"cached_tokens": reply.cached_tokens}} if reply.cached_tokens else {}),
                **({"completion_tokens_details": {"reasoning_tokens": reply.reasoning_tokens}}
                   if reply.reasoning_tokens else {}),
            },
        })
    return chunks


def _quiet_when_the_client_left(request: Any, address: Any) -> None:
    """A client that gave up (a timeout, a cancel) is expected here; anything else is still reported."""
    import sys
    import traceback

    if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
        traceback.print_exc()
