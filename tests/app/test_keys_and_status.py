"""Keys, footer, palette and status line as a user meets them: at launch, at 100×30, and when things fail."""

from __future__ import annotations


import pytest
from rich.text import Text
from textual import events
from textual.widgets import Footer, Static

from flowertui.app.screens.export_dialog import ExportDialog
from flowertui.app.state import save_state
from flowertui.app.widgets.conversation import AssistantTurn
from flowertui.app.widgets.status import StatusLine
from flowertui.engine.kinds import MemoryMode
from flowertui.engine.providers import ProviderSettings
from flowertui.paths import data_dir
from flowertui.session.model import SessionData
from flowertui.session.replay import Replay
from tests.support.faults import closed_port_url
from tests.support.pilot import SIZE, make_app, notified, ready, say, settle, wait_until
from tests.support.rigs import LESSON

NARROW = (100, 30)


def _plain(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


async def test_a_message_sent_before_the_engine_is_ready_waits_in_the_conversation_then_goes(slow_engine):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"hello", "enter")
        await pilot.pause(0.2)
        assert app.live is None
        users = [_plain(w) for w in app.query(".user-turn")]
        assert users == ["hello"]
        assert "waiting" in _plain(app.query_one(".waiting"))
        assert app.query_one("#message").value == ""
        slow_engine.set()
        await wait_until(pilot, lambda: app.live is not None and app.live.conversation.transcript)
        await settle(pilot)
        assert app.live.conversation.transcript[0][0] == "hello"
        assert [_plain(w) for w in app.query(".user-turn")] == ["hello"]  # shown once, no longer waiting
        assert not app.query(".waiting")
        assert len(app.query(AssistantTurn)) == 1 and app.query_one(AssistantTurn).text


async def test_escape_takes_back_a_message_still_waiting_for_the_engine(slow_engine):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"hello", "enter")
        await pilot.pause(0.2)
        await pilot.press("escape")
        assert "not sent: cancelled" in _plain(app.query_one(".waiting"))
        slow_engine.set()
        await ready(pilot)
        assert app.live.conversation.transcript == []
        await say(pilot, "again")
        assert [t[0] for t in app.live.conversation.transcript] == ["again"]
        assert [_plain(w) for w in app.query(".user-turn")] == ["hello", "again"]


async def test_enter_typed_while_the_terminal_is_still_in_line_mode_sends_the_message():
    """Typed ahead of the app, Enter arrives as a line feed: ctrl+j."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for key, char in [("h", "h"), ("i", "i"), ("ctrl+j", "\n")]:
            app.post_message(events.Key(key, char))
        await wait_until(pilot, lambda: app.live.conversation.transcript)
        assert app.live.conversation.transcript[0][0] == "hi"


async def test_at_100_columns_the_footer_shows_every_essential_key_and_p_switches_the_side_pane():
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        await pilot.press("escape")
        await pilot.pause(0.3)
        footer = app.screen.query_one(Footer)
        keys = {key.action: key for key in footer.query("FooterKey")}
        essential = {"memory('buffer')", "compare", "cancel", "export", "next_pane", "next_theme", "clear", "help",
                     "quit"}
        assert essential <= set(keys)
        for action in essential:
            region = keys[action].region
            assert region.width > 0 and region.right <= NARROW[0], action
        shown = lambda: [p.id for p in app.query(".pane") if p.styles.display != "none"]  # noqa: E731
        assert shown() == ["events-pane"]
        await pilot.press("p")
        await pilot.pause(0.1)
        assert shown() == ["token-pane"]
        await pilot.press("p", "p")
        await pilot.pause(0.1)
        assert shown() == ["events-pane"]
        assert any(d.startswith("below 120 columns") for _, d in app.key_table())


async def test_the_side_pane_key_can_be_remapped_and_hides_when_every_pane_shows():
    app = make_app(keymap={"pane.next": "ctrl+o"})
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        await pilot.press("escape", "ctrl+o")
        await pilot.pause(0.1)
        assert app.query_one("#side-tabs").active == "tab-tokens"
    wide = make_app()
    async with wide.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert "next_pane" not in {key.action for key in wide.screen.query_one(Footer).query("FooterKey")}


async def test_every_binding_has_a_command_in_the_palette():
    """At 100 columns every key can act (wide, `p` has nothing to switch; a replay drops the model's keys)."""
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        commands = list(app.get_system_commands(app.screen))
        actions = {getattr(c.callback, "args", (None,))[0] for c in commands}
        for binding in app.BINDINGS:
            assert binding.action in actions, binding.id
        titles = [c.title for c in commands]
        assert len(titles) == len(set(titles))
        assert {"Export session", "Next memory kind", "Next theme"} <= set(titles)


async def test_export_from_the_palette_opens_the_dialog():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])  # a session has something to export from its first turn
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"export session")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog))


