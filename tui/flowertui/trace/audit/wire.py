"""One HTTP call as the wire carried it: what the request asked, what the response answered, bounded.

The proxy feeds each body piece here after forwarding it; `record()` is the call's JSON record. Only
fields flowertui needs are kept (never a header, never a message text): the model asked and answered,
whether it streamed and asked for streamed usage, the provider's usage, an error's code. Usage is read
from chat completions and legacy completions (`usage`, or a stream's last chunk), the Responses API
(`usage`, or `response.completed`) and embeddings (`usage`).
"""

from __future__ import annotations

import json
import time
import zlib
from typing import Any

from flowertui.trace.audit.scan import SSE, TopLevel

TEXT_LIMIT = 200  # characters kept of a model name or an error code
DECODE_STEP = 1 << 20  # bytes a compressed body is inflated in at a time
RESPONSES_DONE = ("response.completed", "response.incomplete", "response.failed")


def endpoint_kind(path: str) -> str:
    """What the call is, by its path's end: chat, completions, responses, embeddings or other."""
    path = path.rstrip("/")
    for suffix, kind in (("/chat/completions", "chat"), ("/completions", "completions"), ("/responses", "responses"),
                         ("/embeddings", "embeddings")):
        if path.endswith(suffix):
            return kind
    return "other"


def _text(value: Any) -> str | None:
    return value[:TEXT_LIMIT] if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    return value if type(value) is int and 0 <= value < 1 << 53 else None


