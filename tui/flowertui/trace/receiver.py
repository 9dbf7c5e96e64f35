"""The viewer's end of the probe's channel: socket → decode → redact → Event on the session's bus.

Everything costly happens here, in flowertui's process, never in the traced
program: escapes stripped, secrets redacted, tiktoken estimates for every model
call (so a call without reported usage is never 0).
"""

from __future__ import annotations

import collections
import errno
import hmac
import json
import secrets
import selectors
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from flowertui.engine.bus import EventBus
from flowertui.engine.events import (CALLBACK_KINDS, CHAT_MODEL_START, HANDLER_ERROR, LLM_END, LLM_ERROR, LLM_NEW_TOKEN,
                                     LLM_START, Embeddings, HandlerError, ProbeHello, Receiver)
from flowertui.engine.normalise import NAME_LIMIT, TEXT_LIMIT, Normaliser
from flowertui.engine.sanitize import Redactor, env_secrets, redact_argv, strip_escapes, truncate
from flowertui.trace.priority import lower_this_thread

USAGE_HINT = ("the provider sent no usage, so these are tiktoken estimates. For ChatOpenAI with a custom base_url "
              "pass stream_usage=True (it sends no stream_options otherwise).")
Origin = tuple[str, int, str]  # the probe's (session id, pid, run) from its connection line


def program_redactor(env: Mapping[str, str]) -> Redactor:
    """Redacts the values of the program's secret-named variables (sanitize.secret_name) and key-shaped strings."""
    return Redactor(env_secrets(env))


