"""Tokens and cost of a traced program, per model and per top-level run, and who received what.

A pure function of events (a sink), so the headless table, `--json`, the app's
counter, the exports and a replay all read one set of typed rows. Provider-reported usage is
preferred; a call without it counts tiktoken's estimates and is marked
`usage_missing`, never 0.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

from flowertui.engine.events import (LLM_END, TURN_START, TURN_CLOSED, ChatModelStart, Embeddings, EstimatedCall, Event,
                                     HandlerError, LlmStart, RunEnd)
from flowertui.engine.langchain_handlers import by
from flowertui.engine.ledger import cached, spent
from flowertui.engine.prices import UNKNOWN, Price, PriceBook
from flowertui.engine.session_ledger import SessionTotal, Spend, combined_cost, merged_counts

@dataclass(kw_only=True)
class CallTotals:
    """The model calls counted under one row (a model, or a top-level run)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_missing_calls: int = 0
    cached_tokens: int = 0  # prompt tokens read from the provider's cache (part of prompt_tokens, priced lower)
    estimated_calls: int = 0  # calls in flight when flowertui and the program were killed: tiktoken's estimate

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, spent_in: int, spent_out: int, missing: bool, cached_in: int = 0, estimated: bool = False) -> None:
        self.calls += 1
        self.estimated_calls += estimated
        self.cached_tokens += cached_in
        self.prompt_tokens += spent_in
        self.completion_tokens += spent_out
        self.usage_missing_calls += missing

    def totals(self) -> dict[str, int]:
        return {"calls": self.calls, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens, "usage_missing_calls": self.usage_missing_calls,
                "estimated_calls": self.estimated_calls}

    @property
    def marks(self) -> str:
        """`~` some calls are estimated (never ended), `?` some reported no usage."""
        return ("~" if self.estimated_calls else "") + ("?" if self.usage_missing_calls else "")


@dataclass(kw_only=True)
class ModelRow(CallTotals):
    model: str
    price: Price | None = None  # None: the model has no price in the overrides or the database
    price_source: str = UNKNOWN  # where the price came from: override, database or unknown

    @property
    def cost(self) -> tuple[float | None, str | None]:
        if self.price is None:
            return None, None
        return self.price.cost(self.prompt_tokens, self.completion_tokens, self.cached_tokens), self.price.currency

    def to_dict(self) -> dict[str, Any]:
        cost, currency = self.cost
        return {**self.totals(), "cached_tokens": self.cached_tokens, "cost": cost, "currency": currency,
                "price_source": self.price_source}


@dataclass(kw_only=True)
class RunRow(CallTotals):
    """One run with everything under it: a top-level run (the outermost chain, graph or model call), or any run
    of the tree below one."""

    name: str
    run_id: str
    run_type: str  # chain, graph (a LangGraph graph), chat_model, llm, tool or retriever
    turn: int
    duration: float | None = None
    status: str = "running"
    parent_run_id: str | None = None
    by_model: dict[str, CallTotals] = field(default_factory=dict)  # the calls under it per model (their cost)
    handlers: dict[str, int] = field(default_factory=dict)  # events by receiving handler (run_tree(): with its children's)

    def spend(self, prices: PriceBook) -> Spend:
        """Its calls' tokens and cost, its duration, who received its events. A run without calls costs 0."""
        cost, currency = combined_cost(_priced(prices, model, calls) for model, calls in self.by_model.items())
        return Spend(self.prompt_tokens, self.completion_tokens, 0, cost, currency, bool(self.estimated_calls),
                     bool(self.usage_missing_calls), self.duration, dict(self.handlers))

    def copy(self) -> RunRow:
        return replace(self, by_model={m: replace(c) for m, c in self.by_model.items()}, handlers=dict(self.handlers))

    def to_dict(self) -> dict[str, Any]:
        """The `trace --json` shape (which calls the run type `kind`)."""
        return {"name": self.name, "run_id": self.run_id, "kind": self.run_type, "turn": self.turn,
                "duration": self.duration, "status": self.status, **self.totals()}


