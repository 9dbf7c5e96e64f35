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
from flowertui.engine.events import _FAMILY_OF
from flowertui.engine.sanitize import Redactor, clean
from flowertui.engine.tokens import count_tokens
from flowertui.trace.priority import lower_this_thread

TEXT_LIMIT = 4000
NAMES_LIMIT = 10_000  # open runs whose names are remembered for their end events
SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET")
USAGE_HINT = ("the provider sent no usage, so these are tiktoken estimates. For ChatOpenAI with a custom base_url "
              "pass stream_usage=True (it sends no stream_options otherwise).")
Origin = tuple[str, int, str]  # the probe's (session id, pid, run) from its connection line
_KINDS = {kind for kind, family in _FAMILY_OF.items() if family != "app"} - {"turn_error", "handler_error"}


def program_redactor(env: Mapping[str, str]) -> Redactor:
    """Redacts the values of the program's *_API_KEY, *_TOKEN and *_SECRET variables (and key-shaped strings)."""
    return Redactor(value for name, value in env.items() if name.upper().endswith(SECRET_SUFFIXES))


class Translator:
    """Turns probe records into events on a bus. Thread-safe; one per session."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.langchain = False  # set by the probe's hello: the program imported LangChain
        self.loaded = False  # set by the probe's first record: the probe runs in the program
        self.model_calls = 0
        self.dropped = 0
        self._turn: int | None = None
        self._starts: dict[str, tuple[str | None, int]] = {}
        self._token_handlers: dict[str, list[dict[str, Any]]] = {}
        self._names: dict[str, str] = {}  # open runs' names: an end event carries none of its own
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, Any], turn: int | None = None) -> None:
        """`turn`: the run the record belongs to when it is not the session's latest (watched programs)."""
        with self._lock:
            self._turn = turn
            self.dropped += int(record.get("dropped") or 0)
            kind = record.get("t")
            at = (float(record.get("wall") or 0) or None, float(record.get("mono") or 0) or None)
            when = at if None not in at else None
            self.loaded = True
            if kind == "event" and record.get("kind") in _KINDS:
                self.model_calls += record.get("kind") in ("chat_model_start", "llm_start")
                self._event(record, when)
            elif kind == "handler_error":
                self._handler_error(record, when)
            elif kind == "hello":
                self.langchain = True
                self.bus.emit("probe_hello", name="probe", scope="context", turn=self._turn, payload={
                    "pid": record.get("pid"), "python": self._text(record.get("python"), 50),
                    "langchain_core": self._text(record.get("langchain_core"), 50),
                    "argv": [self._text(a, 500) for a in (record.get("argv") or [])][:50]})

    def _text(self, value: Any, limit: int = TEXT_LIMIT) -> str:
        return clean("" if value is None else str(value), self.bus.redact, limit)

    def _clean(self, value: Any, limit: int = TEXT_LIMIT) -> Any:
        if isinstance(value, str):
            return self._text(value, limit)
        if isinstance(value, dict):
            return {self._text(k, 200): self._clean(v, limit) for k, v in value.items()}
        if isinstance(value, list):
            return [self._clean(v, limit) for v in value]
        return value if value is None or isinstance(value, (bool, int, float)) else self._text(value, limit)

    def _event(self, record: dict[str, Any], at: tuple[float, float] | None) -> None:
        kind = record["kind"]
        run_id = record.get("run_id")
        if kind == "llm_new_token" and "handlers" not in record:  # the hot path: one per streamed token
            token = (record.get("payload") or {}).get("token")
            # the probe sends a run's token receivers once; every token event still lists them
            payload = {"token": self._text(token, 0), "handlers": self._token_handlers.get(run_id or "", [])}
            self.bus.emit(kind, name="token", scope="context", payload=payload, run_id=run_id,
                          parent_run_id=record.get("parent_run_id"), at=at, turn=self._turn)
            return
        payload = self._clean(record.get("payload") or {}, 0 if kind == "llm_new_token" else TEXT_LIMIT)
        payload["handlers"] = [{"name": self._text(name, 200), "scope": str(scope), "acts": bool(acts)}
                               for name, scope, acts in record.get("handlers") or ()]
        if kind == "llm_new_token" and run_id:
            self._token_handlers[run_id] = payload["handlers"]
        if kind in ("chat_model_start", "llm_start"):
            texts = [m.get("content", "") for m in payload.get("messages", ())] or payload.get("prompts", [])
            estimate = count_tokens("\n".join(texts), payload.get("model"))
            payload["prompt_tokens_estimate"] = estimate
            if run_id:
                self._starts[run_id] = (payload.get("model"), estimate)
        elif kind in ("llm_end", "llm_error"):
            model, estimate = self._starts.pop(run_id or "", (None, None))
            self._token_handlers.pop(run_id or "", None)
            if kind == "llm_end":
                payload["model"] = payload.get("model") or model
                payload["prompt_tokens_estimate"] = estimate
                payload["completion_tokens_estimate"] = count_tokens(payload.get("text", ""), payload["model"])
                if not payload.get("usage"):
                    payload["usage"] = None
                    payload["usage_missing"] = USAGE_HINT
                payload["text"] = self._text(payload.get("text", ""))
        name = self._text(record.get("name") or kind, 200)
        if run_id and kind.endswith("_start") and len(self._names) < NAMES_LIMIT:
            self._names[run_id] = name
        elif run_id and kind.endswith(("_end", "_error")):
            name = self._names.pop(run_id, name)
        self.bus.emit(kind, name=name, scope="context", payload=payload,
                      run_id=run_id, parent_run_id=record.get("parent_run_id"), at=at, turn=self._turn)

    def _handler_error(self, record: dict[str, Any], at: tuple[float, float] | None) -> None:
        handler = self._text(record.get("handler"), 200) if record.get("handler") else None
        self.bus.emit("handler_error", name=handler or "handler", scope="context", at=at, turn=self._turn, payload={
            "handler": handler, "callback": self._text(record.get("callback"), 100),
            "error": self._text(record.get("error")), "of_run": record.get("run_id")})


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