class Translator:
    """Turns probe records into events on a bus. Thread-safe; one per session."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.langchain = False  # set by the probe's hello: the program imported LangChain
        self.loaded = False  # set by the probe's first record: the probe runs in the program
        self.model_calls = 0
        self.dropped = 0
        self.greeted: set[int] = set()  # processes whose probe said hello (they use LangChain)
        self.goodbyes: set[int] = set()  # of those, the ones that said bye: they exited running their exit handlers
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
            self.loaded = self.loaded or kind != "embedding"  # a server's notice says nothing of the probe
            if kind == "event" and record.get("kind") in CALLBACK_KINDS:
                self.model_calls += record.get("kind") in (CHAT_MODEL_START, LLM_START)
                self._event(record, when)
            elif kind == "bye":
                if type(record.get("pid")) is int:
                    self.goodbyes.add(record["pid"])
            elif kind == HANDLER_ERROR:
                self._handler_error(record, when)
            elif kind == "embedding":  # from the offline server (serve/notices.py), not the probe
                self.model_calls += 1
                self.bus.emit(Embeddings(model=self._text(record.get("model"), NAME_LIMIT) or "unknown model",
                                         inputs=record["inputs"], prompt_tokens=record["prompt_tokens"],
                                         dimensions=record["dimensions"]),
                              name=self._text(record.get("model"), NAME_LIMIT) or "embeddings", scope="app",
                              at=when, turn=self._turn)
            elif kind == "hello":
                self.langchain = True
                if type(record.get("pid")) is int:
                    self.greeted.add(record["pid"])
                protocol = record.get("protocol")
                argv = [truncate(a, 500) for a in redact_argv(
                    (strip_escapes(str(a)) for a in (record.get("argv") or [])[:50]), self.bus.redact)]
                self.bus.emit(ProbeHello(
                    pid=record.get("pid"), python=self._text(record.get("python"), 50),
                    langchain_core=self._text(record.get("langchain_core"), 50), argv=argv,
                    protocol=protocol if isinstance(protocol, int) else None,
                    hooked=record["hooked"] if type(record.get("hooked")) is bool else None),
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
        self.bus.emit(payload, name=self.normalise.run_name(kind, run_id, record.get("name") or kind), scope="context",
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

    Hostile or broken peers cost it little: one thread waits for every connection's hello
    line (HELLO_SECONDS at most, UNAUTHENTICATED_LIMIT at a time, the oldest let go first);
    running out of descriptors makes it back off and retry, never stop accepting; a line
    longer than RECORD_LIMIT is skipped, never kept whole; a malformed record is dropped and
    counted with its reason, and the connection goes on.
    """

    HELLO_SECONDS = 2.0
    UNAUTHENTICATED_LIMIT = 64
    RECORD_LIMIT = 8 << 20  # bytes in one line (one batch of records)
    BACKOFF = (0.01, 0.5)  # seconds between accept retries when out of descriptors: first, most

    def __init__(self, handle: Callable[[dict[str, Any], Origin], None],
                 commit: Callable[[], None] = lambda: None, token: str | None = None,
                 closed: Callable[[Origin], None] = lambda origin: None, sock: socket.socket | None = None) -> None:
        """`sock`: a listening socket bound before (probes may be waiting in its backlog), with its `token`."""
        self.token = token or secrets.token_hex(16)
        self.handle = handle
        self.commit = commit
        self.closed = closed
        self.refused = 0  # connections let go before a valid hello (wrong token, silent, junk, over the limit)
        self.dropped: collections.Counter[str] = collections.Counter()  # reason → records dropped
        self._server = sock if sock is not None else socket.create_server(("127.0.0.1", 0), backlog=128)
        self._server.setblocking(False)
        self._open = 0
        self._pause = self.BACKOFF[0]
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

    # ------------------------------------------------------------------ accepting and hello

    def _accept(self) -> None:
        lower_this_thread()  # and so every connection thread it starts: decoding yields to the program
        waiting: dict[socket.socket, tuple[float, bytearray]] = {}  # connections before their hello
        with selectors.DefaultSelector() as selector:
            try:
                selector.register(self._server, selectors.EVENT_READ)
            except (OSError, ValueError):
                return
            while not self._closed:
                now = time.monotonic()
                deadline = min((d for d, _ in waiting.values()), default=now + 0.5)
                try:
                    ready = selector.select(max(0.0, min(deadline - now, 0.5)))
                except (OSError, ValueError):
                    ready = []
                    time.sleep(self.BACKOFF[0])
                for key, _ in ready:
                    if key.fileobj is self._server:
                        self._take(selector, waiting)
                    else:
                        self._hello(selector, waiting, key.fileobj)
                now = time.monotonic()
                for conn in [c for c, (d, _) in waiting.items() if d <= now]:
                    self._refuse(selector, waiting, conn)
            for conn in list(waiting):
                self._refuse(selector, waiting, conn)

    def _take(self, selector: selectors.BaseSelector, waiting: dict) -> None:
        """Accept what the backlog holds; out of descriptors, let the oldest unauthenticated go and back off."""
        for _ in range(256):
            try:
                conn, _ = self._server.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if self._closed:
                    return
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    for old in list(waiting)[:8]:
                        self._refuse(selector, waiting, old)
                time.sleep(self._pause)  # the next accept may find a descriptor free
                self._pause = min(self._pause * 2, self.BACKOFF[1])
                return
            self._pause = self.BACKOFF[0]
            if len(waiting) >= self.UNAUTHENTICATED_LIMIT:
                self._refuse(selector, waiting, next(iter(waiting)))
            try:
                conn.setblocking(False)
                selector.register(conn, selectors.EVENT_READ)
            except (OSError, ValueError):
                conn.close()
                self.refused += 1
                continue
            waiting[conn] = (time.monotonic() + self.HELLO_SECONDS, bytearray())
            # a probe that connected while the listener was not yet accepting (the program starts first) has sent
            # its hello already: it is served at once, not let go with idle connections queued behind it
            self._hello(selector, waiting, conn)

    def _refuse(self, selector: selectors.BaseSelector, waiting: dict, conn: socket.socket) -> None:
        waiting.pop(conn, None)
        try:
            selector.unregister(conn)
        except (KeyError, ValueError, OSError):
            pass
        conn.close()
        self.refused += 1

    def _hello(self, selector: selectors.BaseSelector, waiting: dict, conn: socket.socket) -> None:
        """`flowertui-probe TOKEN SESSION PID RUN\n`: a valid one hands the connection to its own thread."""
        try:
            data = conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._refuse(selector, waiting, conn)
            return
        buffer = waiting[conn][1]
        buffer += data
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > 1024:
                self._refuse(selector, waiting, conn)
            return
        hello = bytes(buffer[:end]).decode("utf-8", "replace").split()
        if len(hello) < 5 or hello[0] != "flowertui-probe" or not hmac.compare_digest(
                hello[1].encode(), self.token.encode()):
            self._refuse(selector, waiting, conn)
            return
        waiting.pop(conn)
        selector.unregister(conn)
        origin = (hello[2], int(hello[3]) if hello[3].isdigit() else 0, hello[4])
        with self._quiet:
            self._open += 1
        try:
            threading.Thread(target=self._serve, args=(conn, origin, bytes(buffer[end + 1:])),
                             name="flowertui-trace-conn", daemon=True).start()
        except RuntimeError:  # no thread to be had: the probe spools what it cannot send
            conn.close()
            self._gone()

    def _gone(self) -> None:
        with self._quiet:
            self._open -= 1
            self._quiet.notify_all()

    # ------------------------------------------------------------------ one probe's records

    def _serve(self, conn: socket.socket, origin: Origin, data: bytes) -> None:
        try:
            with conn:
                conn.setblocking(True)
                try:
                    self._read(conn, origin, data)
                finally:
                    self.closed(origin)
        except OSError:
            pass
        finally:
            self._gone()

    def _read(self, conn: socket.socket, origin: Origin, data: bytes) -> None:
        """Lines in, linear in their length: a line's pieces are joined once, when its newline arrives."""
        pieces: list[bytes] = []
        size = 0
        skipping = False  # inside a line over RECORD_LIMIT: everything up to its newline goes
        while True:
            lines = []
            start = 0
            while (end := data.find(b"\n", start)) >= 0:
                if skipping:
                    skipping = False
                elif size + end - start > self.RECORD_LIMIT:
                    self._drop(f"a line over {self.RECORD_LIMIT >> 20} MB", origin)
                else:
                    lines.append(b"".join([*pieces, data[start:end]]) if pieces else data[start:end])
                pieces, size, start = [], 0, end + 1
            rest = data[start:]
            if rest and not skipping:
                if size + len(rest) > self.RECORD_LIMIT:
                    self._drop(f"a line over {self.RECORD_LIMIT >> 20} MB", origin)
                    pieces, size, skipping = [], 0, True
                else:
                    pieces.append(rest)
                    size += len(rest)
            last = 0
            for line in lines:
                number, records, problems = read_batch(line)
                last = max(last, number)
                for reason in problems:
                    self._drop(reason, origin)
                for record in records:
                    try:
                        self.handle(record, origin)
                    except Exception as exc:  # a record that passed the checks and still broke: drop, go on
                        self._drop(f"could not be read ({type(exc).__name__})", origin)
            if last:
                self.commit()
                conn.sendall(f"ack {last}\n".encode())
            data = conn.recv(1 << 16)
            if not data:
                return

    def _drop(self, reason: str, origin: Origin) -> None:
        """Count a record that cannot be used; the session's `dropped` figure includes it."""
        self.dropped[reason] += 1
        try:
            self.handle({"t": "dropped", "dropped": 1, "reason": reason}, origin)
        except Exception:
            pass


