"""The session's one token ledger, built only from events (so a replay rebuilds it exactly).

Each row is one turn of one memory kind: the main call's prompt and completion
tokens, the summariser's maintenance tokens, the cost and how the turn ended.
Provider-reported usage is preferred; where the provider reported nothing the
tiktoken estimate is used and the row says so, so missing usage never reads as 0.
Summariser calls that catch a newly started summary memory up on the transcript
are kept apart from the turn rows (they belong to no turn) and counted in the
kind's totals. Every view (counter pane, headless table, store, exports) reads the
per-kind figures computed here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from flowertui.engine.events import (CALLBACK_KINDS, LLM_END, MEMORY_CATCHUP_END, TURN_CANCELLED, TURN_END,
                                     TURN_ERROR, ChatModelStart, ChatSessionStart, CompareMode, Event, LlmStart,
                                     MemoryCatchupStart, MemoryEstimate, MemorySwitch, Payload, TurnCancelled,
                                     TurnStart)
from flowertui.engine.kinds import KINDS, MemoryMode
from flowertui.engine.prices import PriceBook
from flowertui.engine.session_ledger import SessionTotal, Spend, combined_cost, merged_counts

# The marks every view puts beside a number, explained once.
MARKS = {
    "~": "estimate",  # tiktoken's count: compare mode's other kinds, or a cancelled reply
    "?": "no usage reported",
    "…": "in progress",
    "✗": "failed",
    "↻": "catch-up",  # the summariser read earlier turns when the kind started
}
LEGEND = "  ".join(f"{mark} {meaning}" for mark, meaning in MARKS.items())
# The event that closes a turn, and the status it leaves the turn in; a turn with none is still "running".
TURN_ENDINGS = {TURN_END: "done", TURN_CANCELLED: "cancelled", TURN_ERROR: "failed"}


def turn_status(event_kind: str) -> str | None:
    """The status a turn ends in when this event arrives, or None if the event does not end a turn."""
    return TURN_ENDINGS.get(event_kind)


@dataclass(kw_only=True)
class Spending:
    """Tokens one memory kind spent on a model's calls, priced by that model: a turn's row or a catch-up."""

    memory_kind: str
    model: str | None = None
    cached_tokens: int = 0  # input read from the provider's cache (priced lower)
    usage_missing: bool = False  # the provider reported no usage; numbers are tiktoken's
    seconds: float = 0.0  # time in the model calls counted here
    handlers: dict[str, int] = field(default_factory=dict)  # callback events by the scope flowertui's handler had

    def priced_tokens(self) -> tuple[int, int]:
        """The input and output tokens the cost is computed on."""
        raise NotImplementedError

    def cost(self, prices: PriceBook) -> tuple[float | None, str | None]:
        """Cost and currency. Nothing spent costs 0 whatever the model; otherwise None when the model has no price."""
        input_tokens, output_tokens = self.priced_tokens()
        price = prices.lookup(self.model).price
        if price is None:
            return (0.0, None) if input_tokens + output_tokens == 0 else (None, None)
        return price.cost(input_tokens, output_tokens, self.cached_tokens), price.currency

    def price_fields(self, prices: PriceBook) -> dict[str, Any]:
        """What every export of a priced row ends with."""
        cost, currency = self.cost(prices)
        return {"cost": cost, "currency": currency, "price_source": prices.lookup(self.model).source}

    def add(self, event: Event) -> tuple[int, int, bool]:
        """Take one finished call's model and cached tokens; its input, output and usage_missing for the caller."""
        self.model = self.model or event.payload.model
        self.cached_tokens += cached(event)
        self.seconds += event.duration or 0.0
        return spent(event)


