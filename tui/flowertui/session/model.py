"""A session's data: its header, its events, and the turns derived from them.

Store, export, replay, headless runs and the app all read sessions through this
module, so a turn's status or a header field is worked out in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowertui.engine.events import Event
from flowertui.engine.ledger import turn_status  # the ledger settles its rows by the same rule
from flowertui.engine.session_kinds import SessionKind, TraceVariant

_OLD_TRACE_PROVIDER = "trace"  # how sessions recorded before kinds were written marked a traced program
_OLD_VARIANTS = {"trace": TraceVariant.RUN, "listen": TraceVariant.LISTEN, "watch": TraceVariant.WATCH}  # their `mode`


def session_start(events: list[Event]) -> dict[str, Any]:
    """The payload of the session's first session_start event (empty if it has none)."""
    start = next((e for e in events if e.kind == "session_start"), None)
    return start.payload if start else {}


def session_kind(recorded: str | None, provider: str | None) -> SessionKind:
    """A session's kind as recorded in its session_start (or the store, or an export's header).

    Sessions recorded before the kind was written are told apart here, and only here, by their provider.
    """
    if recorded:
        return SessionKind(recorded)
    return SessionKind.TRACE if provider == _OLD_TRACE_PROVIDER else SessionKind.CHAT


def trace_variant(start: dict[str, Any]) -> TraceVariant | None:
    """A traced session's variant, from its session_start payload (None for a chat session)."""
    if found := start.get("trace_variant"):
        return TraceVariant(found)
    return _OLD_VARIANTS.get(start.get("mode") or "")


def session_header(events: list[Event]) -> dict[str, Any]:
    """What an export's header says about a session, read from its first session_start event."""
    payload = session_start(events)
    return {
        "session_kind": session_kind(payload.get("session_kind"), payload.get("provider")).value,
        "flowertui": payload.get("flowertui"),
        "provider": payload.get("provider"),
        "model": payload.get("model"),
        "memory_kind": payload.get("memory_kind"),
        "memory_settings": payload.get("memory_settings", {}),
        "session_id": events[0].session_id if events else None,
    }


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
            if event.kind == "turn_start":
                turn.user, turn.memory_kind = p.get("user", ""), event.memory_kind
            elif status := turn_status(event.kind):
                turn.status, turn.error = status, p.get("error")
                turn.reply = p.get("reply", turn.reply)
        return [turns[n] for n in sorted(turns)]
