"""`flowertui trace --audit` in the app: the counter's summary line and `a`'s table, live and in a replay."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from textual.widgets import DataTable, Static

from flowertui.app.screens.audit import AuditScreen
from flowertui.app.trace_app import TraceApp
from flowertui.config import Settings
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.providers import ProviderSettings
from tests.app.test_trace_app import cells
from tests.support.pilot import SIZE, side_panes, wait_until
from tests.support.traced import program


def summary(app: TraceApp) -> str:
    return str(app.query_one("#audit-summary", Static).render())


async def test_the_audit_shows_under_the_counter_and_on_a_live_and_replayed():
    from flowertui.session.replay import Replay, load_session

    settings = Settings(ProviderSettings(speed=0), MemorySettings())
    app = TraceApp(settings, [sys.executable, program("audit_offline.py")], offline=True, audit=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.returncode is not None, timeout=90)
        # the summary is reconciled as events come: the calls can be in before the runs' tokens are drawn
        await wait_until(pilot, lambda: "audit: 3 calls (1 without a run)" in summary(app)
                         and "2 findings · a: details" in summary(app))
        await pilot.press("escape")
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, AuditScreen))
        rows = cells(app.screen.query_one("#audit-calls", DataTable))
        assert rows[0].startswith("1 chat 200 — — ") and "stream without" in rows[0]
        assert rows[2].startswith("3 embeddings 200 ") and "embeddings: no LangChain callback" in rows[2]
        await pilot.press("escape")
        session_id = app.session_id
        await pilot.press("ctrl+q")

    data = load_session(session_id, Path(os.environ["FLOWERTUI_DATA_DIR"]) / "sessions.sqlite3")
    replay = TraceApp(settings, None, history=data, replay=Replay(time_scale=0))
    async with replay.run_test(size=SIZE) as pilot:
        await side_panes(pilot)
        await wait_until(pilot, lambda: "audit: 3 calls (1 without a run)" in summary(replay))
        assert replay.check_action("audit", ())
