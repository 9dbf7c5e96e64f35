"""Every provider fault in the app: it keeps running, says what happened, and lets the user carry on."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static

from flowertui.app.widgets.conversation import AssistantTurn
from flowertui.app.widgets.events_pane import EventsPane
from tests.support.pilot import SIZE, make_app, notices, ready, say, settle
from tests.support.faults import provider, serving
from tests.support.faults import FAULTS, PLANTED_KEY
from tests.support.openai_server import Reply

ASK = "我姐姐明天过生日，推荐什么花？"


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
async def test_fault_in_the_app(fault):
    with serving(fault, Reply()) as (server, url):
        app = make_app(provider(url, fault))
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await ready(pilot)
            await say(pilot, ASK)
            turn = list(app.query(AssistantTurn))[-1]
            kinds = [e.kind for e in app.query_one(EventsPane).events]
            assert kinds.count("retry") == fault.retries
            if fault.fails:
                note = str(turn.query_one(".turn-note", Static).render())
                assert turn.has_class("failed") and fault.says in note and PLANTED_KEY not in note
                assert app.query_one("#status").state == "error"
                assert "llm_error" in kinds and app.live.conversation.transcript == []
                if server is not None:  # send it again (↑ brings it back), then switch memory
                    box = app.query_one("#message")
                    box.focus()
                    await pilot.press("up", "enter")
                    await settle(pilot)
                    assert list(app.query(AssistantTurn))[-1].text == "Pink roses suit a birthday."
                    await pilot.press("escape", "2")
                    await settle(pilot)
                    assert app.live.conversation.active == "window"
                    assert app.live.conversation.memory.buffer.count(ASK) == 1
            else:
                assert turn.text == fault.shown and not turn.has_class("failed")
                counter = app.query_one("#counter-table", DataTable)
                assert counter.get_cell("buffer", "prompt").plain.strip().endswith("?") == fault.usage_missing
            assert app.is_running
            shown = " ".join(str(w.render()) for w in app.query(Static))
            assert PLANTED_KEY not in shown and "\x1b" not in shown
            assert not any(PLANTED_KEY in n for n in notices(app))
