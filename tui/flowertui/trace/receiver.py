"""The viewer's end of the probe's channel: socket → decode → redact → Event on the session's bus.

Everything costly happens here, in flowertui's process, never in the traced
program: escapes stripped, secrets redacted, tiktoken estimates for every model
call (so a call without reported usage is never 0).
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from flowertui.engine.bus import EventBus
from flowertui.engine.events import (CALLBACK_KINDS, HANDLER_ERROR, LLM_END, LLM_ERROR, LLM_NEW_TOKEN, HandlerError,
                                     ProbeHello, Receiver)
from flowertui.engine.normalise import NAME_LIMIT, TEXT_LIMIT, Normaliser
from flowertui.engine.sanitize import Redactor
from flowertui.trace.priority import lower_this_thread

SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET")
USAGE_HINT = ("the provider sent no usage, so these are tiktoken estimates. For ChatOpenAI with a custom base_url "
              "pass stream_usage=True (it sends no stream_options otherwise).")
Origin = tuple[str, int, str]  # the probe's (session id, pid, run) from its connection line


def program_redactor(env: Mapping[str, str]) -> Redactor:
    """Redacts the values of the program's *_API_KEY, *_TOKEN and *_SECRET variables (and key-shaped strings)."""
    return Redactor(value for name, value in env.items() if name.upper().endswith(SECRET_SUFFIXES))


class Translator:
    """Turns probe records into events on a bus. Thread-safe; one per session."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.langchain = False  # set by the probe's hello: the program imported LangChain
        self.dropped = 0
        self._turn: int | None = None
        # the probe bounded chain values already (to VALUE_LIMIT, with a note of what it cut)
        self.normalise = Normaliser(bus.redact, value_limit=TEXT_LIMIT, usage_hint=USAGE_HINT)
        self._token_handlers: dict[str, list[Receiver]] = {}
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, Any], turn: int | None = None) -> None:
        """`turn`: the run the record belongs to when it is not the session's latest (watched programs)."""
        with self._lock:
            self._turn = turn
            self.dropped += int(record.get("dropped") or 0)
            kind = record.get("t")
            at = (float(record.get("wall") or 0) or None, float(record.get("mono") or 0) or None)
            when = at if None not in at else None
            if kind == "event" and record.get("kind") in CALLBACK_KINDS:
                self._event(record, when)
            elif kind == HANDLER_ERROR:
                self._handler_error(record, when)
            elif kind == "hello":
                self.langchain = True
                protocol = record.get("protocol")
                self.bus.emit(ProbeHello(
                    pid=record.get("pid"), python=self._text(record.get("python"), 50),
                    langchain_core=self._text(record.get("langchain_core"), 50),
                    argv=[self._text(a, 500) for a in (record.get("argv") or [])][:50],
                    protocol=protocol if isinstance(protocol, int) else None),
                    name="probe", scope="context", turn=self._turn)

    def _text(self, value: Any, limit: int = TEXT_LIMIT) -> str:
        return self.normalise.text(value, limit)

    def _event(self, record: dict[str, Any], at: tuple[float, float] | None) -> None:
        kind = record["kind"]
        run_id = record.get("run_id")
        fields = record.get("payload")
        fields = fields if isinstance(fields, dict) else {}
        if kind == LLM_NEW_TOKEN and "handlers" not in record:  # the hot path: one per streamed token
            # the probe sends a run's token receivers once; every token event still lists them
            payload = self.normalise.token(fields.get("token"), self._token_handlers.get(run_id or "", []))
            self.bus.emit(payload, name="token", scope="context", run_id=run_id,
                          parent_run_id=record.get("parent_run_id"), at=at, turn=self._turn)
            return
        handlers = [Receiver(name=self._text(name, NAME_LIMIT), scope=str(scope), acts=bool(acts))
                    for name, scope, acts in record.get("handlers") or ()]
        if kind == LLM_NEW_TOKEN:
            if run_id:
                self._token_handlers[run_id] = handlers
            payload = self.normalise.token(fields.get("token"), handlers)
        else:
            if kind in (LLM_END, LLM_ERROR):
                self._token_handlers.pop(run_id or "", None)
            payload = self.normalise(kind, fields, run_id, handlers)
        self.bus.emit(payload, name=self._text(record.get("name") or kind, NAME_LIMIT), scope="context",
                      run_id=run_id, parent_run_id=record.get("parent_run_id"), at=at, turn=self._turn)

    def _handler_error(self, record: dict[str, Any], at: tuple[float, float] | None) -> None:
        handler = self._text(record.get("handler"), NAME_LIMIT) if record.get("handler") else None
        self.bus.emit(HandlerError(handler=handler, callback=self._text(record.get("callback"), 100),
                                   error=self._text(record.get("error")), of_run=record.get("run_id")),
                      name=handler or "handler", scope="context", at=at, turn=self._turn)


