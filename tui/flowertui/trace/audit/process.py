"""Starting the audit proxy for a traced program, and turning its records into `audit_call` events.

As with the offline server (serve/process.py), flowertui binds the proxy's socket itself, so the
program can start at once (its first connections wait in the backlog), and hands it to the proxy
process, whose stdin is a lifeline pipe: flowertui holds the write end and passes it to each run's
relay, so the proxy keeps forwarding after a `kill -9` of flowertui until the program has ended.
Its stdout is a pipe to a reader thread here, which checks each record and emits it on the session's bus.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flowertui.engine.events import AuditCall, WireUsage
from flowertui.engine.sanitize import truncate
from flowertui.serve.process import let_go

OPENAI_DEFAULT = "https://api.openai.com/v1"
LOCALHOST = "127.0.0.1"
LINE_LIMIT = 64 * 1024  # a record line longer than this is not the proxy's: dropped, counted
PENDING_LIMIT = 10_000  # calls kept until the session's bus is attached; more are dropped, counted
_USAGE_KEYS = ("prompt", "completion", "total", "cached", "reasoning")


def upstream_of(env: Mapping[str, str]) -> str:
    """Where the program's OpenAI client would go: its OPENAI_BASE_URL, else the OpenAI default."""
    return (env.get("OPENAI_BASE_URL") or "").strip() or OPENAI_DEFAULT


def proxied_url(upstream: str, port: int) -> str:
    """The proxy's base URL for the program: the upstream's path on the proxy's port (`/v1` stays `/v1`)."""
    from urllib.parse import urlsplit

    path = urlsplit(upstream).path.rstrip("/")
    return f"http://{LOCALHOST}:{port}{path}"