_TIME = (int, float)
_NS_LIMIT = 1 << 63  # a monotonic clock in nanoseconds (time.monotonic_ns) stays under it


def record_problem(record: Any) -> str | None:
    """Why a probe record cannot be used (None: it can): its shape is checked before it is translated."""
    if not isinstance(record, dict):
        return "a record that is not an object"
    kind = record.get("t")
    if kind not in ("event", "hello", "loaded", "handler_error", "bye", "embedding"):
        return "a record of unknown type"
    if kind == "embedding" and not (isinstance(record.get("model"), str) and all(
            type(record.get(key)) is int and 0 <= record[key] < 1 << 40 for key in ("inputs", "prompt_tokens", "dimensions"))):
        return "an embedding notice without its model and counts"
    for key in ("wall", "mono"):
        value = record.get(key)
        if value is not None and (type(value) not in _TIME or value != value or abs(value) == float("inf")):
            return f"a record with a bad {key} time"
    if record.get("dropped") is not None and type(record["dropped"]) is not int:
        return "a record with a bad dropped count"
    for key in ("run_id", "parent_run_id"):
        if record.get(key) is not None and not isinstance(record[key], str):
            return f"a record with a bad {key}"
    if kind == "event":
        if not isinstance(record.get("kind"), str) or not isinstance(record.get("name", ""), (str, type(None))):
            return "an event without a kind"
        if not isinstance(record.get("payload") or {}, dict):
            return "an event whose payload is not an object"
        handlers = record.get("handlers")
        if handlers is not None and not (isinstance(handlers, list) and all(
                isinstance(h, list) and len(h) == 3 and isinstance(h[0], str) and isinstance(h[1], str)
                for h in handlers)):
            return "an event with malformed handlers"
    elif kind in ("hello", "loaded"):
        argv = record.get("argv")
        if argv is not None and not isinstance(argv, list):
            return f"a {kind} with a bad argv"
    return None