@dataclass
class HandlerRow:
    name: str
    scopes: list[str] = field(default_factory=list)
    events: int = 0
    errors: int = 0

    @property
    def scope(self) -> str:
        """The ways the handler was attached, comma-separated."""
        return ",".join(self.scopes)

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "events": self.events, "errors": self.errors, "by": by(self.name)}


def _priced(prices: PriceBook, model: str, calls: CallTotals) -> tuple[float | None, str | None]:
    price = prices.lookup(model).price
    if price is None:
        return None, None
    return price.cost(calls.prompt_tokens, calls.completion_tokens, calls.cached_tokens), price.currency


@dataclass(frozen=True)
class TraceRows:
    """A snapshot of a traced session's rows: per model, per top-level run (in start order), per handler."""

    models: tuple[ModelRow, ...]
    runs: tuple[RunRow, ...]
    handlers: tuple[HandlerRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """The `trace --json` shape: models, runs and handlers."""
        return {
            "models": {row.model: row.to_dict() for row in self.models},
            "runs": [row.to_dict() for row in self.runs],
            "handlers": {row.name: row.to_dict() for row in self.handlers},
        }


class TraceLedger:
    """A sink over a traced session's events."""

    def __init__(self, prices: PriceBook) -> None:
        self.prices = prices
        self.models: dict[str, ModelRow] = {}
        self.runs: dict[str, RunRow] = {}  # the top-level runs (also in `tree`)
        self.tree: dict[str, RunRow] = {}  # every run
        self.handlers: dict[str, HandlerRow] = {}
        self._turn_started: dict[int, float] = {}
        self._turn_seconds: dict[int, float] = {}  # each ended run of the program: its wall time
        self._roots: dict[str, str] = {}
        self._models_of: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._follow(event)

    def _follow(self, event: Event) -> None:
        p = event.payload
        if event.kind == TURN_START:
            self._turn_started[event.turn] = event.mono
        elif event.kind in TURN_CLOSED and event.turn in self._turn_started:
            self._turn_seconds[event.turn] = max(0.0, event.mono - self._turn_started.pop(event.turn))
        if event.kind.endswith("_start") and event.run_id is not None and event.run_id not in self.tree:
            self.tree[event.run_id] = RunRow(name=event.name, run_id=event.run_id, run_type=event.family,
                                             turn=event.turn, parent_run_id=event.parent_run_id)
        receivers = getattr(p, "handlers", None) or ()  # callbacks from a probe carry them
        for receiver in receivers:
            row = self.handlers.setdefault(receiver.name, HandlerRow(receiver.name))
            row.events += 1
            if receiver.scope not in row.scopes:
                row.scopes.append(receiver.scope)
        node = self.tree.get(event.run_id) if receivers and event.run_id is not None else None
        if node is not None:  # the run's own events; run_tree() adds its children's
            for receiver in receivers:
                node.handlers[receiver.name] = node.handlers.get(receiver.name, 0) + 1
        if isinstance(p, RunEnd):
            for call in p.estimated_calls or ():
                self._add_estimate(call)
            return
        if isinstance(p, Embeddings):  # no LangChain run: a call of its model only
            self._model_row(p.model).add(p.prompt_tokens, 0, False)
            return
        if isinstance(p, HandlerError):
            name = p.handler or "unknown handler"
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
                self.runs[run_id] = self.tree[run_id]
            if isinstance(p, (ChatModelStart, LlmStart)):
                self._models_of[run_id] = p.model
        root = self.runs.get(self._roots.get(run_id, run_id))
        if root is not None and getattr(p, "langgraph_node", None) is not None and root.run_type == "chain":
            root.run_type = "graph"
        if event.kind == LLM_END:
            self._add_call(event)
        if run_id in self.tree and event.kind.endswith(("_end", "_error")):
            node = self.tree[run_id]
            node.duration, node.status = event.duration, "error" if event.kind.endswith("_error") else "done"

    def _chain(self, run_id: str | None) -> list[RunRow]:
        """The run and every run above it, up to its top-level run (a malformed loop of parents stops at 1,000)."""
        found = []
        node = self.tree.get(run_id) if run_id is not None else None
        while node is not None and len(found) < 1_000:
            found.append(node)
            parent = node.parent_run_id
            node = self.tree.get(parent) if parent is not None else None
        return found

    def _add_call(self, event: Event) -> None:
        spent_in, spent_out, missing = spent(event)
        model = event.payload.model or self._models_of.get(event.run_id or "") or "unknown model"
        self._models_of.pop(event.run_id or "", None)
        self._model_row(model).add(spent_in, spent_out, missing, cached(event))
        for node in self._chain(event.run_id):
            node.add(spent_in, spent_out, missing, cached(event))
            node.by_model.setdefault(model, CallTotals()).add(spent_in, spent_out, missing, cached(event))

    def _add_estimate(self, call: EstimatedCall) -> None:
        """A call that never ended, closed when its run was found interrupted: counted, marked estimated."""
        model = call.model or self._models_of.pop(call.run_id, None) or "unknown model"
        self._model_row(model).add(int(call.prompt_tokens), int(call.completion_tokens), False, estimated=True)
        for node in self._chain(call.run_id):
            node.add(int(call.prompt_tokens), int(call.completion_tokens), False, estimated=True)
            node.by_model.setdefault(model, CallTotals()).add(int(call.prompt_tokens), int(call.completion_tokens),
                                                               False, estimated=True)

    def _model_row(self, model: str) -> ModelRow:
        row = self.models.get(model)
        if row is None:
            match = self.prices.lookup(model)
            row = self.models[model] = ModelRow(model=model, price=match.price, price_source=match.source)
        return row

    # reading ---------------------------------------------------------------

    def rows(self) -> TraceRows:
        with self._lock:
            return TraceRows(tuple(replace(row) for row in self.models.values()),
                             tuple(row.copy() for row in self.runs.values()),
                             tuple(replace(row, scopes=list(row.scopes)) for row in self.handlers.values()))

    def run_tree(self) -> tuple[RunRow, ...]:
        """Every run, parents before their children, in start order; each with its children's numbers, events
        by handler included (counted per run as they come, added up here: the hot path stays one run per event)."""
        with self._lock:
            nodes = {run_id: row.copy() for run_id, row in self.tree.items()}
        for row in reversed(list(nodes.values())):  # a child started after its parent: its sum is complete first
            parent = nodes.get(row.parent_run_id) if row.parent_run_id is not None else None
            if parent is not None:
                for name, count in row.handlers.items():
                    parent.handlers[name] = parent.handlers.get(name, 0) + count
        return tuple(nodes.values())

    def total(self) -> SessionTotal:
        """Every model's tokens; the cost when every model has a price in one currency (None with no call)."""
        return self.spend().as_total()

    def spend(self) -> Spend:
        """Every model's calls; the time is the program's ended runs' wall time."""
        with self._lock:
            models = list(self.models.values())
            cost, currency = combined_cost(row.cost for row in models) if models else (None, None)
            return Spend(sum(row.prompt_tokens for row in models), sum(row.completion_tokens for row in models), 0,
                         cost, currency, any(row.estimated_calls for row in models),
                         any(row.usage_missing_calls for row in models), sum(self._turn_seconds.values()),
                         {row.name: row.events for row in self.handlers.values()})

    def turn_spend(self, turn: int) -> Spend:
        """One run of the program: its top-level runs' spend, and its wall time once it ended."""
        tops = [row.spend(self.prices) for row in self.run_tree() if row.turn == turn and row.run_id in self.runs]
        with self._lock:
            seconds = self._turn_seconds.get(turn)
        cost, currency = combined_cost((s.cost, s.currency) for s in tops)
        return Spend(sum(s.prompt_tokens for s in tops), sum(s.completion_tokens for s in tops), 0, cost, currency,
                     any(s.estimated for s in tops), any(s.usage_missing for s in tops), seconds,
                     merged_counts(s.handlers for s in tops))

    def turn_records(self, turn: int) -> dict[str, dict[str, Any]]:
        """A traced session has no memory kinds: the store keeps no per-kind rows for its runs."""
        return {}
