"""The first frame draws the side column as placeholders; the panes take their places once the engine is ready."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
        assert not app.side_mounted
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


async def test_the_engine_is_ready_before_the_side_panes_which_then_show_its_first_events(held):
    """Ready to send first (speed): the side panes mount once the status line says idle, with the events before."""
    from flowertui.app.widgets.status import StatusLine

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.query_one(StatusLine).state == "idle" and app.live is not None,
                         what="the engine to be ready")
        assert not app.side_mounted
        assert type(app.query_one("#events-pane")) is Static  # still the placeholder
        held(app)
        await ready(pilot)
        kinds = [event.kind for event in app.query_one(EventsPane).events]
        assert kinds[:1] == ["session_start"]  # drawn before the pane was there, shown once it is


async def test_the_frame_that_says_idle_is_out_before_the_side_panes_mount(monkeypatch):
    """The status line's repaint reaches the screen at its own idle, after a callback "after the refresh" may
    already have run: the panes' ≈ 60 ms mount then went first and held back the frame that says ready to send."""
    from textual.app import App

    from flowertui.app.widgets.status import StatusLine

    shown: list[str] = []  # the status line's state in each frame, and where the side panes began to mount
    display, mount_side = App._display, AppBase._mount_side

    def displayed(self, screen, renderable) -> None:
        if renderable is not None:
            shown.append(self.query_one(StatusLine).state)
        display(self, screen, renderable)

    async def mounting(self) -> None:
        shown.append("mount")
        await mount_side(self)

    monkeypatch.setattr(App, "_display", displayed)
    monkeypatch.setattr(AppBase, "_mount_side", mounting)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
    assert "idle" in shown[:shown.index("mount")]


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


async def test_an_engine_that_cannot_start_still_gets_the_side_panes_mounted(monkeypatch):
    """The panes wait for the engine's first events; an engine that fails to build brings none, and they come anyway."""
    import flowertui.engine.assembly
    from flowertui.app.widgets.status import StatusLine

    def broken(*args, **kwargs):
        raise ValueError("no such provider")

    monkeypatch.setattr(flowertui.engine.assembly, "assemble", broken)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.query_one(StatusLine).state == "error", what="the engine's problem")
        await side_panes(pilot)
        assert isinstance(app.query_one("#events-pane"), EventsPane) and app.live is None


def test_what_the_engine_s_import_made_is_frozen_out_of_the_collector_s_reach_once_ready(tmp_path):
    """Speed: the collector does not walk LangChain's objects during its import nor after; it runs again once ready.
    What the import made is frozen before the heap is held once ready (which would freeze it too, later)."""
    code = (
        "import asyncio, gc\n"
        "import flowertui.app.heap as heap\n"
        "from tests.support.pilot import make_app, ready, wait_until\n"
        "frozen, hold = [], heap.hold\n"
        "heap.hold = lambda: (frozen.append((gc.isenabled(), gc.get_freeze_count())), hold())\n"
        "async def main():\n"
        "    app = make_app()\n"
        "    async with app.run_test(size=(160, 48)) as pilot:\n"
        "        await ready(pilot)\n"
        "        await wait_until(pilot, lambda: frozen, what='the heap held')\n"
        "    (enabled, count), = frozen\n"
        "    assert enabled and count > 100_000, frozen\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "FLOWERTUI_DATA_DIR": str(tmp_path / "data"), "FLOWERTUI_CONFIG_DIR": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr


async def test_a_token_pane_whose_text_was_not_mounted_as_the_app_closed_mounts_without_an_error():
    """The side panes mount after the engine's first events: a quit (or a replay test's end) can catch the token
    pane half-composed, its scroll there and the text in it not; its mount then does nothing."""
    from textual.app import App
    from textual.containers import VerticalScroll

    class HalfComposed(TokenStream):
        def compose(self):
            yield Static(id="token-stats")
            yield VerticalScroll(id="token-scroll")

    class Host(App):
        def compose(self):
            yield HalfComposed(id="token-pane")

    app = Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.query_one(HalfComposed).is_mounted
    assert app.return_code in (None, 0)


async def test_the_start_s_interpreter_settings_hold_for_the_first_frame_and_not_the_engine_s_import(monkeypatch):
    """`flowertui` starts the app with the collector off and a short GIL switch interval (startup.py); the app
    undoes both once the first frame is out, before its engine's import (which the short interval would slow)."""
    import gc

    from textual.app import App

    import flowertui.engine.assembly as assembly
    from flowertui.app import startup

    settings = lambda: (gc.isenabled(), sys.getswitchinterval())  # noqa: E731
    first_frame, at_assembly = [], []
    display, assemble = App._display, assembly.assemble

    def displayed(self, screen, renderable) -> None:
        if renderable is not None and not first_frame:
            first_frame.append(settings())
        display(self, screen, renderable)

    def assembled(*args, **kwargs):
        at_assembly.append(settings())
        return assemble(*args, **kwargs)

    monkeypatch.setattr(App, "_display", displayed)
    monkeypatch.setattr(assembly, "assemble", assembled)
    interval = sys.getswitchinterval()
    startup.begin()
    try:
        app = make_app()
        async with app.run_test(size=(160, 48)) as pilot:
            await ready(pilot)
    finally:
        startup.end()
        gc.unfreeze()
    assert first_frame == [(False, pytest.approx(startup.SWITCH_INTERVAL))]
    assert at_assembly == [(True, interval)]


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


async def test_the_ledger_is_made_on_the_ui_thread_before_the_engine_s_worker_starts(monkeypatch):
    """The worker reads it (resume, writer, engine) and so may a key pressed meanwhile (alt+m reads the mode): made
    lazily by whichever came first, two threads could each make one on a Python whose cached_property has no lock."""
    import threading

    from flowertui.app.app import ChatApp

    seen = []
    boot = ChatApp.boot

    def booting(self):
        seen.append(("ledger" in self.__dict__, threading.current_thread() is threading.main_thread()))
        return boot(self)

    monkeypatch.setattr(ChatApp, "boot", booting)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
    assert seen == [(True, True)]
