"""The chat app's keys as a user meets them: the keymap checked, the export dialog by keyboard, the history's
draft, and the memory and theme keys while typing, mid-reply included."""

from __future__ import annotations


import pytest
from rich.text import Text
from textual import events
from textual.widgets import Footer, Static

from flowertui.app.screens.export_dialog import ExportDialog
from flowertui.app.screens.help import HelpScreen
from flowertui.app.widgets.conversation import AssistantTurn
from flowertui.app.widgets.events_pane import EventsPane
from flowertui.app.widgets.token_stream import TokenStream
from flowertui.engine.providers import ProviderSettings
from flowertui.session.model import SessionData
from flowertui.session.replay import Replay
from tests.support.pilot import SIZE, make_app, ready, say, settle, side_panes, wait_until
from tests.support.rigs import LESSON, record_session


def _notes(app) -> list[str]:
    """Every notification the app raises from now on (their text)."""
    notes: list[str] = []
    notify = app.notify

    def spy(message, *args, **kwargs):
        notes.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = spy
    return notes


def _plain(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def _footer(app) -> dict[str, str]:
    """The main screen's footer: action -> the key it shows."""
    footer = app.screen_stack[0].query_one(Footer)
    return {key.action: key.key_display for key in footer.query("FooterKey")}


# 5. the keymap is checked -------------------------------------------------------------------------------------
async def test_a_bad_key_name_and_an_unknown_id_are_named_and_the_defaults_stay():
    app = make_app(keymap={"quit": "ctrl+!!bad", "no.such": "x"})
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        text = "\n".join(notes)
        assert "ctrl+!!bad" in text and "no.such" in text
        assert _footer(app)["quit"] == "^q"
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running)


async def test_a_key_claimed_twice_is_named_with_both_ids_and_neither_takes_it():
    app = make_app(keymap={"help": "1"})
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert any("memory.buffer" in note and "help" in note for note in notes)
        await pilot.press("escape", "2")  # window
        await settle(pilot)
        await pilot.press("1")  # still memory.buffer's, not help's
        await settle(pilot)
        assert app.mode.kind == "buffer" and not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")  # help keeps its own key
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_every_place_that_shows_a_key_shows_the_one_in_force():
    app = make_app(keymap={"help": "f1", "cancel": "ctrl+g", "theme.next": "ctrl+t", "memory.window": "w"})
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        placeholder = app.query_one("#message").placeholder
        assert "f1 for help" in placeholder and "^g for keys" in placeholder and "?" not in placeholder
        footer = _footer(app)
        assert footer["help"] == "f1" and footer["next_theme"] == "^t" and footer["cancel"] == "^g"
        assert footer["memory('buffer')"] == "alt+1/alt+w/alt+3/alt+4/alt+5/alt+6/alt+7/alt+8"
        table = dict(app.key_table())
        assert table["f1"].startswith("what each pane") and table["^t"].startswith("next flower theme")
        assert table["w · alt+w"].startswith("memory kind window")
        palette = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert palette["Help"].endswith("(key: f1)")
        await pilot.press("ctrl+g", "w")
        await settle(pilot)
        assert app.mode.kind == "window"
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))


# 6. the export dialog by keyboard -----------------------------------------------------------------------------
async def test_e_enter_exports_and_the_format_follows_the_path_and_is_remembered(tmp_path, monkeypatch):
    monkeypatch.setattr("flowertui.paths.platformdirs.user_documents_dir", lambda: str(tmp_path))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        session = app.live.bus.session_id
        await pilot.press("escape", "e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog))
        await pilot.pause(0.1)
        assert app.focused.id == "export-path"
        await pilot.press("enter")
        first = tmp_path / f"flowertui-{session}.jsonl"
        await wait_until(pilot, first.exists)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog))
        await pilot.pause(0.1)
        box = app.screen.query_one("#export-path")
        box.value = ""
        await pilot.press(*str(tmp_path / "notes.md"))  # typed: the extension picks Markdown
        assert app.screen.query_one("#export-format").value == "md"
        await pilot.press("enter")
        await wait_until(pilot, (tmp_path / "notes.md").exists)
        assert (tmp_path / "notes.md").read_text("utf-8").startswith("#")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog))
        await pilot.pause(0.1)
        assert app.screen.query_one("#export-format").value == "md"  # remembered for the session
        assert app.screen.query_one("#export-path").value.endswith(f"flowertui-{session}.md")


# 10. the history keeps the draft ------------------------------------------------------------------------------
async def test_down_past_the_newest_entry_gives_back_the_draft():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        box = app.query_one("#message")
        await pilot.press(*"my draft", "up")
        assert box.value == LESSON[0]
        await pilot.press("down")
        assert box.value == "my draft"


