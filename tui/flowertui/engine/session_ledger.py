"""What every session ledger offers, whatever the session's kind: a sink, typed rows and one total.

The chat ledger (per memory kind) and the trace ledger (per model, run and handler)
implement it; the store, `flowertui sessions` and the exports read a session's
numbers through it, never by testing which kind of ledger they hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


@runtime_checkable
class SessionLedger(Protocol[Rows]):
    prices: PriceBook

    def __call__(self, event: Event) -> None:
        """Count one event (the ledger is a sink on the session's bus)."""

    def rows(self) -> Rows:
        """A consistent snapshot of the ledger's typed rows."""

    def total(self) -> SessionTotal:
        """The session's total."""

    def turn_records(self, turn: int) -> dict[str, dict[str, Any]]:
        """What the store keeps of a settled turn, per memory kind (nothing for a session without them)."""


def combined_cost(costs: Iterable[tuple[float | None, str | None]]) -> tuple[float | None, str | None]:
    """The sum of costs when each is known, in one currency (a free part has no currency); else None."""
    costs = list(costs)
    currencies = {currency for cost, currency in costs if currency}
    if any(cost is None for cost, _ in costs) or len(currencies) > 1:
        return None, None
    return sum(cost for cost, _ in costs), next(iter(currencies), None)
