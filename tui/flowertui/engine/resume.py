"""Where a reopened session left off (light: no LangChain import)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resume:
    """The session's completed turns, its last event and turn numbers, and the memory it last used."""

    transcript: tuple[tuple[str, str], ...] = ()
    last_seq: int = 0
    last_turn: int = 0
    memory_kind: str = "buffer"
    compare: bool = False
