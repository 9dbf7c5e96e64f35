"""A session's data: its header, its events, and the turns derived from them.

Store, export, replay, headless runs and the app all read sessions through this
module, so a turn's status or a header field is worked out in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowertui.engine.events import (SCHEMA_VERSION, SESSION_START, TURN_START, ChatHeader, ChatSessionStart, Event,
                                     RunEnd, RunStart, SessionKind, SessionStart, TraceHeader, TraceSessionStart,
                                     TurnStart, session_kind)
from flowertui.engine.ledger import turn_status  # the ledger settles its rows by the same rule

def session_start(events: list[Event]) -> SessionStart | None:
    """The payload of the session's first session_start event (None if it has none)."""
    start = next((e for e in events if e.kind == SESSION_START), None)
    return start.payload if start and isinstance(start.payload, SessionStart) else None


def session_header(events: list[Event]) -> dict[str, Any]:
    """What an export's header line says about a session, read from its first session_start event."""
    start = session_start(events)
    session_id = events[0].session_id if events else None
    if isinstance(start, TraceSessionStart):
        return TraceHeader(schema=SCHEMA_VERSION, flowertui=start.flowertui, session_kind=start.session_kind,
                           trace_variant=start.trace_variant, command=start.command, session_id=session_id).to_dict()
    chat = start if isinstance(start, ChatSessionStart) else None
    return ChatHeader(schema=SCHEMA_VERSION, flowertui=start.flowertui if start else None, session_kind="chat",
                      provider=chat.provider if chat else None, model=chat.model if chat else None,
                      memory_kind=chat.memory_kind if chat else None,
                      memory_settings=(chat.memory_settings if chat else None) or {}, session_id=session_id).to_dict()


@dataclass
class Turn:
    number: int
    user: str = ""
    reply: str = ""
    status: str = "running"
    error: str | None = None
    memory_kind: str | None = None
    events: list[Event] = field(default_factory=list)


@dataclass
class SessionData:
    """A session as its readers see it: the header and the event stream, everything else derived."""

    header: dict[str, Any]
    events: list[Event]

    @property
    def kind(self) -> SessionKind:
        return session_kind(self.header.get("session_kind"), self.header.get("provider"))

    @classmethod
    def of(cls, events: list[Event]) -> SessionData:
        """A session from its events alone, the header read from them."""
        return cls(session_header(events), list(events))

    def turns(self) -> list[Turn]:
        turns: dict[int, Turn] = {}
        for event in self.events:
            if event.turn == 0:
                continue
            turn = turns.setdefault(event.turn, Turn(event.turn))
            turn.events.append(event)
            p = event.payload
            if event.kind == TURN_START:  # a traced run's "user" line is its command, its "reply" how it ended
                turn.user = p.command if isinstance(p, RunStart) else p.user if isinstance(p, TurnStart) else ""
                turn.memory_kind = event.memory_kind
            elif status := turn_status(event.kind):
                turn.status, turn.error = status, getattr(p, "error", None)
                turn.reply = p.exit_state if isinstance(p, RunEnd) else getattr(p, "reply", turn.reply)
        return [turns[n] for n in sorted(turns)]
