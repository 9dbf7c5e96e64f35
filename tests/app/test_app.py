"""The app driven as a user would: Pilot presses keys, the offline assistant answers."""

from __future__ import annotations

import json

from rich.text import Text
from textual.widgets import DataTable, Static

from flowertui.app.screens.event_detail import EventDetail
from flowertui.app.screens.help import HelpScreen
from flowertui.app.widgets.conversation import AssistantTurn
from flowertui.app.widgets.counter import TokenCounter
from flowertui.app.widgets.events_pane import EventsPane
from flowertui.app.widgets.token_stream import TokenStream
from flowertui.engine.kinds import KINDS
from flowertui.engine.providers import ProviderSettings
from tests.support.faults import closed_port_url
from tests.support.pilot import SIZE, cancel_after, make_app, ready, say, settle, wait_until
from tests.support.rigs import LESSON


def cell_text(table: DataTable, row: str, column: str) -> str:
    value = table.get_cell(row, column)
    return value.plain if isinstance(value, Text) else str(value)


async def test_the_lesson_streams_into_every_pane():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for line in LESSON:
            await say(pilot, line)
        replies = [turn.text for turn in app.query(AssistantTurn)]
        assert len(replies) == 3
        assert "姐姐" in replies[2] and "生日" in replies[2]
        assert app.live.conversation.transcript[2][1] == replies[2]

        pane = app.query_one(EventsPane)
        table = pane.table
        kinds = [cell_text(table, key.value, "kind").strip() for key in table.rows]
        turn_one = kinds[kinds.index("turn_start"): kinds.index("turn_end") + 1]
        assert [k.split(" ×")[0] for k in turn_one] == [
            "turn_start", "chain_start", "text", "chat_model_start", "llm_new_token", "llm_end", "chain_end", "turn_end"]
        scopes = {cell_text(table, key.value, "scope").strip() for key in table.rows}
        assert {"req", "app"} <= scopes

        stream = app.query_one(TokenStream)
        assert "".join(stream.tokens) == replies[2]
        assert stream.reported == app.live.ledger.turns("buffer")[-1].completion_tokens
        assert stream.ttft is not None and stream.state == "done"

        counter = app.query_one(TokenCounter)
        total = cell_text(counter.query_one(DataTable), "buffer", "total").strip()
        assert int(total) == app.live.ledger.totals("buffer").total_tokens > 0
        assert cell_text(counter.query_one(DataTable), "window", "total").strip() == "—"


async def test_keys_pick_and_cycle_memory_kinds_and_the_transcript_carries_over():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        await pilot.press("escape")
        for key, kind in zip("23456781", KINDS[1:] + KINDS[:1], strict=True):
            await pilot.press(key)
            await settle(pilot)
            assert app.mode.kind == kind == app.live.conversation.active
        await pilot.press("m")
        await settle(pilot)
        assert app.mode.kind == "window"
        await pilot.press("m", "m")
        await settle(pilot)
        assert app.mode.kind == "summary_buffer"
        await say(pilot, LESSON[2])
        assert "姐姐" in list(app.query(AssistantTurn))[-1].text
        counter = app.query_one(TokenCounter).query_one(DataTable)
        assert cell_text(counter, "summary_buffer", "kind").startswith("▶")
        assert cell_text(counter, "summary_buffer", "turns").strip() == "2"


async def test_compare_mode_fills_every_kinds_row_with_estimates_marked():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("escape", "c")
        await settle(pilot)
        assert app.mode.compare
        await say(pilot, LESSON[0])
        await say(pilot, LESSON[1])
        counter = app.query_one(TokenCounter).query_one(DataTable)
        for kind in KINDS:
            prompt = cell_text(counter, kind, "prompt").strip()
            assert prompt.lstrip("~").isdigit()
            assert prompt.startswith("~") == (kind != "buffer")
        assert int(cell_text(counter, "summary", "maintenance")) > 0


async def test_escape_cancels_a_streaming_reply_and_memory_does_not_keep_it():
    app = make_app(ProviderSettings(speed=20))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await cancel_after(pilot, LESSON[0], tokens=1)
        turn = app.query_one(AssistantTurn)
        assert turn.has_class("cancelled")
        assert 0 < len(turn.text) < 60
        assert app.live.conversation.transcript == []
        assert app.live.conversation.memory.buffer == ""
        assert app.query_one("#status").state == "cancelled"