# 11. memory and theme keys while typing, mid-reply ------------------------------------------------------------
async def test_alt_keys_switch_memory_and_theme_mid_reply_without_leaving_the_box():
    app = make_app(ProviderSettings(speed=2))  # slow enough to still stream while the keys are pressed
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        notes = _notes(app)
        box = app.query_one("#message")
        box.value = LESSON[0]
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.turn_running)
        await pilot.press(*"next one")
        theme = app.theme
        assert app.turn_running
        await pilot.press("alt+2", "alt+t", "alt+c")
        assert app.focused is box and box.value == "next one"  # still typing, nothing typed by the keys
        assert app.theme != theme
        assert any("window from the next turn" in note for note in notes), notes
        assert any("Compare mode on from the next turn" in note for note in notes)
        assert app.turn_running  # said at once, while the reply still streams
        await pilot.press("escape")  # cancels the reply; the switches follow it
        await settle(pilot)
        assert app.mode.kind == "window" and app.mode.compare
        assert {"memory('buffer')": "alt+1-8", "compare": "alt+c", "next_theme": "alt+t"}.items() <= _footer(app).items()



async def _from_terminal(pilot, data: str) -> None:
    """Send `data` as a terminal would: bytes through Textual's own input parser (a real XTermParser, Escape's
    wait included), its key events to the app the way the driver delivers them."""
    from textual import constants
    from textual._xterm_parser import XTermParser

    parser = XTermParser()
    keys = list(parser.feed(data))
    await pilot.pause(constants.ESCAPE_DELAY + 0.05)  # xterm and tmux: Alt+key is Esc, then the key
    keys += list(parser.tick())
    for key in keys:
        pilot.app._driver.process_message(key)
    await pilot.pause()


async def test_alt_digits_as_xterm_and_tmux_send_them_switch_memory_and_type_nothing():
    """Alt+2 arrives as Esc 2, which Textual reads as macOS's Option character `™`: the box took it as text."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        box = app.query_one("#message")
        await pilot.press(*"my draft")
        for data, kind in (("\x1b2", "window"), ("\x1b5", "token_buffer"), ("\x1b1", "buffer")):
            await _from_terminal(pilot, data)
            await settle(pilot)
            assert app.mode.kind == kind and app.focused is box and box.value == "my draft", (data, box.value)
        await _from_terminal(pilot, "\x1bc")  # alt+c, as before
        await settle(pilot)
        assert app.mode.compare and box.value == "my draft"
        await _from_terminal(pilot, "\x1b")  # Esc alone still leaves the box; then 2 is memory.window's key
        await _from_terminal(pilot, "2")
        await settle(pilot)
        assert app.mode.kind == "window" and app.focused is not box and box.value == "my draft"


async def test_alt_keys_with_their_character_as_a_plain_terminal_sends_them_are_commands_never_text():
    """Without the kitty protocol alt+c arrives as Escape, `c`: Textual reports alt+c carrying the character c."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        box = app.query_one("#message")
        await pilot.press(*"pink")
        box.cursor_position = 2
        theme = app.theme
        for key in ("alt+c", "alt+t", "alt+2"):
            app.post_message(events.Key(key, key[-1]))
            await pilot.pause()
        await wait_until(pilot, lambda: app.mode.kind == "window" and app.mode.compare and app.theme != theme,
                         what="compare, the next theme and window memory")
        assert box.value == "pink" and box.cursor_position == 2 and app.focused is box
        app.post_message(events.Key("alt+z", "z"))  # bound to nothing: its character is typed, as before
        await pilot.pause()
        assert box.value == "piznk" and box.cursor_position == 3
        app.post_message(events.Key("question_mark", "?"))  # the box holds text: a question mark is text
        await pilot.pause()
        assert box.value == "piz?nk" and not isinstance(app.screen, HelpScreen)
        box.value = ""
        app.post_message(events.Key("question_mark", "?"))  # an empty box: help's
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        assert box.value == ""


# 7. type-ahead ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("enter", ["ctrl+j", "enter"])  # ctrl+j: Enter while the terminal is still in line mode
async def test_messages_typed_ahead_in_one_burst_are_each_sent_as_typed_in_order(slow_engine, enter):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for char in "first roses\nsecond tulips\n":  # all queued at once, as a terminal delivers typed-ahead keys
            key = enter if char == "\n" else ("space" if char == " " else char)
            app.post_message(events.Key(key, "\r" if key == "enter" else char))
        await wait_until(pilot, lambda: len(app.query(".user-turn")) == 2)
        assert [_plain(w) for w in app.query(".user-turn")] == ["first roses", "second tulips"]
        assert len(app.query(".waiting")) == 2  # both shown at once, waiting
        slow_engine.set()
        await wait_until(pilot, lambda: app.live is not None and len(app.live.conversation.transcript) == 2)
        await settle(pilot)
        assert [t[0] for t in app.live.conversation.transcript] == ["first roses", "second tulips"]
        assert [_plain(w) for w in app.query(".user-turn")] == ["first roses", "second tulips"]
        assert not app.query(".waiting") and len(app.query(AssistantTurn)) == 2
        assert app.query_one("#message").value == ""