class AuditProxy:
    """One proxy process in front of `upstream`; `start()` gives the base URL the program is pointed at."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.process: subprocess.Popen | None = None
        self.lifeline: int | None = None
        self.base_url = ""
        self.bus = None  # the session's bus, once known: records are emitted on it
        self.dropped = 0  # lines from the proxy that were no record, or calls past PENDING_LIMIT
        self._pending: list[dict] = []  # calls that ended before the bus was attached (the program starts first)
        self._open: set[int] = set()
        self._lock = threading.Condition()
        self._reader: threading.Thread | None = None

    def start(self) -> str:
        sock = socket.create_server((LOCALHOST, 0), backlog=128)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        read_end, self.lifeline = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flowertui.trace.audit.proxy", "--fd", str(sock.fileno()), "--upstream",
                 self.upstream, "--until-eof"],
                stdin=read_end, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, pass_fds=(sock.fileno(),),
                start_new_session=True)
        finally:
            os.close(read_end)
            self.base_url = proxied_url(self.upstream, sock.getsockname()[1])
            sock.close()
        self._reader = threading.Thread(target=self._read, name="flowertui-audit", daemon=True)
        self._reader.start()
        return self.base_url

    def child_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """The program's environment with its OpenAI client pointed at the proxy (everything else its own)."""
        return {**env, "OPENAI_BASE_URL": self.base_url}

    def keep(self) -> dict:
        return {"pass_fds": (self.lifeline,)} if self.lifeline is not None else {}

    def attach(self, bus) -> None:
        """Emit records on this session's bus from now on, and those that came before it (a headless program is
        started before flowertui builds its session, so its first calls may end first)."""
        with self._lock:
            self.bus, pending, self._pending = bus, self._pending, []
        for call in pending:
            self._emit(call)

    def _emit(self, call: dict) -> None:
        payload = audit_call(call, self.bus.redact)
        if payload is None:
            self.dropped += 1
            return
        self.bus.emit(payload, name="audit", scope="app",
                      at=(float(call.get("ended") or time.time()), float(call.get("ended_mono") or time.monotonic())))

    def wait_idle(self, timeout: float) -> bool:
        """Wait (bounded) until no call is open: a run's last calls are recorded before the run is closed."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._open:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def _read(self) -> None:
        stream = self.process.stdout
        for line in stream:
            if len(line) > LINE_LIMIT:
                self.dropped += 1
                continue
            try:
                record = json.loads(line)
            except ValueError:
                self.dropped += 1
                continue
            if not isinstance(record, dict):
                self.dropped += 1
                continue
            if type(record.get("open")) is int:
                with self._lock:
                    self._open.add(record["open"])
                continue
            call = record.get("call")
            if not isinstance(call, dict):
                self.dropped += 1
            else:
                with self._lock:
                    early = self.bus is None
                    if early and len(self._pending) < PENDING_LIMIT:
                        self._pending.append(call)
                    elif early:
                        self.dropped += 1
                if not early:
                    self._emit(call)
            with self._lock:
                if isinstance(call, dict):
                    self._open.discard(call.get("call"))
                self._lock.notify_all()
        with self._lock:
            self._open.clear()
            self._lock.notify_all()

    def stop(self) -> None:
        """Let go of the lifeline and stop the proxy now (flowertui is ending its program's run itself)."""
        let_go(self.process, self.lifeline)
        self.lifeline = None
        if self._reader is not None:
            self._reader.join(timeout=2)
        self.process = None


def merged_keep(*keeps: dict) -> dict:
    """Spawn arguments holding every lifeline given (the offline server's and the proxy's)."""
    fds = tuple(fd for keep in keeps for fd in keep.get("pass_fds", ()))
    return {"pass_fds": fds} if fds else {}


def audit_call(call: Any, redact=None) -> AuditCall | None:
    """A proxy record checked field by field (it crossed a pipe: trusted for shape, never for text)."""
    if not isinstance(call, dict):
        return None

    def text(value: Any, limit: int = 200) -> str | None:
        if not isinstance(value, str) or not value:
            return None
        value = truncate(value, limit)
        return redact(value) if redact is not None else value

    def number(value: Any) -> float | None:
        return float(value) if type(value) in (int, float) and value >= 0 else None

    def count(value: Any) -> int | None:
        return value if type(value) is int and value >= 0 else None

    usage = call.get("provider_usage")
    wire = None
    if isinstance(usage, dict) and all(count(usage.get(k)) is not None for k in _USAGE_KEYS):
        wire = WireUsage(**{k: usage[k] for k in _USAGE_KEYS})
    if count(call.get("call")) is None or count(call.get("status")) is None or number(call.get("latency_ms")) is None:
        return None
    return AuditCall(call=call["call"], method=text(call.get("method"), 16) or "?", endpoint=text(call.get("endpoint"), 300) or "?",
                     api=text(call.get("api"), 16) or "other", model_asked=text(call.get("model_asked")),
                     model_answered=text(call.get("model_answered")), status=call["status"],
                     latency_ms=call["latency_ms"], ttfb_ms=number(call.get("ttfb_ms")),
                     stream=call.get("stream") is True,
                     usage_requested=call["usage_requested"] if type(call.get("usage_requested")) is bool else None,
                     provider_usage=wire, started=number(call.get("started")) or 0.0,
                     request_bytes=count(call.get("request_bytes")) or 0,
                     response_bytes=count(call.get("response_bytes")) or 0,
                     unparsed_bytes=count(call.get("unparsed_bytes")) or None, error=text(call.get("error"), 120),
                     client_gone=True if call.get("client_gone") is True else None)


@contextmanager
def audited(env: Mapping[str, str] | None, keep: dict) -> Iterator[tuple[dict[str, str], dict, AuditProxy]]:
    """A proxy in front of the endpoint `env` (the program's environment, None: flowertui's) points at: the
    environment pointing the program at the proxy, the relay's keep with the proxy's lifeline added, the proxy."""
    base = dict(os.environ if env is None else env)
    proxy = AuditProxy(upstream_of(base))
    try:
        proxy.start()
        yield proxy.child_env(base), merged_keep(keep, proxy.keep()), proxy
    finally:
        proxy.stop()
