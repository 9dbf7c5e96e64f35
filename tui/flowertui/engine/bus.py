"""The event bus: numbers events, stamps times and hands them to sinks.

Recorders (one per way a handler is attached) and the runner emit here; sinks
(plain callables) consume. Emitting is thread-safe: LangChain calls handlers on
worker threads.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flowertui.engine.events import LLM_NEW_TOKEN, TURN_CLOSED, Event, Payload, payload_from
from flowertui.engine.sanitize import Redactor

Sink = Callable[[Event], None]


class EventBus:
    """Shared state of one session's event stream: sequence, turn, active memory kind."""

    def __init__(self, session_id: str | None = None, redactor: Redactor | None = None, *, seq: int = 0,
                 turn: int = 0) -> None:
        """`seq` and `turn` continue a resumed session's numbering."""
        self.session_id = session_id or uuid.uuid4().hex[:12]
        self.redact = redactor or Redactor()
        self._turn = turn
        self.memory_kind: str | None = None
        self._sinks: list[Sink] = []
        self._seq = seq
        self._lock = threading.Lock()
        self._run_starts: dict[str, float] = {}
        self._run_turns: dict[str, int] = {}
        self._token_events: dict[str | None, tuple] = {}  # a streaming run's last token event, for its held text

    @property
    def turn(self) -> int:
        """The latest turn begun (failed and cancelled ones included)."""
        return self._turn

    def begin_turn(self) -> int:
        """Number the next turn; events emitted from now on belong to it."""
        with self._lock:
            self._turn += 1
            return self._turn

    def subscribe(self, sink: Sink) -> None:
        self._sinks.append(sink)

    def emit(
        self,
        what: Payload | str,
        *,
        name: str,
        scope: str,
        kind: str | None = None,
        payload: dict[str, Any] | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
        memory_kind: str | None = None,
        maintenance: bool = False,
        at: tuple[float, float] | None = None,
        turn: int | None = None,
    ) -> Event:
        """Build the next event and deliver it to every sink, in sequence order.

        `what` is the payload; its type gives the kind unless `kind` names another its type allows (a traced
        run's end is a turn_end, turn_error or turn_cancelled). A kind with a JSON object as `payload` is read
        leniently, as a stored event is.
        `at` is (wall, monotonic) for an event that happened in another process (a traced program);
        `turn` places it in an earlier turn than the latest (programs watched at the same time).
        """
        if isinstance(what, str):
            kind, what = what, payload_from(what, payload)
        kind = kind or what.KIND
        if kind is None:
            raise ValueError(f"{type(what).__name__} is the payload of more than one kind: name the kind")
        with self._lock:
            if kind == LLM_NEW_TOKEN:  # the stream is redacted as one text: a split secret is held back
                shown = self.redact.stream(run_id, what.token or "")
                if shown != what.token:  # most tokens pass as they are: no new payload on the hot path
                    what = replace(what, token=shown)
                self._token_events[run_id] = (name, scope, parent_run_id, memory_kind, what)
            elif run_id is not None and kind.endswith(("_end", "_error")):
                self._release(run_id, at)
            elif kind in TURN_CLOSED:  # runs that never ended give back what they held
                for held in list(self._token_events):
                    self._release(held, at)
            event = self._build(kind, name, scope, what, run_id, parent_run_id, memory_kind, maintenance, at, turn)
        return event

    def _release(self, run_id: str | None, at: tuple[float, float] | None) -> None:
        """A run's stream is over: what its redactor held back becomes one last token event."""
        rest = self.redact.end_stream(run_id)
        last = self._token_events.pop(run_id, None)
        if rest and last:
            name, scope, parent_run_id, memory_kind, token = last
            self._build(LLM_NEW_TOKEN, name, scope, replace(token, token=rest), run_id, parent_run_id, memory_kind,
                        False, at, None)

    def _build(self, kind: str, name: str, scope: str, payload: Payload, run_id: str | None,
               parent_run_id: str | None, memory_kind: str | None, maintenance: bool,
               at: tuple[float, float] | None, turn: int | None) -> Event:
        now = time.monotonic() if at is None else at[1]
        duration = since = None
        turn = self._turn if turn is None else turn
        if run_id is not None:
            if kind.endswith("_start"):
                self._run_starts[run_id] = now
                self._run_turns[run_id] = turn
            else:  # a run abandoned by a cancel may end after the next turn began
                turn = self._run_turns.get(run_id, turn)
            if kind == LLM_NEW_TOKEN:
                since = _elapsed(self._run_starts.get(run_id), now)
            elif kind.endswith(("_end", "_error")):
                duration = _elapsed(self._run_starts.pop(run_id, None), now)
                self._run_turns.pop(run_id, None)
        self._seq += 1
        event = Event(
            seq=self._seq,
            wall=time.time() if at is None else at[0],
            mono=now,
            session_id=self.session_id,
            turn=turn,
            kind=kind,
            name=name,
            scope=scope,
            memory_kind=memory_kind or self.memory_kind,
            maintenance=maintenance,
            run_id=run_id,
            parent_run_id=parent_run_id,
            duration=duration,
            since_run_start=since,
            payload=payload,
        )
        for sink in self._sinks:
            sink(event)
        return event


def _elapsed(start: float | None, now: float) -> float | None:
    return None if start is None else round(now - start, 6)
