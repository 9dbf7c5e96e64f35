"""Where a cost comes from is on screen: the counter's prices line and the trace counter's models table."""

from __future__ import annotations

import sys

from rich.text import Text
from textual.widgets import DataTable, Static

from flowertui.app.trace_app import TraceApp
from flowertui.config import Settings
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.providers import ProviderSettings
from tests.support.pilot import SIZE, make_app, ready, say, side_panes, wait_until
from tests.support.rigs import LESSON
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.traced import program


async def test_the_counter_names_the_price_database_for_a_dated_model_and_the_cost_is_known():
    with OpenAIServer(Reply(model="gpt-4o-mini-2024-07-18")) as server:
        app = make_app(ProviderSettings(provider="compatible", model="gpt-4o-mini-2024-07-18", base_url=server.base_url,
                                        api_key="sk-" + "p" * 30, timeout=10.0))
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await say(pilot, LESSON[0])
            line = app.query_one("#counter-prices", Static)
            assert line.display
            assert str(line.render()) == "prices: gpt-4o-mini-2024-07-18 from genai-prices as gpt-4o-mini"
            cost = app.query_one("#counter-table", DataTable).get_cell("buffer", "cost")
            assert (cost.plain if isinstance(cost, Text) else str(cost)).strip().startswith("$0.0000")


async def test_the_trace_counter_says_where_each_models_price_comes_from():
    with OpenAIServer(Reply(model="gpt-4o-mini-2024-07-18")) as server:
        app = TraceApp(Settings(ProviderSettings(speed=0), MemorySettings()),
                       [sys.executable, program("lesson.py"), server.base_url])
        async with app.run_test(size=SIZE) as pilot:
            await side_panes(pilot)
            table = app.query_one("#trace-models", DataTable)
            await wait_until(pilot, lambda: table.row_count and table.get_row_at(0)[1] == 2, timeout=60)
            row = [c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(0)]
            assert row[0] == "gpt-4o-mini-2024-07-18" and row[-2].startswith("$0.0000") and row[-1] == "genai-prices"
