"""Finding a recorded session (database or JSONL file) and playing its events back in time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flowertui.engine.events import Event
from flowertui.engine.ledger import Ledger
from flowertui.engine.resume import Resume, memory_states
from flowertui.session.export import read_jsonl
from flowertui.session.model import SessionData
from flowertui.session.store import SessionStore

MAX_GAP = 2.0  # seconds: a longer pause in the recording (idle time, a session resumed later) replays as this


@dataclass(frozen=True)
class Replay:
    """How a recording is played back: `time_scale` 1 keeps its pace, 2 doubles it, 0 is instant;
    any pause longer than `max_gap` seconds of recording is shortened to `max_gap`."""

    time_scale: float = 1.0
    max_gap: float = MAX_GAP

    def describe(self) -> str:
        if self.time_scale == 0:
            return "instant"
        cap = "" if self.max_gap == float("inf") else f", pauses cut to {self.max_gap:g} s"
        return f"{self.time_scale:g}× speed{cap}"

    def wait(self, previous: Event, event: Event) -> float:
        """Seconds to wait before handing on `event`."""
        if self.time_scale == 0:
            return 0.0
        return min(max(0.0, event.mono - previous.mono), self.max_gap) / self.time_scale


def load_session(ref: str, database: Path) -> SessionData:
    """`latest`, a session id (or unique prefix) from the database, or a JSONL export's path."""
    path = Path(ref)
    if ref.endswith(".jsonl") or path.is_file():
        return read_jsonl(path)
    store = SessionStore(database)
    try:
        events = store.events(store.resolve(ref))
    finally:
        store.close()
    return SessionData.of(events)


def resume_point(data: SessionData, ledger: Ledger) -> Resume:
    """Completed turns become the transcript; numbering continues after the last event; the memory is
    the one `ledger` (the session's, fed these events) followed last; summarising memories start from
    their last recorded state."""
    done = tuple((t.user, t.reply) for t in data.turns() if t.status == "done")
    last = data.events[-1] if data.events else None
    mode = ledger.mode
    return Resume(done, last.seq if last else 0, max((e.turn for e in data.events), default=0), mode.kind, mode.compare,
                  memory_states(data.events))


def play(events: list[Event], sink: Callable[[Event], None], replay: Replay, stop: threading.Event) -> None:
    """Hand each event to the sink with its recorded spacing, as `replay` scales and caps it."""
    previous = None
    for event in events:
        pause = replay.wait(previous, event) if previous is not None else 0.0
        if stop.wait(pause) if pause else stop.is_set():
            return
        sink(event)
        previous = event