@dataclass(kw_only=True)
class LedgerRow(Spending):
    turn: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    maintenance_input: int = 0
    maintenance_output: int = 0
    estimated: bool = False  # counted with tiktoken: compare mode's other kinds, or a cancelled reply
    maintenance_usage_missing: bool = False
    status: str = "running"  # running | done | cancelled | failed
    cancel_estimate: bool = False  # prompt/completion are the cancel-time estimate, until a late llm_end

    @property
    def maintenance_tokens(self) -> int:
        return self.maintenance_input + self.maintenance_output

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens + self.maintenance_tokens

    @property
    def sent(self) -> bool:
        """Its prompt really went to the model (compare mode's other kinds only estimate theirs)."""
        return not self.estimated or self.cancel_estimate

    @property
    def counted(self) -> bool:
        """Settled, and part of the kind's totals: done, or ended early after spending tokens."""
        return self.status == "done" or (self.status != "running" and self.total_tokens > 0)

    def priced_tokens(self) -> tuple[int, int]:
        return self.prompt_tokens + self.maintenance_input, self.completion_tokens + self.maintenance_output

    def spend(self, prices: PriceBook) -> Spend:
        cost, currency = self.cost(prices)
        return Spend(self.prompt_tokens, self.completion_tokens, self.maintenance_tokens, cost, currency,
                     self.estimated, self.usage_missing or self.maintenance_usage_missing,
                     self.seconds if self.sent else None, dict(self.handlers))

    def to_dict(self, prices: PriceBook) -> dict[str, Any]:
        return {
            "turn": self.turn,
            "model": self.model,
            "status": self.status,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "maintenance_tokens": self.maintenance_tokens,
            "total_tokens": self.total_tokens,
            "estimated": self.estimated,
            "usage_missing": self.usage_missing,
            "maintenance_usage_missing": self.maintenance_usage_missing,
            **self.price_fields(prices),
        }

    def add_call(self, event: Event) -> None:
        spent_in, spent_out, missing = self.add(event)
        if event.maintenance:
            self.maintenance_input += spent_in
            self.maintenance_output += spent_out
            self.maintenance_usage_missing |= missing
            return
        if self.cancel_estimate:  # the call ended after all: its real numbers replace the cancel-time estimate
            self.prompt_tokens = self.completion_tokens = 0  # (an estimate has no cached tokens)
            self.estimated = self.cancel_estimate = False
        self.prompt_tokens += spent_in
        self.completion_tokens += spent_out
        self.usage_missing |= missing


@dataclass(kw_only=True)
class CatchUp(Spending):
    """The summariser calls that fed a new summary memory the transcript (a switch, compare mode, a resume)."""

    after_turn: int
    turns: int
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def priced_tokens(self) -> tuple[int, int]:
        return self.input_tokens, self.output_tokens

    def spend(self, prices: PriceBook) -> Spend:
        """All of a catch-up is maintenance: the summariser reading earlier turns."""
        cost, currency = self.cost(prices)
        return Spend(0, 0, self.total_tokens, cost, currency, False, self.usage_missing, self.seconds,
                     dict(self.handlers))

    def to_dict(self, prices: PriceBook) -> dict[str, Any]:
        return {"after_turn": self.after_turn, "turns": self.turns, "model": self.model, "calls": self.calls,
                "total_tokens": self.total_tokens, "usage_missing": self.usage_missing, **self.price_fields(prices)}

    def add_call(self, event: Event) -> None:
        spent_in, spent_out, missing = self.add(event)
        self.input_tokens += spent_in
        self.output_tokens += spent_out
        self.usage_missing |= missing
        self.calls += 1


@dataclass(frozen=True)
class KindTotals:
    """What every view shows for one memory kind, computed once."""

    kind: str
    last: LedgerRow | None  # the latest turn row, whatever its state
    turns: tuple[int, ...]  # the turns the totals count
    coverage: str  # those turns as ranges, e.g. "1–3, 5–6"; "↻" first when a catch-up is counted too
    total_tokens: int
    prompt_tokens: int
    completion_tokens: int
    maintenance_tokens: int  # the turns' summariser calls and every catch-up
    catch_up_tokens: int
    cost: float | None
    currency: str | None
    estimated: bool
    usage_missing: bool
    points: tuple[tuple[int, int], ...] = field(default=())  # (turn, cumulative tokens) for the plot
    seconds: float | None = 0.0  # time in the kind's own model calls; None when a reply was only estimated
    handlers: dict[str, int] = field(default_factory=dict)  # callback events of those calls, by scope

    @property
    def marks(self) -> str:
        return ("~" if self.estimated else "") + ("?" if self.usage_missing else "")

    def spend(self) -> Spend:
        return Spend(self.prompt_tokens, self.completion_tokens, self.maintenance_tokens, self.cost, self.currency,
                     self.estimated, self.usage_missing, self.seconds, dict(self.handlers))


