"""The one event type: every callback and app step, normalized, redacted and JSON-able.

Panes, the ledger, the session store and exports all read these, so what is
exported is exactly what was seen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Event kinds by family; the app colours and filters by family.
FAMILIES: dict[str, tuple[str, ...]] = {
    "chain": ("chain_start", "chain_end"),
    "chat_model": ("chat_model_start",),
    "llm": ("llm_start", "llm_new_token", "llm_end", "text", "retry", "custom_event"),
    "tool": ("tool_start", "tool_end", "agent_action", "agent_finish"),
    "retriever": ("retriever_start", "retriever_end"),
    "error": ("chain_error", "llm_error", "tool_error", "retriever_error", "turn_error", "handler_error"),
    "app": ("session_start", "turn_start", "turn_end", "turn_cancelled", "memory_switch", "compare_mode",
            "memory_estimate", "memory_catchup_start", "memory_catchup_end", "probe_hello", "program_output"),
}
_FAMILY_OF = {kind: family for family, kinds in FAMILIES.items() for kind in kinds}


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened. Times are seconds; `mono` orders events within a process."""

    seq: int
    wall: float
    mono: float
    session_id: str
    turn: int
    kind: str
    name: str
    scope: str
    memory_kind: str | None = None
    maintenance: bool = False
    run_id: str | None = None
    parent_run_id: str | None = None
    duration: float | None = None
    since_run_start: float | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> str:
        return _FAMILY_OF.get(self.kind, "app")

    @property
    def counted_token(self) -> bool:
        """A streamed token that carries text (ChatOpenAI also emits "" for role/usage chunks)."""
        return self.kind == "llm_new_token" and bool(self.payload.get("token"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


@dataclass
class MemoryMode:
    """The active memory kind and compare mode, followed from a session's events.

    The app, its panes and resume all need them; they are never stored elsewhere.
    """

    kind: str = "buffer"
    compare: bool = False

    def follow(self, event: Event) -> None:
        p = event.payload
        if event.kind == "session_start":
            self.kind, self.compare = p.get("memory_kind") or self.kind, bool(p.get("compare"))
        elif event.kind == "memory_switch":
            self.kind = p["to"]
        elif event.kind == "compare_mode":
            self.compare = p["on"]
