"""Finding a recorded session (database or JSONL file) and playing its events back in time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from flowertui.engine.events import Event, MemoryMode
from flowertui.engine.resume import Resume
from flowertui.session.export import SessionData, read_jsonl
from flowertui.session.store import SessionStore, session_header


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
    return SessionData(session_header(events), events)


def resume_point(data: SessionData) -> Resume:
    """Completed turns become the transcript; numbering continues after the last event."""
    done = tuple((t.user, t.reply) for t in data.turns() if t.status == "done")
    last = data.events[-1] if data.events else None
    mode = MemoryMode()
    for event in data.events:
        mode.follow(event)
    return Resume(done, last.seq if last else 0, max((e.turn for e in data.events), default=0), mode.kind, mode.compare)


def play(events: list[Event], sink: Callable[[Event], None], speed: float, stop: threading.Event) -> None:
    """Hand each event to the sink with its original spacing divided by speed (0 = all at once)."""
    previous = None
    for event in events:
        if speed > 0 and previous is not None:
            if stop.wait(max(0.0, event.mono - previous.mono) / speed):
                return
        elif stop.is_set():
            return
        sink(event)
        previous = event