@dataclass(frozen=True)
class KindRows:
    """One memory kind's rows: its totals, its turn rows (whatever their state) and its catch-ups."""

    totals: KindTotals
    turns: tuple[LedgerRow, ...]
    catch_ups: tuple[CatchUp, ...]

    def to_dict(self, prices: PriceBook) -> dict[str, Any]:
        """The shape `run --json` prints under `memories`."""
        t = self.totals
        return {
            "turns": [row.to_dict(prices) for row in self.turns],
            "catch_ups": [c.to_dict(prices) for c in self.catch_ups],
            "counted_turns": t.coverage,
            "total_tokens": t.total_tokens,
            "cost": t.cost,
            "currency": t.currency,
        }


class Ledger:
    """A sink: consumes events, keeps rows per memory kind in turn order, and follows the memory mode."""

    def __init__(self, prices: PriceBook) -> None:
        self.prices = prices
        self._turn_rows: dict[str, dict[int, LedgerRow]] = {}  # per memory kind, per turn
        self.catch_ups: dict[str, list[CatchUp]] = {}
        self.mode = MemoryMode()
        self._catching: dict[str, CatchUp] = {}
        self._prompts: dict[tuple[str, int], int] = {}  # the main call's prompt estimate, for a cancel
        self._turn_started: dict[int, float] = {}  # mono time of each turn's start, until it ends
        self._turn_seconds: dict[int, float] = {}  # wall time of each ended turn
        self._turn_handlers: dict[int, dict[str, int]] = {}  # callback events per turn, by scope
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            p = event.payload
            self._follow_mode(p)
            if event.kind in CALLBACK_KINDS and event.turn:
                self._count_handler(event)
            if isinstance(p, TurnStart):
                self._turn_started[event.turn] = event.mono
                for kind in p.kinds or ():
                    self._row(kind, event.turn).model = p.model
            elif event.kind in TURN_ENDINGS:
                if event.turn in self._turn_started:
                    self._turn_seconds[event.turn] = max(0.0, event.mono - self._turn_started.pop(event.turn))
                self._settle(event)
            elif isinstance(p, MemoryEstimate):
                row = self._row(event.memory_kind, event.turn)
                row.model = p.model or row.model
                row.prompt_tokens = int(p.prompt_tokens)
                row.completion_tokens = int(p.completion_tokens)
                row.estimated = True
            elif isinstance(p, (ChatModelStart, LlmStart)) and event.memory_kind and not event.maintenance:
                self._prompts[(event.memory_kind, event.turn)] = int(p.prompt_tokens_estimate or 0)
            elif isinstance(p, MemoryCatchupStart) and event.memory_kind:
                self._catching[event.memory_kind] = CatchUp(memory_kind=event.memory_kind, after_turn=event.turn,
                                                              turns=int(p.turns or 0))
            elif event.kind == MEMORY_CATCHUP_END and event.memory_kind in self._catching:
                catch_up = self._catching.pop(event.memory_kind)
                if catch_up.calls:  # a memory that had nothing to summarise yet spent nothing
                    self.catch_ups.setdefault(event.memory_kind, []).append(catch_up)
            elif event.kind == LLM_END and event.memory_kind:
                catching = self._catching.get(event.memory_kind) if event.maintenance else None
                (catching if catching is not None else self._row(event.memory_kind, event.turn)).add_call(event)

    def _follow_mode(self, p: Payload) -> None:
        """The memory kind and compare mode in force, as the session's events set them."""
        mode = self.mode
        if isinstance(p, ChatSessionStart):
            mode.kind, mode.compare = p.memory_kind or mode.kind, bool(p.compare)
        elif isinstance(p, MemorySwitch):
            mode.kind = p.to
        elif isinstance(p, CompareMode):
            mode.compare = p.on

    def _count_handler(self, event: Event) -> None:
        """A chat's callbacks all reach flowertui's own handler: counted by how it was attached (request,
        constructor), per turn and per memory kind's row or open catch-up."""
        scope = event.scope
        by_turn = self._turn_handlers.setdefault(event.turn, {})
        by_turn[scope] = by_turn.get(scope, 0) + 1
        catching = self._catching.get(event.memory_kind or "") if event.maintenance else None
        part = catching or self._turn_rows.get(event.memory_kind or "", {}).get(event.turn)
        if part is not None:
            part.handlers[scope] = part.handlers.get(scope, 0) + 1

    def _row(self, kind: str | None, turn: int) -> LedgerRow:
        rows = self._turn_rows.setdefault(kind or "unknown", {})
        if turn not in rows:
            rows[turn] = LedgerRow(turn=turn, memory_kind=kind or "unknown")
        return rows[turn]

    def _settle(self, event: Event) -> None:
        """Close every row of the turn; a cancelled reply counts its prompt and what had streamed."""
        status = TURN_ENDINGS[event.kind]
        for kind, rows in self._turn_rows.items():
            row = rows.get(event.turn)
            if row is None or row.status != "running":
                continue
            row.status = status
            if status == "cancelled" and kind == event.memory_kind and row.prompt_tokens + row.completion_tokens == 0:
                row.prompt_tokens = self._prompts.get((kind, event.turn), 0)
                cancelled = event.payload
                row.completion_tokens = int(cancelled.completion_tokens or 0) if isinstance(cancelled, TurnCancelled) else 0
                row.estimated = row.cancel_estimate = row.prompt_tokens + row.completion_tokens > 0
        for key in [key for key in self._prompts if key[1] == event.turn]:
            del self._prompts[key]

    # reading ---------------------------------------------------------------
    def turns(self, kind: str) -> list[LedgerRow]:
        with self._lock:
            return [row for _, row in sorted(self._turn_rows.get(kind, {}).items())]

    def kinds(self) -> list[str]:
        """Kinds with anything counted or in progress, in the lesson's order."""
        with self._lock:
            seen = set(self._turn_rows) | set(self.catch_ups)
        return _in_lesson_order(seen)

    def totals(self, kind: str) -> KindTotals:
        """The kind's figures for every view: counted turns, Σ tokens and cost, marks, plot points."""
        with self._lock:  # a consistent snapshot while the engine thread keeps counting
            rows = [row for _, row in sorted(self._turn_rows.get(kind, {}).items())]
            catch_ups = list(self.catch_ups.get(kind, ()))
            counted = [row for row in rows if row.counted]
            catch_up_tokens = sum(c.total_tokens for c in catch_ups)
            costs = [row.cost(self.prices) for row in counted] + [c.cost(self.prices) for c in catch_ups]
            known = None if any(cost is None for cost, _ in costs) else sum(cost for cost, _ in costs)
            points, running = [], 0
            for row in counted:  # a catch-up adds to the turns after it
                running += row.total_tokens
                points.append((row.turn, running + sum(c.total_tokens for c in catch_ups if c.after_turn < row.turn)))
            return KindTotals(
                kind=kind,
                last=replace(rows[-1]) if rows else None,
                turns=tuple(row.turn for row in counted),
                coverage=" ".join(part for part in ("↻" if catch_ups else "", turn_ranges(r.turn for r in counted))
                                  if part),
                total_tokens=sum(row.total_tokens for row in counted) + catch_up_tokens,
                prompt_tokens=sum(row.prompt_tokens for row in counted),
                completion_tokens=sum(row.completion_tokens for row in counted),
                maintenance_tokens=sum(row.maintenance_tokens for row in counted) + catch_up_tokens,
                catch_up_tokens=catch_up_tokens,
                cost=known,
                currency=next((cur for _, cur in costs if cur), None) if known is not None else None,
                estimated=any(row.estimated for row in counted),
                usage_missing=any(row.usage_missing or row.maintenance_usage_missing for row in counted)
                or any(c.usage_missing for c in catch_ups),
                points=tuple(points),
                seconds=sum(row.seconds for row in counted) + sum(c.seconds for c in catch_ups)
                if all(row.sent for row in counted) else None,
                handlers=merged_counts([row.handlers for row in counted] + [c.handlers for c in catch_ups]),
            )

    def total(self) -> SessionTotal:
        """The session's tokens: every kind's total, catch-ups included (what `flowertui sessions` lists)."""
        return self.spend().as_total()

    def spend(self) -> Spend:
        """Every kind's spend, catch-ups included; the time is the ended turns' wall time."""
        totals = [self.totals(kind) for kind in self.kinds()]
        cost, currency = combined_cost((t.cost, t.currency) for t in totals)
        with self._lock:
            seconds = sum(self._turn_seconds.values())
            handlers = merged_counts(self._turn_handlers.values())
        return Spend(sum(t.prompt_tokens for t in totals), sum(t.completion_tokens for t in totals),
                     sum(t.maintenance_tokens for t in totals), cost, currency, any(t.estimated for t in totals),
                     any(t.usage_missing for t in totals), seconds, handlers)

    def turn_spend(self, turn: int) -> Spend:
        """One turn's counted rows, every kind's (catch-ups belong to no turn); its wall time once it ended."""
        rows = [row for row in self.turn_rows(turn).values() if row.counted]
        cost, currency = combined_cost(row.cost(self.prices) for row in rows)
        with self._lock:
            seconds = self._turn_seconds.get(turn)
            handlers = dict(self._turn_handlers.get(turn, {}))
        return Spend(sum(r.prompt_tokens for r in rows), sum(r.completion_tokens for r in rows),
                     sum(r.maintenance_tokens for r in rows), cost, currency, any(r.estimated for r in rows),
                     any(r.usage_missing or r.maintenance_usage_missing for r in rows), seconds, handlers)

    def turn_rows(self, turn: int) -> dict[str, LedgerRow]:
        """Copies of one turn's rows by memory kind, in the lesson's order."""
        with self._lock:
            rows = {kind: replace(by_turn[turn]) for kind, by_turn in self._turn_rows.items() if turn in by_turn}
        return {kind: rows[kind] for kind in _in_lesson_order(rows)}

    def catching_up(self, kind: str) -> CatchUp | None:
        """The catch-up of `kind` still open (its calls counted so far)."""
        with self._lock:
            return self._catching.get(kind)

    def rows(self) -> tuple[KindRows, ...]:
        """Per memory kind with anything counted or in progress, in the lesson's order: totals, turns, catch-ups."""
        with self._lock:
            catch_ups = {kind: tuple(found) for kind, found in self.catch_ups.items()}
        return tuple(KindRows(self.totals(kind), tuple(self.turns(kind)), catch_ups.get(kind, ()))
                     for kind in self.kinds())

    def turn_records(self, turn: int) -> dict[str, dict[str, Any]]:
        """The turn's rows by memory kind, as the store keeps them."""
        return {kind: row.to_dict(self.prices) for kind, row in self.turn_rows(turn).items()}


def _in_lesson_order(kinds: Iterable[str]) -> list[str]:
    kinds = set(kinds)
    return [k for k in KINDS if k in kinds] + sorted(kinds - set(KINDS))


def turn_ranges(turns) -> str:
    """1,2,3,5,6 → "1–3, 5–6"."""
    spans: list[list[int]] = []
    for turn in turns:
        if spans and turn == spans[-1][1] + 1:
            spans[-1][1] = turn
        else:
            spans.append([turn, turn])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def spent(event: Event) -> tuple[int, int, bool]:
    """Input and output tokens of one finished call, and whether they are tiktoken's (usage missing).

    Both ledgers (memory kinds and traced programs) count a call this way.
    """
    payload = event.payload
    usage = payload.usage
    if usage:
        return int(usage.input_tokens), int(usage.output_tokens), False
    return int(payload.prompt_tokens_estimate or 0), int(payload.completion_tokens_estimate or 0), True


def cached(event: Event) -> int:
    """Input tokens of one finished call that the provider read from its cache (part of its input tokens)."""
    usage = event.payload.usage
    value = usage.cached_input_tokens if usage else None
    return value if type(value) is int and value > 0 else 0
