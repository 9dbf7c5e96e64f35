"""Tokens and cost of a traced program, per model and per top-level run, and who received what.

A pure function of events (a sink), so the headless table, `--json`, the app's
counter and a replay all read one set of numbers. Provider-reported usage is
preferred; a call without it counts tiktoken's estimates and is marked
`usage_missing`, never 0.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flowertui.engine.events import Event
from flowertui.engine.langchain_handlers import by
from flowertui.engine.ledger import Ledger, spent
from flowertui.engine.prices import Price

@dataclass(kw_only=True)
class CallTotals:
    """The model calls counted under one row (a model, or a top-level run)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_missing_calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, spent_in: int, spent_out: int, missing: bool) -> None:
        self.calls += 1
        self.prompt_tokens += spent_in
        self.completion_tokens += spent_out
        self.usage_missing_calls += missing

    def totals(self) -> dict[str, int]:
        return {"calls": self.calls, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens, "usage_missing_calls": self.usage_missing_calls}


@dataclass(kw_only=True)
class ModelRow(CallTotals):
    model: str

    def cost(self, prices: dict[str, Price]) -> tuple[float | None, str | None]:
        price = prices.get(self.model)
        return (None, None) if price is None else (price.cost(self.prompt_tokens, self.completion_tokens), price.currency)

    def to_dict(self, prices: dict[str, Price]) -> dict[str, Any]:
        cost, currency = self.cost(prices)
        return {**self.totals(), "cost": cost, "currency": currency}


@dataclass(kw_only=True)
class RunRow(CallTotals):
    """One top-level run: the outermost chain, graph or model call, with everything under it."""

    name: str
    run_id: str
    kind: str
    turn: int
    duration: float | None = None
    status: str = "running"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "run_id": self.run_id, "kind": self.kind, "turn": self.turn,
                "duration": self.duration, "status": self.status, **self.totals()}


@dataclass
class HandlerRow:
    name: str
    scopes: list[str] = field(default_factory=list)
    events: int = 0
    errors: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"scope": ",".join(self.scopes), "events": self.events, "errors": self.errors, "by": by(self.name)}


class TraceLedger:
    """A sink over a traced session's events."""

    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices
        self.models: dict[str, ModelRow] = {}
        self.runs: dict[str, RunRow] = {}
        self.handlers: dict[str, HandlerRow] = {}
        self.turn_tokens: dict[int, int] = {}  # tokens per run of the program (a session's turn)
        self._roots: dict[str, str] = {}
        self._models_of: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._follow(event)

    def _follow(self, event: Event) -> None:
        p = event.payload
        for receiver in p.get("handlers") or ():
            row = self.handlers.setdefault(receiver["name"], HandlerRow(receiver["name"]))
            row.events += 1
            if receiver["scope"] not in row.scopes:
                row.scopes.append(receiver["scope"])
        if event.kind == "handler_error":
            name = p.get("handler") or "unknown handler"
            self.handlers.setdefault(name, HandlerRow(name)).errors += 1
            return
        run_id = event.run_id
        if run_id is None:
            return
        if event.kind.endswith("_start"):
            parent = event.parent_run_id
            root = self._roots.get(parent, parent) if parent else run_id
            self._roots[run_id] = root
            if parent is None:
                self.runs[run_id] = RunRow(name=event.name, run_id=run_id, kind=event.family, turn=event.turn)
            if event.kind in ("chat_model_start", "llm_start"):
                self._models_of[run_id] = p.get("model")
        root = self.runs.get(self._roots.get(run_id, run_id))
        if root is not None and p.get("langgraph_node") is not None and root.kind == "chain":
            root.kind = "graph"
        if event.kind == "llm_end":
            self._add_call(event, root)
        if run_id in self.runs and event.kind.endswith(("_end", "_error")):
            top = self.runs[run_id]
            top.duration, top.status = event.duration, "error" if event.kind.endswith("_error") else "done"

    def _add_call(self, event: Event, root: RunRow | None) -> None:
        spent_in, spent_out, missing = spent(event)
        self.turn_tokens[event.turn] = self.turn_tokens.get(event.turn, 0) + spent_in + spent_out
        model = event.payload.get("model") or self._models_of.get(event.run_id or "") or "unknown model"
        self._models_of.pop(event.run_id or "", None)
        for row in (self.models.setdefault(model, ModelRow(model=model)), root):
            if row is not None:
                row.add(spent_in, spent_out, missing)

    # reading ---------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The `trace --json` shape: models, runs (in start order) and handlers."""
        with self._lock:
            return {
                "models": {name: row.to_dict(self.prices) for name, row in self.models.items()},
                "runs": [row.to_dict() for row in self.runs.values()],
                "handlers": {name: row.to_dict() for name, row in self.handlers.items()},
            }

    def total_tokens(self) -> int:
        with self._lock:
            return sum(row.total_tokens for row in self.models.values())

    def cost(self) -> tuple[float | None, str | None]:
        """All models' cost when every model has a price in one currency; None otherwise."""
        with self._lock:
            costs = [row.cost(self.prices) for row in self.models.values()]
        if not costs or any(c is None for c, _ in costs) or len({cur for _, cur in costs}) != 1:
            return None, None
        return sum(c for c, _ in costs), costs[0][1]


def trace_ledger(events: list[Event], prices: dict[str, Price]) -> TraceLedger:
    """Rebuild a session's trace ledger from its events (replay, export)."""
    ledger = TraceLedger(prices)
    for event in events:
        ledger(event)
    return ledger


def session_total(ledger: Ledger, traced: TraceLedger | None) -> int:
    """A session's tokens, as `flowertui sessions` lists them and exports end with: memory kinds' plus a traced program's."""
    return ledger.grand_total() + (traced.total_tokens() if traced is not None else 0)
