"""Token ledger per memory kind, built only from events (so a replay rebuilds it exactly).

Each row is one turn of one memory kind: the main call's prompt and completion
tokens, the summariser's maintenance tokens, and the cost. Provider-reported
usage is preferred; where the provider reported nothing the tiktoken estimate is
used and the row says so, so missing usage never reads as 0.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from flowertui.engine.events import Event
from flowertui.engine.prices import Price


@dataclass
class LedgerRow:
    turn: int
    memory_kind: str
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    maintenance_input: int = 0
    maintenance_output: int = 0
    estimated: bool = False  # compare mode: what this kind would send, counted with tiktoken
    usage_missing: bool = False  # the provider reported no usage; numbers are tiktoken's
    maintenance_usage_missing: bool = False

    @property
    def maintenance_tokens(self) -> int:
        return self.maintenance_input + self.maintenance_output

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens + self.maintenance_tokens

    def cost(self, prices: dict[str, Price]) -> tuple[float | None, str | None]:
        price = prices.get(self.model or "")
        if price is None:
            return None, None
        spent = price.cost(self.prompt_tokens + self.maintenance_input, self.completion_tokens + self.maintenance_output)
        return spent, price.currency

    def to_dict(self, prices: dict[str, Price]) -> dict[str, Any]:
        cost, currency = self.cost(prices)
        return {
            "turn": self.turn,
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "maintenance_tokens": self.maintenance_tokens,
            "total_tokens": self.total_tokens,
            "estimated": self.estimated,
            "usage_missing": self.usage_missing,
            "maintenance_usage_missing": self.maintenance_usage_missing,
            "cost": cost,
            "currency": currency,
        }


class Ledger:
    """A sink: consumes events, keeps rows per memory kind in turn order."""

    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices
        self.rows: dict[str, dict[int, LedgerRow]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if event.kind == "turn_start":
                for kind in event.payload.get("kinds", ()):
                    self._row(kind, event.turn)
            elif event.kind == "memory_estimate":
                row = self._row(event.memory_kind, event.turn)
                row.model = event.payload.get("model") or row.model
                row.prompt_tokens = int(event.payload["prompt_tokens"])
                row.completion_tokens = int(event.payload["completion_tokens"])
                row.estimated = True
            elif event.kind == "llm_end" and event.memory_kind:
                self._add_call(self._row(event.memory_kind, event.turn), event)

    def _row(self, kind: str | None, turn: int) -> LedgerRow:
        rows = self.rows.setdefault(kind or "unknown", {})
        if turn not in rows:
            rows[turn] = LedgerRow(turn=turn, memory_kind=kind or "unknown")
        return rows[turn]

    @staticmethod
    def _add_call(row: LedgerRow, event: Event) -> None:
        payload = event.payload
        usage = payload.get("usage")
        if usage:
            spent_in, spent_out = usage["input_tokens"], usage["output_tokens"]
        else:
            spent_in = payload.get("prompt_tokens_estimate") or 0
            spent_out = payload.get("completion_tokens_estimate") or 0
        row.model = row.model or payload.get("model")
        if event.maintenance:
            row.maintenance_input += spent_in
            row.maintenance_output += spent_out
            row.maintenance_usage_missing |= not usage
        else:
            row.prompt_tokens += spent_in
            row.completion_tokens += spent_out
            row.usage_missing |= not usage

    def turns(self, kind: str) -> list[LedgerRow]:
        with self._lock:
            return [row for _, row in sorted(self.rows.get(kind, {}).items())]

    def total(self, kind: str) -> int:
        return sum(row.total_tokens for row in self.turns(kind))

    def kinds(self) -> list[str]:
        with self._lock:
            return list(self.rows)

    def cost(self, kind: str) -> tuple[float | None, str | None]:
        """Cumulative cost and currency of a kind; None when any turn's model has no price."""
        costs = [row.cost(self.prices) for row in self.turns(kind)]
        if not costs or any(cost is None for cost, _ in costs):
            return None, None
        return sum(cost for cost, _ in costs), costs[0][1]

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per kind: the turn rows as dicts and the totals (the shape `run --json` prints)."""
        result: dict[str, dict[str, Any]] = {}
        for kind in self.kinds():
            rows = self.turns(kind)
            cost, currency = self.cost(kind)
            result[kind] = {
                "turns": [row.to_dict(self.prices) for row in rows],
                "total_tokens": sum(row.total_tokens for row in rows),
                "cost": cost,
                "currency": currency,
            }
        return result
