"""Where a reopened session left off (light: no LangChain import)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Resume:
    """The session's completed turns, its last event and turn numbers, the memory it last used and what its
    summarising memories had read (so a resume does not pay for those turns again)."""

    transcript: tuple[tuple[str, str], ...] = ()
    last_seq: int = 0
    last_turn: int = 0
    memory_kind: str = "buffer"
    compare: bool = False
    memory_states: dict[str, dict[str, Any]] = field(default_factory=dict)  # the last memory_state payload per kind


def memory_states(events) -> dict[str, dict[str, Any]]:
    """What each summarising memory had read when the session was recorded: its last memory_state event."""
    return {event.memory_kind: dict(event.payload) for event in events
            if event.kind == "memory_state" and event.memory_kind}