# 8. ctrl+l mid-stream -----------------------------------------------------------------------------------------
async def test_clear_mid_stream_clears_what_was_shown_and_shows_what_comes_next():
    app = make_app(ProviderSettings(speed=10))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        box = app.query_one("#message")
        box.value = LESSON[0]
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query(AssistantTurn) and len(app.query_one(AssistantTurn).text) > 5)
        await pilot.press("ctrl+l")
        await pilot.pause(0.1)
        assert not app.query(".user-turn")  # cleared
        stream = app.query_one(TokenStream)
        await settle(pilot)
        reply = app.live.conversation.transcript[0][1]
        shown = app.query(AssistantTurn)
        assert len(shown) == 1 and shown[0].text == reply  # the reply, once it ended, is shown
        assert stream.tokens and stream.state == "done" and stream.query_one("#token-text").render().plain  # shown
        assert "0 pieces" not in _plain(app.query_one("#token-stats"))


# 9. typing during a replay ------------------------------------------------------------------------------------
async def test_typing_in_a_replay_goes_nowhere_and_names_the_replays_keys():
    rig, _ = record_session(LESSON[:1])
    app = make_app(history=SessionData.of(rig.events), replay=Replay(time_scale=0))
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(app.recorded) == len(rig.events))
        box = app.query_one("#message")
        await pilot.press(*"hi")
        await pilot.pause(0.2)
        assert box.disabled and box.value == "" and app.focused is not box
        assert len([n for n in notes if n.startswith("A replay sends nothing")]) == 1
        assert "e export" in notes[-1] and "memory" not in notes[-1]  # a replay calls no model


# 14. messages and edges ---------------------------------------------------------------------------------------
async def test_after_a_catch_up_the_status_line_at_160_columns_keeps_its_cost_and_the_session_id():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        await pilot.press("escape", "3")  # summary: a catch-up over the first turn
        await settle(pilot)
        line = _plain(app.query_one("#status"))
        assert "↻" in line and "tok" in line and ("¥" in line or "free" in line or "no price" in line)
        assert line.rstrip().endswith(app.live.bus.session_id[:8])


def _footer_keys(app) -> dict[str, object]:
    return {key.action: key for key in app.screen_stack[0].query_one(Footer).query("FooterKey")}


async def test_at_80_by_24_the_footer_fits_and_always_shows_help():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.pause(0.3)
        for focused in (True, False):  # typing in the (empty) message box, then with the keys
            keys = _footer_keys(app)
            assert "help" in keys and "quit" in keys and "memory('buffer')" in keys
            assert all(0 < key.region.right <= 80 for key in keys.values())
            await pilot.press("escape")
            await pilot.pause(0.3)
        app.query_one("#message").focus()
        await pilot.press("question_mark")  # the hint says "? for help": in an empty box it is
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await pilot.press("a", "question_mark")  # a question mark in a message is text
        assert app.query_one("#message").value == "a?" and not isinstance(app.screen, HelpScreen)


async def test_the_replay_note_reads_as_english():
    rig, _ = record_session(LESSON[:1])
    app = make_app(history=SessionData.of(rig.events), replay=Replay(time_scale=0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(app.recorded) == len(rig.events))
        note = app.query_one("#message").placeholder
        assert note == f"Replay of {rig.bus.session_id}, instant: no model is called"


async def test_a_folded_token_line_shows_its_whole_count():
    rig, _ = record_session(LESSON[:1])
    app = make_app(history=SessionData.of(rig.events), replay=Replay(time_scale=0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(app.recorded) == len(rig.events))
        await side_panes(pilot)
        pane = app.query_one(EventsPane)
        token = next(e for e in rig.events if e.kind == "llm_new_token")
        assert pane._depth.get(token.run_id, 0) >= 1  # indented under its chain
        assert pane._kind_cell(token, 3003).plain.endswith("llm_new_token ×3,003")


def test_the_markdown_footnote_for_estimated_covers_cancelled_replies():
    from flowertui.session.export import to_markdown

    rig, _ = record_session(LESSON[:1])
    page = to_markdown(SessionData.of(rig.events), rig.ledger)
    footnote = next(line for line in page.splitlines() if line.startswith("`estimated`"))
    assert "compare mode" in footnote and "cancelled" in footnote


def test_a_cost_of_nothing_or_without_a_price_is_said_in_words():
    from flowertui.app.widgets.status import cost_words

    assert cost_words(None, None) == "no price" and cost_words(0.0, "CNY") == "free"
    assert cost_words(0.0012, "CNY").startswith("¥0.0012")


async def test_a_catch_up_on_an_unpriced_model_says_no_price_in_the_status_line():
    from dataclasses import replace

    from flowertui.app.widgets.status import StatusLine

    rig, _ = record_session(LESSON[:1])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        status = app.query_one(StatusLine)
        end = replace(rig.events[-1], kind="memory_catchup_end", memory_kind="summary",
                      payload={"total_tokens": 0, "cost": None, "currency": None})
        status.add([end])
        line = _plain(status)
        assert "no price" in line and "price unknown" not in line


async def test_the_help_screen_describes_the_alt_keys_and_the_keymap_rules():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")  # in the empty message box
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert "**alt+1**…**alt+5**" in help_screen.panes and "claimed by two commands" in help_screen.panes
        assert dict(help_screen.keys)["c · alt+c"].startswith("compare mode")
