"""The agent memory kinds in the app: their keys and palette commands, the counter at 80×24, lazy loading."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from textual.widgets import DataTable, Static

from flowertui.app.widgets.counter import TokenCounter
from flowertui.engine.kinds import AGENT_KINDS, KINDS
from tests.support.pilot import SIZE, make_app, ready, say, settle
from tests.support.rigs import LESSON


def _rows_shown(app) -> list[str]:
    """The kinds whose rows the counter's table shows now (it scrolls when the pane is short)."""
    table = app.query_one("#counter-table", DataTable)
    first, rows = int(table.scroll_y), table.scrollable_content_region.height - 1
    return list(KINDS[first:first + rows])


async def test_keys_6_to_8_and_the_palette_switch_to_the_agent_kinds():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("escape", "8")
        await settle(pilot)
        assert app.mode.kind == "agent_summary"
        palette = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {f"Memory: {kind}" for kind in AGENT_KINDS} <= set(palette)
        assert "SummarizationMiddleware" in palette["Memory: agent_summary"].help
        await palette["Memory: agent_window"].callback()
        await settle(pilot)
        assert app.mode.kind == "agent_window"
        await say(pilot, LESSON[0])
        row = app.ledger.turns("agent_window")[0]
        assert row.status == "done" and row.prompt_tokens > 0
        table = dict(app.key_table())
        assert "trim_messages" in table["6 · alt+6"] and "SummarizationMiddleware" in table["8 · alt+8"]
        await pilot.press("escape", "m")  # the next kind after agent_window
        await settle(pilot)
        assert app.mode.kind == "agent_tokens"


async def test_at_160_by_48_the_counter_shows_every_kind():
    app = make_app(compare=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        assert _rows_shown(app) == list(KINDS)
        assert all(row.turn == 1 for kind in KINDS for row in app.ledger.turns(kind))


async def test_at_80_by_24_the_counter_scrolls_to_the_active_kind_and_keeps_its_marks_line():
    app = make_app(compare=True, memory_kind="agent_summary")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        app.query_one("#side-tabs").active = "tab-counter"
        await settle(pilot)
        counter = app.query_one(TokenCounter)
        assert app.query_one("#counter-table", DataTable).row_count == len(KINDS)
        assert "agent_summary" in _rows_shown(app) and len(_rows_shown(app)) >= 2
        legend = app.query_one("#counter-legend", Static)
        assert legend.region.height == 1 and legend.region.bottom <= counter.content_region.bottom
        await pilot.press("escape", "1")
        await settle(pilot)
        await pilot.pause(0.1)
        assert app.mode.kind == "buffer" and _rows_shown(app)[0] == "buffer"


def test_the_app_starts_and_answers_without_importing_langchain_agents():
    code = textwrap.dedent("""
        import asyncio, sys
        from tests.support.pilot import make_app, ready, say
        async def main():
            app = make_app()
            async with app.run_test(size=(120, 40)) as pilot:
                await ready(pilot)
                await say(pilot, "hello")
                print("langchain.agents" in sys.modules)
        asyncio.run(main())
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.stdout.split()[-1:] == ["False"], done.stderr[-3000:]