def normal_usage(raw: Any) -> dict[str, int] | None:
    """The provider's usage as prompt / completion / cached / reasoning / total (chat, completions and embeddings
    say prompt_tokens…, the Responses API input_tokens…); None when it is not a usage object."""
    if not isinstance(raw, dict):
        return None
    if "input_tokens" in raw and "prompt_tokens" not in raw:
        prompt, completion = _count(raw.get("input_tokens")), _count(raw.get("output_tokens"))
        prompt_details, completion_details = raw.get("input_tokens_details"), raw.get("output_tokens_details")
    else:
        prompt, completion = _count(raw.get("prompt_tokens")), _count(raw.get("completion_tokens"))
        prompt_details, completion_details = raw.get("prompt_tokens_details"), raw.get("completion_tokens_details")
    if prompt is None and completion is None:
        return None
    prompt, completion = prompt or 0, completion or 0
    usage = {"prompt": prompt, "completion": completion, "total": _count(raw.get("total_tokens")) or prompt + completion}
    cached = _count(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else None
    reasoning = _count(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else None
    usage["cached"], usage["reasoning"] = cached or 0, reasoning or 0
    return usage


class _Inflate:
    """A gzip or deflate body inflated in bounded steps for the readers (the forwarded bytes stay compressed)."""

    def __init__(self, encoding: str) -> None:
        self._z = zlib.decompressobj(31 if encoding == "gzip" else 15)
        self.failed = False

    def __call__(self, data: bytes):
        if self.failed:
            return
        try:
            while data:
                out = self._z.decompress(data, DECODE_STEP)
                data = self._z.unconsumed_tail
                if out:
                    yield out
        except zlib.error:
            self.failed = True


class CallObserver:
    """Reads one call's request and response on the side; nothing here can fail the forwarding."""

    def __init__(self, call: int, method: str, path: str) -> None:
        self.call, self.method, self.path = call, method, path
        self.kind = endpoint_kind(path)
        self.started_wall, self.started_mono = time.time(), time.monotonic()
        self.headers_mono: float | None = None
        self.status = 0
        self.request_bytes = self.response_bytes = 0
        self.error: str | None = None
        self._request = TopLevel(("model", "stream", "stream_options"))
        self._response: TopLevel | None = None
        self._sse: SSE | None = None
        self._inflate: _Inflate | None = None
        self.undecoded = 0  # response bytes in an encoding the readers cannot inflate (br, zstd)
        self.model_answered: str | None = None
        self.usage: dict[str, int] | None = None
        self.client_gone = False
        self.stream_done = False  # the stream's own end was read (`[DONE]`, a Responses API terminal event)

    def request(self, data: bytes) -> None:
        self.request_bytes += len(data)
        self._request.feed(data)

    def response_start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.status, self.headers_mono = status, time.monotonic()
        found = {name.lower(): value.decode("latin-1").lower() for name, value in headers}
        encoding = found.get(b"content-encoding", "identity").strip()
        if encoding in ("gzip", "deflate"):
            self._inflate = _Inflate(encoding)
        elif encoding not in ("identity", ""):
            self.undecoded = -1  # counted as bytes arrive
        if "text/event-stream" in found.get(b"content-type", ""):
            self._sse = SSE()
        else:
            self._response = TopLevel(("model", "usage", "error"))

    def response(self, data: bytes) -> None:
        self.response_bytes += len(data)
        if self.undecoded:
            self.undecoded = max(self.undecoded, 0) + len(data)
            return
        pieces = self._inflate(data) if self._inflate is not None else (data,)
        for piece in pieces:
            if self._sse is not None:
                for text in self._sse.feed(piece):
                    self._event(text)
            elif self._response is not None:
                self._response.feed(piece)

    def _event(self, text: str) -> None:
        if text.strip() == "[DONE]":
            self.stream_done = True
            return
        try:
            chunk = json.loads(text)
        except ValueError:
            return
        if not isinstance(chunk, dict):
            return
        kind = chunk.get("type")
        if isinstance(kind, str) and kind.startswith("response."):  # the Responses API's typed events
            response = chunk.get("response")
            if isinstance(response, dict):
                self.model_answered = _text(response.get("model")) or self.model_answered
                if kind in RESPONSES_DONE:
                    self.stream_done = True
                    self.usage = normal_usage(response.get("usage")) or self.usage
            return
        self.model_answered = _text(chunk.get("model")) or self.model_answered
        self.usage = normal_usage(chunk.get("usage")) or self.usage
        if isinstance(chunk.get("error"), dict):
            self.error = _error_code(chunk["error"])

    def record(self) -> dict[str, Any]:
        """The call's record (JSON-able), once its response has ended (or failed)."""
        asked = self._request.values()
        if self._response is not None:
            answered = self._response.values()
            self.model_answered = _text(answered.get("model")) or self.model_answered
            self.usage = normal_usage(answered.get("usage")) or self.usage
            if isinstance(answered.get("error"), dict):
                self.error = _error_code(answered["error"])
        stream = asked.get("stream") is True
        options = asked.get("stream_options")
        if self.kind in ("chat", "completions") and stream:  # the only calls whose usage must be asked for
            usage_requested = isinstance(options, dict) and options.get("include_usage") is True
        else:
            usage_requested = None
        now = time.monotonic()
        dropped = self._request.dropped + (self._response.dropped if self._response else 0) + \
            (self._sse.dropped if self._sse else 0) + max(self.undecoded, 0)
        return {"call": self.call, "method": self.method, "endpoint": self.path, "api": self.kind,
                "model_asked": _text(asked.get("model")), "model_answered": self.model_answered,
                "status": self.status, "latency_ms": round((now - self.started_mono) * 1000, 2),
                "ttfb_ms": None if self.headers_mono is None else round((self.headers_mono - self.started_mono) * 1000, 2),
                "stream": stream, "usage_requested": usage_requested, "provider_usage": self.usage,
                "request_bytes": self.request_bytes, "response_bytes": self.response_bytes,
                "unparsed_bytes": dropped, "error": self.error, "client_gone": self.client_gone and not self.stream_done,
                "started": self.started_wall, "ended": time.time(), "ended_mono": now}


def _error_code(error: dict) -> str | None:
    """An API error's code or type only: its message can quote the key (`Incorrect API key provided: sk-…`)."""
    return _text(error.get("code")) or _text(error.get("type"))
