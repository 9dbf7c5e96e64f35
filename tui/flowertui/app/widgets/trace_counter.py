"""Tokens and cost of a traced program per model and per top-level run, read from the trace ledger."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from flowertui.engine.events import LLM_END, LLM_NEW_TOKEN, Event
from flowertui.engine.prices import SOURCE_WORDS, format_cost
from flowertui.engine.trace_ledger import TraceLedger

LEGEND = "? usage not reported: tiktoken estimate   … run in progress"
SHOWN_RUNS = 200


class TraceCounter(Vertical):
    """Draws the session's trace ledger (the engine feeds it from the bus); events only say when to redraw."""

    def __init__(self, ledger: TraceLedger, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ledger = ledger

    def compose(self) -> ComposeResult:
        models = DataTable(id="trace-models", cursor_type="none", zebra_stripes=True)
        for label, key in (("model", "model"), ("calls", "calls"), ("prompt", "prompt"), ("compl", "completion"),
                           ("total", "total"), ("cost", "cost"), ("price from", "price")):
            models.add_column(label, key=key)
        yield models
        runs = DataTable(id="trace-runs", cursor_type="none", zebra_stripes=True)
        for label, key in (("top-level run", "name"), ("type", "type"), ("run", "turn"), ("time", "duration"),
                           ("tokens", "total")):
            runs.add_column(label, key=key)
        yield runs
        yield Static(LEGEND, id="counter-legend", markup=False)

    def add(self, events: list[Event]) -> None:
        """Redrawn when a call ends or a top-level run starts or ends; a streamed token changes no row (a run's
        later tokens carry no parent, so they looked top-level: both tables were rebuilt, and redrawn, per batch)."""
        if any(event.kind == LLM_END or (event.run_id and event.parent_run_id is None and event.kind != LLM_NEW_TOKEN)
               for event in events):
            self.redraw()

    def redraw(self) -> None:
        rows = self.ledger.rows()
        models = self.query_one("#trace-models", DataTable)
        models.clear()
        for row in rows.models:
            mark = row.marks
            models.add_row(Text(row.model), row.calls, row.prompt_tokens, row.completion_tokens,
                           f"{row.total_tokens}{mark}", format_cost(*row.cost), SOURCE_WORDS[row.price_source])
        runs = self.query_one("#trace-runs", DataTable)
        runs.clear()
        for run in rows.runs[-SHOWN_RUNS:]:
            took = "…" if run.status == "running" else (f"{run.duration:.2f}s" if run.duration else "")
            mark = run.marks
            runs.add_row(Text(run.name), run.run_type, run.turn, took, f"{run.total_tokens}{mark}")
