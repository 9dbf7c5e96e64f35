"""What the trace app draws per batch while a program streams: only what changed (speed itself: bench/trace_bench.py).

The trace app draws every batch as it comes; a streamed token must not rebuild the counter's tables, redraw the
status line, re-render the whole events table or lay the whole screen out again."""

from __future__ import annotations

import sys
import time

from rich.text import Text

import flowertui.app.trace_app as trace_app_module
from flowertui.app.trace_app import TraceApp
from flowertui.app.widgets.events_pane import EventsPane, EventsTable
from flowertui.app.widgets.token_stream import TokenStream, TokenText
from flowertui.app.widgets.trace_counter import TraceCounter
from flowertui.app.widgets.trace_status import TraceStatus
from flowertui.config import Settings
from flowertui.engine.events import PROBE_HELLO, RunEnd, RunStart, TraceSessionStart
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.providers import ProviderSettings
from tests.support.pilot import SIZE, side_panes, wait_until
from tests.support.traced import program

TOKENS = 112  # streams_paced.py's reply at REPEAT 8, one character a piece, 35 ms apart (batches stay apart under load)


async def test_a_streamed_token_redraws_only_the_token_pane_and_the_folded_rows_count_ends_exact(monkeypatch):
    # a fold redraws only with another row's change
    monkeypatch.setattr(trace_app_module, "FOLD_EVERY", 600.0, raising=False)
    batches, counter_redraws, status_draws, fold_updates, text_layouts = [], [], [], [], []
    in_add = []

    class Spied(TraceApp):
        async def draw(self, batch):
            batches.append(list(batch))
            await super().draw(batch)

    redraw = TraceCounter.redraw
    monkeypatch.setattr(TraceCounter, "redraw", lambda self: (counter_redraws.append(1), redraw(self)))
    draw, add = TraceStatus._draw, TraceStatus.add
    monkeypatch.setattr(TraceStatus, "_draw", lambda self: (status_draws.append(bool(in_add)), draw(self)))
    monkeypatch.setattr(TraceStatus, "add", lambda self, events: (in_add.append(1), add(self, events), in_add.pop()))
    update_row = EventsTable.update_row

    def spied_update(self, key, cells):
        if key.startswith("tokens:"):
            fold_updates.append(len(batches))
        return update_row(self, key, cells)

    monkeypatch.setattr(EventsTable, "update_row", spied_update)
    app = Spied(Settings(ProviderSettings(speed=0), MemorySettings()),
                [sys.executable, program("streams_paced.py"), "0.035", "8"])
    async with app.run_test(size=SIZE) as pilot:
        await side_panes(pilot)  # the program starts after them
        box = app.query_one("#token-text", TokenText)
        refresh = box.refresh
        box.refresh = lambda *a, layout=False, **k: (text_layouts.extend([1] if layout else []),
                                                     refresh(*a, layout=layout, **k))[1]
        await wait_until(pilot, lambda: app.returncode is not None and not app.inbox.pending, timeout=60)
        await pilot.pause(0.2)
        tokens_only = [b for b in batches if b and all(e.kind == "llm_new_token" for e in b)]
        assert len(tokens_only) > 10  # the program's pace: most batches carry a token or two and nothing else
        # the counter: rebuilt only for a batch with a call's end or a top-level run's start or end
        assert len(counter_redraws) == sum(
            any(e.kind == "llm_end" or (e.run_id and e.parent_run_id is None and e.kind != "llm_new_token") for e in b)
            for b in batches)
        # the status line: drawn by a batch only when the run's state changed
        assert sum(status_draws) == sum(any(isinstance(e.payload, (TraceSessionStart, RunStart, RunEnd))
                                            or e.kind == PROBE_HELLO for e in b) for b in batches)
        # the folded token row: redrawn with another row's change; for a batch of tokens alone once per FOLD_EVERY
        assert len(set(fold_updates) & {n for n, b in enumerate(batches, 1) if b in tokens_only}) <= 1
        pane = app.query_one(EventsPane)
        [fold] = [key for key in (str(k.value) for k in pane.table.rows) if key.startswith("tokens:")]
        kind, payload = (c.plain if isinstance(c, Text) else str(c) for c in (pane.table.get_cell(fold, "kind"),
                                                                            pane.table.get_cell(fold, "payload")))
        assert kind.endswith(f"×{TOKENS}") and f"{TOKENS} token events" in payload  # the end drew the full count
        # the token text: a layout only when it takes another line
        lines = box.size.height
        assert 1 <= len(text_layouts) <= lines + 1 < len(tokens_only)


async def test_a_burst_is_drawn_at_most_once_a_frame_and_every_token_reaches_the_panes():
    drawn: list[tuple[float, int]] = []

    class Spied(TraceApp):
        async def draw(self, batch):
            drawn.append((time.monotonic(), len(batch)))
            await super().draw(batch)

    app = Spied(Settings(ProviderSettings(speed=0), MemorySettings()),
                [sys.executable, program("streams_paced.py"), "0", "100"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.returncode is not None and not app.inbox.pending, timeout=60)
        await pilot.pause(0.2)
        assert app.query_one(TokenStream).tokens[-14:] == list("roses are red ")
        assert len(app.query_one(TokenStream).tokens) == 1400
    gaps = [later - earlier for (earlier, _), (later, _) in zip(drawn, drawn[1:])]
    assert max(size for _, size in drawn) > 1 and min(gaps) >= TraceApp.DRAW_INTERVAL * 0.9 > 0
