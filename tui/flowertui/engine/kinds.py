"""Memory kinds by name, and their knobs: light enough to import before LangChain loads."""

from __future__ import annotations

from dataclasses import dataclass

LESSON_KINDS = ("buffer", "window", "summary", "summary_buffer", "token_buffer")  # the lesson's classes
AGENT_KINDS = ("agent_window", "agent_tokens", "agent_summary")  # LangChain 1.x: create_agent + middleware
KINDS = (*LESSON_KINDS, *AGENT_KINDS)
SUMMARISING = ("summary", "summary_buffer")  # kinds that call the model to remember each turn they read
SAVED = (*SUMMARISING, "agent_summary")  # kinds whose state is recorded (memory_state), so a resume pays nothing


class UnknownMemoryKind(ValueError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown memory kind {kind!r}; choose one of: {', '.join(KINDS)}")


@dataclass
class MemoryMode:
    """The active memory kind and compare mode.

    The session's ledger follows them from its events; the app, its panes and resume read them there, and they
    are never stored elsewhere. Here, not beside the events, so the app's first frame shows them without the events'
    module (see docs/PERFORMANCE.md).
    """

    kind: str = "buffer"
    compare: bool = False


@dataclass(frozen=True)
class MemorySettings:
    """The knobs the lesson sets: window size and the two token limits."""

    window_k: int = 2
    summary_buffer_limit: int = 300
    token_buffer_limit: int = 300
