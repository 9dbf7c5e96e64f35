"""Where a reopened session left off (light: no LangChain import)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resume:
    """The session's completed turns, and its last event and turn numbers to continue from."""

    transcript: tuple[tuple[str, str], ...] = ()
    last_seq: int = 0
    last_turn: int = 0
