"""Memory kinds by name, and their knobs: light enough to import before LangChain loads."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("buffer", "window", "summary", "summary_buffer", "token_buffer")
SUMMARISING = ("summary", "summary_buffer")  # kinds that call the model to remember


class UnknownMemoryKind(ValueError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown memory kind {kind!r}; choose one of: {', '.join(KINDS)}")


@dataclass(frozen=True)
class MemorySettings:
    """The knobs the lesson sets: window size and the two token limits."""

    window_k: int = 2
    summary_buffer_limit: int = 300
    token_buffer_limit: int = 300
