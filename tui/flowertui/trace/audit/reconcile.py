"""The audit: each HTTP call the proxy saw, beside the callback run it belongs to, and what disagrees.

`AuditLedger` is a sink of the session's bus: it keeps the `audit_call` events and the model runs
(chat_model_start / llm_start, llm_end, llm_error). `report()` matches them and names each discrepancy
with its cause and fix; the headless table, `--json` and the app all read that one report.

Matching a call to a run (a chat model or LLM run; embeddings and other endpoints never have one,
LangChain emits no callback for them): the run must be of the same turn, have started before the
call arrived at the proxy (`SLACK` allowed for clocks) and not have ended before it; when the call's
model and the run's are both known they must be equal. Among those, a run no successful call has
answered yet wins, then one whose callback usage equals the call's wire usage (concurrent calls of one
model end in any order), then the earliest started: concurrent runs send their calls in the order they
started, and a run's retries (429, 5xx) come before the call that answers it. A 2xx call answers its
run; the run's callback usage is set beside that call.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flowertui.engine.events import (AUDIT_CALL, CHAT_MODEL_START, LLM_END, LLM_ERROR, LLM_START, AuditCall, Event,
                                     Usage)
from flowertui.engine.prices import PriceBook

SLACK = 0.05  # seconds: a call may reach the proxy this much before its run's start is stamped
LOOKBACK = 256  # runs looked at before a call (by start time); older ones ended long ago
RUN_APIS = ("chat", "completions", "responses")
USAGE_KEYS = ("prompt", "completion", "cached", "reasoning", "total")

ADVICE = {
    "stream_without_usage": "ChatOpenAI: pass `stream_usage=True`; the openai client: "
                            "`stream_options={\"include_usage\": True}`",
    "usage_not_sent": "the server ignores `stream_options.include_usage`: its tokens are tiktoken estimates here",
    "callback_no_model_name": "get_usage_metadata_callback counts nothing for a response without `model_name` "
                              "(its totals miss these tokens): have the server return `model`, or count from the wire",
    "callback_zero": "the callbacks counted nothing for a call the provider billed: count from the wire",
    "usage_differs": "the callbacks' usage is not what the provider sent: trust the wire",
    "cached_not_priced": "add `cached_input` for the model to prices.toml: cached tokens are billed at the full "
                         "input rate now",
    "cached_dropped": "the callbacks lost the cached-token count: their cost counts cached tokens at the full rate",
    "retry": "the client retried (429 or 5xx): the failed attempts cost time, and the run shows only one call; "
             "check rate limits and `max_retries`",
    "embeddings": "LangChain emits no callback for embeddings: only the wire counts their tokens",
    "no_run": "no LangChain run made this call (the openai client used directly, or a run flowertui did not see): "
              "only the wire counts it",
    "http_error": "the call failed and was not retried: see the program's error",
    "unparsed": "parts of the body were over the audit's caps: forwarded whole, read in part",
}


def _title(kind: str, call: _Call | None = None, n: int = 0) -> str:
    """The per-call finding: the discrepancy and its cause in one line."""
    p = call.payload if call else None
    return {
        "stream_without_usage": "stream without `stream_options.include_usage`: pass `stream_usage=True`",
        "usage_not_sent": "usage asked for, none sent: the server ignores `include_usage`",
        "callback_no_model_name": "callback counted 0: response had no `model_name`",
        "callback_zero": "callback counted 0: the provider reported usage, the callbacks none",
        "usage_differs": "callback usage differs from the wire",
        "cached_not_priced": "cached tokens not priced",
        "cached_dropped": "callback dropped the cached tokens",
        "retry": f"retry: {n} calls, 1 run",
        "embeddings": "embeddings: no LangChain callback",
        "no_run": "no run: a call made outside LangChain's callbacks",
        "http_error": f"HTTP {p.status if p else '?'}" + (f" ({p.error})" if p and p.error else ""),
        "unparsed": f"{p.unparsed_bytes if p else 0} bytes not parsed",
    }[kind]


@dataclass
class _Run:
    run_id: str
    turn: int
    start: float
    model: str | None
    end: float | None = None
    usage: Usage | None = None
    estimate: tuple[int | None, int | None] | None = None
    failed: bool = False


@dataclass
class _Call:
    payload: AuditCall
    turn: int
    run_id: str | None = None
    answers: bool = False
    findings: list[str] = field(default_factory=list)


class AuditLedger:
    """Keeps the session's audit calls and model runs (a bus sink); `report()` reconciles them."""

    def __init__(self, prices: PriceBook | None = None) -> None:
        self.prices = prices
        self._calls: list[tuple[AuditCall, int]] = []
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        kind = event.kind
        if kind == AUDIT_CALL and isinstance(event.payload, AuditCall):
            with self._lock:
                self._calls.append((event.payload, event.turn))
        elif kind in (CHAT_MODEL_START, LLM_START) and event.run_id:
            with self._lock:
                self._runs[event.run_id] = _Run(event.run_id, event.turn, event.wall, event.payload.get("model"))
        elif kind in (LLM_END, LLM_ERROR) and event.run_id:
            with self._lock:
                run = self._runs.get(event.run_id)
                if run is None:
                    return
                run.end = event.wall
                if kind == LLM_ERROR:
                    run.failed = True
                    return
                p = event.payload
                run.usage = p.get("usage")
                run.estimate = (p.get("prompt_tokens_estimate"), p.get("completion_tokens_estimate"))

    @property
    def calls(self) -> int:
        return len(self._calls)

    def report(self) -> dict[str, Any]:
        """The `audit` object of `trace --json` (its `calls` empty before the proxy saw any)."""
        with self._lock:
            calls = [_Call(p, turn) for p, turn in sorted(self._calls, key=lambda pair: pair[0].started)]
            runs = sorted(self._runs.values(), key=lambda r: r.start)
            usages = [r.usage for r in self._runs.values() if r.usage is not None]
        self._match(calls, runs)
        by_id = {run.run_id: run for run in runs}
        of_run: dict[str, list[_Call]] = {}
        for call in calls:
            if call.run_id is not None:
                of_run.setdefault(call.run_id, []).append(call)
        found: Counter[str] = Counter()
        out = []
        for call in calls:
            run = by_id.get(call.run_id) if call.run_id else None
            self._findings(call, run, of_run.get(call.run_id, []), found)
            out.append(_call_json(call, run))
        provider = _sum(_wire(c.payload.provider_usage) for c in calls)
        callback = _sum(_callback(u) for u in usages)
        provider["calls"], callback["runs"] = len(calls), len(usages)
        findings = [{"kind": kind, "count": n, "advice": ADVICE[kind]} for kind, n in found.most_common()]
        return {"calls": out, "totals": {"provider": provider, "callback": callback}, "findings": findings}

    @staticmethod
    def _match(calls: list[_Call], runs: list[_Run]) -> None:
        starts = [run.start for run in runs]
        answered: set[str] = set()
        for call in calls:
            p = call.payload
            if p.api not in RUN_APIS:
                continue
            best, best_key = None, None
            upto = bisect.bisect_right(starts, p.started + SLACK)
            for run in runs[max(0, upto - LOOKBACK):upto]:
                if run.turn != call.turn or (run.end is not None and run.end < p.started):
                    continue
                if p.model_asked and run.model and p.model_asked.lower() != run.model.lower():
                    continue
                key = (run.run_id in answered, not _same_usage(p, run), run.start)
                if best_key is None or key < best_key:
                    best, best_key = run, key
            if best is not None:
                call.run_id = best.run_id
                if 200 <= p.status < 300 and best.run_id not in answered:
                    answered.add(best.run_id)
                    call.answers = True

    def _findings(self, call: _Call, run: _Run | None, siblings: list[_Call], found: Counter[str]) -> None:
        """The call's findings (`siblings`: every call of its run, itself included), counted per kind in `found`."""
        p = call.payload

        def add(kind: str, n: int = 0) -> None:
            call.findings.append(_title(kind, call, n))
            found[kind] += 1

        wire = p.provider_usage
        if p.api == "embeddings":
            add("embeddings")
        elif p.api in RUN_APIS and call.run_id is None:
            add("no_run")
        ended = p.status < 300 and not p.client_gone  # a stream the program hung up on never got to its usage
        if p.stream and p.usage_requested is False and wire is None and ended:
            add("stream_without_usage")
        elif p.stream and p.usage_requested and wire is None and ended:
            add("usage_not_sent")
        retried = not call.answers and any(c.answers for c in siblings)  # a later call of its run succeeded
        if len(siblings) > 1 and call.answers:
            add("retry", len(siblings))
        elif p.status >= 400 and retried:
            call.findings.append(f"retried: HTTP {p.status}")
        if p.status >= 400 and not retried:
            add("http_error")
        if call.answers and run is not None and wire is not None and wire.total:
            mine = run.usage
            if not p.model_answered:  # LangChain's response_metadata then has no model_name either
                add("callback_no_model_name")
            if mine is None or (mine.input_tokens + mine.output_tokens) == 0:
                add("callback_zero")
            else:
                if (mine.input_tokens, mine.output_tokens) != (wire.prompt, wire.completion):
                    add("usage_differs")
                if wire.cached and not mine.cached_input_tokens:
                    add("cached_dropped")
        if wire is not None and wire.cached and self.prices is not None:
            match = self.prices.lookup(p.model_answered or p.model_asked)
            if match.price is not None and match.price.cached_input_per_m is None:
                add("cached_not_priced")
        if p.unparsed_bytes:
            add("unparsed")