def _tokens_problem(record: dict[str, Any]) -> str | None:
    clock, monos, tokens = record.get("clock"), record.get("mono_ns"), record.get("tokens")
    if not (isinstance(record.get("run_id"), str) and type(clock) is list and len(clock) == 2
            and type(clock[0]) in _TIME and clock[0] == clock[0] and abs(clock[0]) != float("inf")
            and type(clock[1]) is int and 0 <= clock[1] < _NS_LIMIT and type(monos) is list and type(tokens) is list
            and len(monos) == len(tokens) and all(type(m) is int and 0 <= m < _NS_LIMIT for m in monos)
            and all(type(t) is str for t in tokens)):
        return "a tokens record without its run, clock, times and texts"
    return None


def token_events(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A `tokens` record (protocol 3: a run's consecutive streamed tokens) as the `llm_new_token` event records a
    version 2 probe sent one by one; each token's wall time from the record's pair of clocks."""
    run_id = record["run_id"]
    wall, now = record["clock"]
    return [{"t": "event", "kind": "llm_new_token", "run_id": run_id, "wall": wall - (now - mono) / 1e9,
             "mono": mono / 1e9, "name": "token", "payload": {"token": token}}
            for mono, token in zip(record["mono_ns"], record["tokens"])]


def read_batch(line: bytes | str) -> tuple[int, list[dict[str, Any]], list[str]]:
    """One line from a probe, a batch `{"n", "dropped", "records"}`: its number, its usable records, and a
    reason for each record (or the whole line) that could not be used.

    The probe's count of events it had to drop is passed on as a `dropped` field of the first record.
    """
    try:
        batch = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return 0, [], ["a line that is not JSON"]
    if not isinstance(batch, dict) or not isinstance(batch.get("records"), list):
        return 0, [], ["a line that is not a batch of records"]
    number = batch.get("n")
    number = number if type(number) is int and number > 0 else 0
    records, problems = [], []
    for record in batch["records"]:
        if type(record) is dict and record.get("t") == "tokens":
            problem = _tokens_problem(record)
            if problem:
                problems.append(problem)
            else:
                records.extend(token_events(record))
            continue
        problem = record_problem(record)
        if problem:
            problems.append(problem)
        else:
            records.append(record)
    dropped = batch.get("dropped")
    if type(dropped) is int and dropped > 0:
        if records:
            records[0]["dropped"] = dropped
        else:
            records.append({"t": "dropped", "dropped": dropped, "reason": "dropped by the probe"})
    return number, records, problems