async def test_markup_and_escape_sequences_show_literally_and_trigger_nothing():
    from tests.support.openai_server import OpenAIServer, Reply

    nasty = ["[/bold] ", "[@click=app.quit]x[/] ", "\x1b]0;pwned\x07", "\x1b[31mred\x1b[0m ", "[link=file:///etc/passwd]x[/link]"]
    with OpenAIServer(Reply(pieces=nasty)) as server:
        app = make_app(ProviderSettings(provider="compatible", model="qwen-turbo", base_url=server.base_url,
                                        api_key="sk-test-key-0000000000000000", max_retries=0, timeout=10))
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await say(pilot, "[/bold] [@click=app.quit]quit[/] me \x1b[2J")
            reply = app.query_one(AssistantTurn).text
            assert reply == "[/bold] [@click=app.quit]x[/] red [link=file:///etc/passwd]x[/link]"
            user = app.query_one(".user-turn", Static)
            assert str(user.render()) == "[/bold] [@click=app.quit]quit[/] me"
            await pilot.click(".user-turn")
            assert app.is_running
            assert "".join(app.query_one(TokenStream).tokens) == reply


async def test_a_provider_failure_is_shown_and_the_turn_can_be_sent_again():
    app = make_app(ProviderSettings(provider="compatible", model="qwen-turbo", base_url=closed_port_url(),
                                    max_retries=0, timeout=5))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        turn = app.query_one(AssistantTurn)
        assert turn.has_class("failed")
        assert "Connection" in str(turn.query_one(".turn-note", Static).render())
        assert app.query_one("#status").state == "error"
        assert app.live.conversation.transcript == []
        kinds = [e.kind for e in app.query_one(EventsPane).events]
        assert "llm_error" in kinds and "turn_error" in kinds
        await pilot.press("escape", "2")
        await settle(pilot)
        assert app.mode.kind == "window"
        box = app.query_one("#message")
        box.focus()
        await pilot.press("up")
        assert box.value == LESSON[0]


async def test_event_filter_token_toggle_and_detail_screen():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        pane = app.query_one(EventsPane)
        folded = pane.table.row_count
        await pilot.press("escape", "k")
        assert pane.every_token and pane.table.row_count > folded + 50
        await pilot.press("k", "f")
        assert pane.mode == "no tokens"
        assert all("llm_new_token" not in cell_text(pane.table, k.value, "kind") for k in pane.table.rows)
        await pilot.press("f")
        assert pane.mode == "errors" and pane.table.row_count == 0
        await pilot.press("f", "f")
        assert pane.mode == "all"
        pane.table.focus()
        pane.table.move_cursor(row=2)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EventDetail))
        shown = json.loads(app.screen.query_one("#detail-json").text)
        assert shown["kind"] == "chain_start" and shown["scope"] == "request"
        await pilot.press("escape")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")


async def test_clear_empties_the_panes_but_not_the_session():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert app.query_one(EventsPane).table.row_count == 0
        assert not app.query(AssistantTurn)
        assert len(app.live.conversation.transcript) == 1


async def test_typing_after_escape_goes_back_to_the_message_box():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("escape")
        assert app.focused is not app.query_one("#message")
        await pilot.press("h", "i")
        assert app.focused is app.query_one("#message")
        assert app.query_one("#message").value == "hi"


async def test_a_fast_typist_after_escape_sends_the_message():
    """Keys that arrive together (a paste, a fast typist) all reach the box, Enter included."""
    from textual import events

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("escape")
        for key, char in [("h", "h"), ("i", "i"), ("enter", "\r")]:
            app.post_message(events.Key(key, char))
        await wait_until(pilot, lambda: app.live.conversation.transcript)
        assert app.live.conversation.transcript[0][0] == "hi"
        assert not isinstance(app.screen, EventDetail)


async def test_a_narrow_terminal_stacks_the_side_panes_under_tabs():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        assert app.screen.has_class("-narrow")
        shown = [p.id for p in app.query(".pane") if p.display and p.styles.display != "none"]
        assert app.query_one("#side-tabs").styles.display == "block"
        assert shown == ["events-pane"]
        app.query_one("#side-tabs").active = "tab-counter"
        await pilot.pause(0.1)
        assert [p.id for p in app.query(".pane") if p.styles.display != "none"] == ["counter-pane"]


async def test_the_keymap_from_the_config_remaps_a_key():
    app = make_app(keymap={"compare": "x"})
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("escape", "x")
        await settle(pilot)
        assert app.mode.compare
        assert any(k == "x · alt+x" and d.startswith("compare mode") for k, d in app.key_table())