def _same_usage(call: AuditCall, run: _Run) -> bool:
    """The run's callback usage is exactly what this call's response carried: the strongest sign they belong."""
    wire, mine = call.provider_usage, run.usage
    return wire is not None and mine is not None and (wire.prompt, wire.completion) == (
        mine.input_tokens, mine.output_tokens)


def _wire(usage) -> dict[str, int] | None:
    return None if usage is None else {key: getattr(usage, key) or 0 for key in USAGE_KEYS}


def _callback(usage: Usage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {"prompt": usage.input_tokens, "completion": usage.output_tokens,
            "cached": usage.cached_input_tokens or 0, "reasoning": usage.reasoning_tokens or 0,
            "total": usage.total_tokens}


def _sum(usages) -> dict[str, int]:
    total = dict.fromkeys(USAGE_KEYS, 0)
    for usage in usages:
        if usage:
            for key in USAGE_KEYS:
                total[key] += usage[key]
    return total


def _call_json(call: _Call, run: _Run | None) -> dict[str, Any]:
    p = call.payload
    estimate = None
    if call.answers and run is not None and run.estimate and run.estimate[0] is not None:
        estimate = {"prompt": run.estimate[0], "completion": run.estimate[1]}
    return {"call": p.call, "endpoint": p.endpoint, "api": p.api, "model": p.model_answered or p.model_asked,
            "model_asked": p.model_asked, "model_answered": p.model_answered, "status": p.status,
            "latency_ms": p.latency_ms, "stream": p.stream, "usage_requested": p.usage_requested,
            "provider_usage": _wire(p.provider_usage),
            "callback_usage": _callback(run.usage) if call.answers and run is not None else None,
            "estimate": estimate, "run_id": call.run_id, "turn": call.turn, "request_bytes": p.request_bytes,
            "response_bytes": p.response_bytes, "findings": call.findings}
