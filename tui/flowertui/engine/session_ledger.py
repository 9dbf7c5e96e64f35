"""What every session ledger offers, whatever the session's kind: a sink, typed rows and one total.

The chat ledger (per memory kind) and the trace ledger (per model, run and handler)
implement it; the store, `flowertui sessions` and the exports read a session's
numbers through it, never by testing which kind of ledger they hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from flowertui.engine.events import Event
from flowertui.engine.prices import PriceBook

Rows = TypeVar("Rows", covariant=True)


@dataclass(frozen=True)
class SessionTotal:
    """A session's tokens (what `flowertui sessions` lists and exports end with) and their cost.

    `cost` is None unless every counted part has a price, all in one `currency`.
    """

    tokens: int
    cost: float | None
    currency: str | None
    estimated: bool = False  # some of the tokens are tiktoken's estimate (views mark them `~`)


@dataclass(frozen=True)
class Spend:
    """What one part of a session spent: the session, a turn (a traced program's run), a memory kind, one run of a
    traced run tree. `flowertui diff` compares these; the ledger that counted the tokens computes them.

    `cost` is None unless every counted part has a price, all in one `currency` (a part that spent nothing costs 0).
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    maintenance_tokens: int = 0  # a summary memory's summariser calls (chat sessions only)
    cost: float | None = 0.0
    currency: str | None = None
    estimated: bool = False  # some tokens are tiktoken's estimate of what was not sent or never ended
    usage_missing: bool = False  # some calls reported no usage (their tokens are tiktoken's)
    seconds: float | None = None  # a turn's or run's wall time; a memory kind's time in its own model calls
    handlers: Mapping[str, int] = field(default_factory=dict)  # callback events received, by handler

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens + self.maintenance_tokens

    def as_total(self) -> SessionTotal:
        return SessionTotal(self.total_tokens, self.cost, self.currency, self.estimated)


def merged_counts(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Event counts by handler of several parts, as one."""
    merged: dict[str, int] = {}
    for part in counts:
        for name, count in part.items():
            merged[name] = merged.get(name, 0) + count
    return merged


@runtime_checkable
class SessionLedger(Protocol[Rows]):
    prices: PriceBook

    def __call__(self, event: Event) -> None:
        """Count one event (the ledger is a sink on the session's bus)."""

    def rows(self) -> Rows:
        """A consistent snapshot of the ledger's typed rows."""

    def total(self) -> SessionTotal:
        """The session's total."""

    def spend(self) -> Spend:
        """The whole session's spend (its tokens and cost are `total()`'s)."""

    def turn_spend(self, turn: int) -> Spend:
        """One turn's spend (a traced session's turn is one run of its program)."""

    def turn_records(self, turn: int) -> dict[str, dict[str, Any]]:
        """What the store keeps of a settled turn, per memory kind (nothing for a session without them)."""


def combined_cost(costs: Iterable[tuple[float | None, str | None]]) -> tuple[float | None, str | None]:
    """The sum of costs when each is known, in one currency (a free part has no currency); else None."""
    costs = list(costs)
    currencies = {currency for cost, currency in costs if currency}
    if any(cost is None for cost, _ in costs) or len(currencies) > 1:
        return None, None
    return sum(cost for cost, _ in costs), next(iter(currencies), None)