class Listener:
    """127.0.0.1 TCP server for probes: checks each connection's token, decodes lines, acknowledges them.

    `commit` runs before each acknowledgement (the session writer's flush), so what a
    probe sees acknowledged is on disk, and what it does not is spooled if the viewer dies.
    """

    def __init__(self, handle: Callable[[dict[str, Any], Origin], None],
                 commit: Callable[[], None] = lambda: None, token: str | None = None,
                 closed: Callable[[Origin], None] = lambda origin: None) -> None:
        self.token = token or secrets.token_hex(16)
        self.handle = handle
        self.commit = commit
        self.closed = closed
        self._server = socket.create_server(("127.0.0.1", 0))
        self._open = 0
        self._quiet = threading.Condition()
        self._closed = False
        threading.Thread(target=self._accept, name="flowertui-trace-accept", daemon=True).start()

    @property
    def addr(self) -> str:
        host, port = self._server.getsockname()[:2]
        return f"{host}:{port}"

    def wait_quiet(self, timeout: float) -> bool:
        """Wait until every probe connection has closed (the program's probes flushed at exit)."""
        with self._quiet:
            return self._quiet.wait_for(lambda: self._open == 0, timeout)

    def close(self) -> None:
        self._closed = True
        try:
            self._server.close()
        except OSError:
            pass

    def _accept(self) -> None:
        lower_this_thread()  # and so every connection thread it starts: decoding yields to the program
        while not self._closed:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with self._quiet:
                self._open += 1
            threading.Thread(target=self._serve, args=(conn,), name="flowertui-trace-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(None)
                reader = conn.makefile("rb")
                hello = reader.readline(1024).decode("utf-8", "replace").split()
                if len(hello) < 5 or hello[0] != "flowertui-probe" or not hmac.compare_digest(hello[1], self.token):
                    return
                origin = (hello[2], int(hello[3]) if hello[3].isdigit() else 0, hello[4])
                try:
                    self._read(reader, conn, origin)
                finally:
                    self.closed(origin)
        except OSError:
            pass
        finally:
            with self._quiet:
                self._open -= 1
                self._quiet.notify_all()

    def _read(self, reader, conn: socket.socket, origin: Origin) -> None:
        pending = b""
        while True:
            data = reader.read1(1 << 16)
            if not data:
                return
            *lines, pending = (pending + data).split(b"\n")
            last = 0
            for line in lines:
                number, records = decode_line(line)
                last = max(last, number)
                for record in records:
                    self.handle(record, origin)
            if last:
                self.commit()
                conn.sendall(f"ack {last}\n".encode())


def decode_line(line: bytes | str) -> tuple[int, list[dict[str, Any]]]:
    """One line from a probe: a batch `{"n", "dropped", "records"}`; its number and records (junk gives none).

    The probe's count of events it had to drop is passed on as a `dropped` field of the first record.
    """
    try:
        batch = json.loads(line)
        records = [r for r in batch["records"] if isinstance(r, dict)]
        number = int(batch.get("n") or 0)
    except (ValueError, TypeError, KeyError, AttributeError):
        return 0, []
    if records and batch.get("dropped"):
        records[0]["dropped"] = int(batch["dropped"])
    return number, records