async def test_the_palette_screenshot_goes_to_an_existing_folder(tmp_path, monkeypatch):
    monkeypatch.setattr("flowertui.paths.platformdirs.user_documents_dir", lambda: str(tmp_path / "missing"))
    monkeypatch.setattr("platformdirs.user_downloads_dir", lambda: str(tmp_path / "missing"))
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        shots = [c for c in app.get_system_commands(app.screen) if c.title == "Screenshot"]
        assert len(shots) == 1
        shots[0].callback()
        await notified(pilot, "Saved to")
        assert list(data_dir().glob("flowertui-*.svg"))


def _unreachable(model: str) -> ProviderSettings:
    """A compatible provider on a loopback port nobody listens on: every turn fails at once."""
    return ProviderSettings(provider="compatible", model=model, base_url=closed_port_url(),
                            max_retries=0, timeout=5)


@pytest.mark.parametrize("width", [100, 160])
async def test_in_compare_mode_after_an_error_the_status_line_keeps_state_provider_model_and_memory(width):
    model = "qwen2.5-14b-instruct-q4"
    app = make_app(_unreachable(model), compare=True)
    async with app.run_test(size=(width, 40)) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        status = app.query_one(StatusLine)
        assert status.state == "error"
        await pilot.pause(0.1)
        line = _plain(status)
        for part in ("error", "compatible", model, "buffer", "compare"):
            assert part in line, (part, line)
        assert "…" not in line
        assert "Connection" in _plain(app.query_one(AssistantTurn).query_one(".turn-note"))


@pytest.mark.parametrize("width", [100, 160])
async def test_a_replay_of_a_failed_turn_keeps_provider_model_and_memory_in_the_status_line(width):
    from flowertui.engine.assembly import assemble
    from flowertui.engine.kinds import MemorySettings
    from flowertui.engine.runner import TurnFailed

    recorded = []
    live = assemble(_unreachable("qwen2.5-14b-instruct-q4"), MemorySettings(), memory_kind="buffer", compare=True,
                    sinks=[recorded.append])
    with pytest.raises(TurnFailed):
        live.conversation.ask(LESSON[0])
    app = make_app(history=SessionData.of(recorded), replay=Replay(time_scale=0))
    async with app.run_test(size=(width, 40)) as pilot:
        await wait_until(pilot, lambda: len(app.recorded) == len(recorded))
        await settle(pilot)
        line = _plain(app.query_one(StatusLine))
        for part in ("REPLAY", "error", "compatible", "qwen2.5-14b-instruct-q4", "buffer", "compare"):
            assert part in line, (part, line)


async def test_help_names_each_memory_kind_by_its_key():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = dict(app.key_table())
        assert "buffer" in table["1 · alt+1"] and "window" in table["2 · alt+2"] and "token_buffer" in table["5 · alt+5"]


async def test_an_unknown_theme_flag_is_named_even_when_a_theme_is_remembered():
    save_state({"theme": "camellia"})
    app = make_app(theme="nosuch")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        assert app.theme == "camellia"
        await notified(pilot, "nosuch")


async def test_a_narrow_status_line_gives_way_in_order_and_keeps_state_and_memory():
    """The widget alone at 60 columns, with a long model and a state detail (a host app, the real widget)."""
    from textual.app import App

    class Host(App[None]):
        def compose(self):
            yield StatusLine(MemoryMode("buffer", False), id="status")  # the app passes the ledger's mode down

    host = Host()
    async with host.run_test(size=(60, 3)) as pilot:
        status = host.query_one(StatusLine)
        status.provider, status.model, status.session = "compatible", "a-very-long-model-name-" * 3, "0123456789ab"
        status.mode.compare = True
        status.set_state("updating memory", "summary_buffer")
        await pilot.pause()
        line = _plain(status)
        assert len(line) <= 60
        assert line[1:].startswith(" updating memory │") and line.endswith("│ buffer +compare")
        assert "compatible · a-very" in line and "…" in line
        status.model = "m"
        status.set_state("updating memory", "summary_buffer")
        line = _plain(status)  # the session id, then the state's detail give way before the word "memory"
        assert line.endswith("│ compatible · m │ memory buffer +compare") and "summary_buffer" not in line
