"""Bounded readers of HTTP bodies fed in pieces: a JSON object's top-level fields, and server-sent events.

Bodies can be huge (a 100 MB prompt, an embeddings reply of many vectors): nothing here holds a body whole.
`TopLevel` keeps only the values of the top-level keys it is asked for, each up to a cap, and skips the rest
with C-speed searches (no Python loop per byte); `SSE` keeps one event at a time, up to a cap. What is
skipped for being over a cap is counted in `dropped`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

VALUE_LIMIT = 64 * 1024  # bytes kept of one wanted value (a usage object is a few hundred)
EVENT_LIMIT = 1 << 20  # bytes kept of one server-sent event (a Responses API `response.completed` holds the reply)

_STRING_STOP = re.compile(rb'["\\]')
_NESTED_STOP = re.compile(rb'["{}\[\]]')
_TOP_STOP = re.compile(rb'["{}\[\],:]')


class TopLevel:
    """The values of `wanted` top-level keys of one JSON object, parsed once the body has ended (`values()`)."""

    def __init__(self, wanted: Iterable[str], limit: int = VALUE_LIMIT) -> None:
        self.wanted = {key.encode() for key in wanted}
        self.limit = limit
        self.dropped = 0  # bytes of wanted values over the limit, not kept
        self._found: dict[str, bytearray] = {}
        self._depth = 0  # 0 before the object, 1 inside it, more inside a value
        self._in_string = False
        self._escape = False
        self._key: bytearray | None = None  # a top-level key being read
        self._last_key: bytes | None = None
        self._expect_value = False
        self._capture: bytearray | None = None  # the wanted value being kept
        self._capture_name = ""

    def feed(self, data: bytes) -> None:
        i, n = 0, len(data)
        while i < n:
            if self._in_string:
                i = self._string(data, i)
                continue
            pattern = _TOP_STOP if self._depth <= 1 else _NESTED_STOP
            found = pattern.search(data, i)
            end = found.start() if found else n
            if self._capture is not None:
                self._keep(data[i:end])
            if found is None:
                return
            self._structural(data[end:end + 1])
            i = end + 1

    def _string(self, data: bytes, i: int) -> int:
        """Inside a string: jump to its closing quote (escapes honoured); keys at depth 1 are read."""
        if self._escape:
            self._escape = False
            self._text(data[i:i + 1])
            return i + 1
        found = _STRING_STOP.search(data, i)
        end = found.start() if found else len(data)
        self._text(data[i:end])
        if found is None:
            return end
        char = data[end:end + 1]
        self._text(char)
        if char == b"\\":
            self._escape = True
        else:
            self._in_string = False
            if self._key is not None:
                self._last_key, self._key = bytes(self._key[:-1]), None
        return end + 1

    def _text(self, piece: bytes) -> None:
        if self._key is not None:
            if len(self._key) < 256:  # a key that long is no key we want
                self._key += piece
        elif self._capture is not None:
            self._keep(piece)

    def _structural(self, char: bytes) -> None:
        top = self._depth == 1
        if char == b'"':
            self._in_string = True
            if top and not self._expect_value:
                self._key = bytearray()
                return
        elif char == b":" and top:
            self._expect_value = True
            if self._last_key in self.wanted:
                self._capture, self._capture_name = bytearray(), self._last_key.decode()
            return
        elif char == b"," and top:
            self._close_capture()
            self._expect_value = False
            return
        elif char in b"{[":
            self._depth += 1
        elif char in b"}]":
            self._depth -= 1
            if self._depth == 0:
                self._close_capture()
                return
        if self._capture is not None:
            self._keep(char)

    def _keep(self, piece: bytes) -> None:
        room = self.limit - len(self._capture)
        if len(piece) > room:
            self.dropped += len(piece) - max(room, 0)
            piece = piece[:max(room, 0)]
        self._capture += piece

    def _close_capture(self) -> None:
        if self._capture is not None and len(self._capture) < self.limit:
            self._found[self._capture_name] = self._capture
        self._capture = None

    def values(self) -> dict[str, Any]:
        """The wanted keys found, parsed (a value cut at the limit, or not JSON, is left out)."""
        out = {}
        for name, raw in self._found.items():
            try:
                out[name] = json.loads(raw)
            except ValueError:
                continue
        return out


class SSE:
    """Server-sent events fed in pieces; `feed` yields each complete event's data (lines joined), as text."""

    def __init__(self, limit: int = EVENT_LIMIT) -> None:
        self.limit = limit
        self.dropped = 0  # bytes of events over the limit, not kept
        self._pending = bytearray()
        self._skipping = False  # the current event went over the limit: its bytes are counted until it ends
        self._cr = False  # the last piece ended with \r: a \r\n may be cut between two pieces

    def feed(self, data: bytes) -> Iterator[str]:
        if self._cr:
            data, self._cr = b"\r" + data, False
        if data.endswith(b"\r"):
            data, self._cr = data[:-1], True
        self._pending += data.replace(b"\r\n", b"\n") if b"\r" in data else data
        while True:
            end = self._pending.find(b"\n\n")
            if end < 0:
                if len(self._pending) > self.limit:
                    self.dropped += len(self._pending)
                    self._pending.clear()
                    self._skipping = True
                return
            block = bytes(self._pending[:end])
            del self._pending[:end + 2]
            if self._skipping or len(block) > self.limit:
                self._skipping = False
                self.dropped += len(block) + 2
                continue
            data_lines = [line[5:].lstrip(b" ") for line in block.split(b"\n") if line.startswith(b"data:")]
            if data_lines:
                yield b"\n".join(data_lines).decode("utf-8", "replace")
