"""The first frame draws the side column as placeholders; the panes take their places just after it (speed: bench/)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from textual.widgets import Static

from flowertui.app.base import AppBase
from flowertui.app.widgets.counter import TokenCounter
from flowertui.app.widgets.events_pane import EventsPane
from flowertui.app.widgets.token_stream import TokenStream
from tests.support.pilot import make_app, ready, side_panes, wait_until

SIDE = ("side-tabs", "events-pane", "token-pane", "counter-pane")


@pytest.fixture
def held(monkeypatch):
    """The side panes are not mounted until the test calls `release(app)` (the app's loop keeps running)."""
    mount_side = AppBase._mount_side

    async def not_yet(self) -> None:
        pass

    monkeypatch.setattr(AppBase, "_mount_side", not_yet)
    return lambda app: app.call_later(mount_side, app)


def regions(app) -> dict[str, object]:
    return {name: app.query_one(f"#{name}").region for name in SIDE}


@pytest.mark.parametrize("size", [(160, 48), (100, 30), (80, 24)])
async def test_the_panes_take_their_placeholders_places_without_moving_the_layout(held, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.1)
        early = app.query_one("#events-pane")
        assert type(early) is Static and early.border_title == "Callback events"
        assert app.query_one("#counter-pane").border_title == "Tokens per memory kind"
        assert not app.side_mounted and app.live is None  # the engine starts once the panes are there
        before = regions(app)
        footer_row = app.query_one("#footer-placeholder")
        footer_before = (footer_row.region, footer_row.styles.background)
        held(app)
        await side_panes(pilot)
        await pilot.pause(0.1)
        assert regions(app) == before
        footer = app.query_one("AppFooter")  # the footer's keys come with the panes, on the row its placeholder kept
        assert (footer.region, footer.styles.background) == footer_before
        assert isinstance(app.query_one("#events-pane"), EventsPane)
        assert isinstance(app.query_one("#token-pane"), TokenStream)
        assert isinstance(app.query_one("#counter-pane"), TokenCounter)
        await ready(pilot)


async def test_keys_typed_before_the_panes_are_mounted_are_harmless_and_the_message_is_sent(held):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("alt+t", "ctrl+l", "escape", "f", "k", "p")  # theme, clear, leave the box, filter, fold
        assert app.focused is None and app.theme != "peony"
        await pilot.press(*"roses", "enter")  # typing goes back to the box; sent once the engine is ready
        held(app)
        await ready(pilot)
        await wait_until(pilot, lambda: app.ledger.totals("buffer").coverage == "1", what="the turn to be counted")
        assert app.query_one(EventsPane).mode == "all"  # `f` typed ahead of the pane changed nothing


async def test_the_footer_is_composed_once_while_the_app_starts_and_shows_the_keys(monkeypatch):
    """Textual's footer recomposes on every change of the bindings (five during a start, beside LangChain's import)."""
    from flowertui.app.widgets.app_footer import AppFooter

    recomposed = []
    recompose = AppFooter.recompose

    async def counted(self) -> None:
        recomposed.append(self)
        await recompose(self)

    monkeypatch.setattr(AppFooter, "recompose", counted)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        assert len(recomposed) == 1
        keys = " ".join(str(key.render()) for key in app.query_one(AppFooter).query("FooterKey"))
        assert "quit" in keys and "help" in keys
        await pilot.press("escape")  # leaving the box changes the bindings: the footer follows
        await wait_until(pilot, lambda: len(recomposed) >= 2, what="the footer to follow the focus")


async def test_the_start_s_interpreter_settings_are_undone_after_the_first_frame(held):
    """`flowertui` starts the app with the collector off and a short GIL switch interval (startup.py); the app
    undoes both with its side panes, once the first frame is out."""
    import gc

    from flowertui.app import startup

    interval = sys.getswitchinterval()
    startup.begin()
    try:
        app = make_app()
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0.1)
            assert not gc.isenabled() and sys.getswitchinterval() == pytest.approx(startup.SWITCH_INTERVAL)  # held
            held(app)
            await side_panes(pilot)
            assert gc.isenabled() and sys.getswitchinterval() == interval
            await ready(pilot)
    finally:
        startup.end()
        gc.unfreeze()


def test_the_command_line_starts_the_app_with_the_start_s_settings_and_undoes_them(tmp_path):
    """On while the app is built and runs until its first frame; undone even when the app ends before one."""
    code = (
        "import gc, sys; from textual.app import App; seen = []; interval = sys.getswitchinterval();"
        "App.run = lambda self, *a, **k: seen.append((gc.isenabled(), sys.getswitchinterval() < interval));"
        "import flowertui.cli as cli; cli._exit_now = lambda code: None; cli.main([]);"
        "assert seen == [(False, True)] and gc.isenabled() and sys.getswitchinterval() == interval, seen"
    )
    env = {**os.environ, "FLOWERTUI_DATA_DIR": str(tmp_path / "data"), "FLOWERTUI_CONFIG_DIR": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_first_frame_is_drawn_in_the_layout_of_the_terminal_s_width(monkeypatch, size):
    """Textual gives the screen its width class (`-narrow`: the side panes behind tabs) on the Resize that follows
    the first frame; the app gives it before, so the first frame is not the wide layout squeezed into 80 columns."""
    from textual.app import App

    first = []
    display = App._display

    def recorded(self, screen, renderable) -> None:
        if renderable is not None and not first:
            first.append((screen.has_class("-narrow"), screen.query_one("#token-pane").display))
        display(self, screen, renderable)

    monkeypatch.setattr(App, "_display", recorded)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
    narrow = size[0] < 120
    assert first == [(narrow, not narrow)]  # narrow: the token pane waits behind its tab
