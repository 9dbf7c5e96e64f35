"""A quit can come at any moment: what was due after the next frame (the side panes' mount, the counter's plot, the
footer's fit) then runs as the app closes, its screen being emptied. It does nothing, and no traceback reaches the
terminal (a CI run's replay test, and a quit 0.65 s after launch in tmux, printed one)."""

from __future__ import annotations

import asyncio

from flowertui.app.base import AppBase
from flowertui.app.widgets.counter import TokenCounter
from tests.support.pilot import make_app, side_panes, wait_until


def quit_after(monkeypatch, cls: type, name: str) -> None:
    """`cls.name` quits the app as soon as it has run: what it left due runs as the app closes."""
    method = getattr(cls, name)

    def then_quit(self, *args, **kwargs):
        method(self, *args, **kwargs)
        self.app.exit()

    monkeypatch.setattr(cls, name, then_quit)


def due_as_it_closes(app, callback) -> asyncio.Task:
    """Run callback on the app's loop once the app has begun to close, as a callback due after a frame can."""

    async def wait() -> None:
        while app.is_running:
            await asyncio.sleep(0)
        app.call_next(callback)

    return asyncio.get_running_loop().create_task(wait())


async def test_the_side_panes_due_as_the_app_closes_mount_nothing(monkeypatch):
    mount_side = AppBase._mount_side

    async def not_yet(self) -> None:
        pass

    monkeypatch.setattr(AppBase, "_mount_side", not_yet)
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        assert not app.side_mounted
        closing = due_as_it_closes(app, lambda: mount_side(app))
    await closing
    assert not app.side_mounted


async def test_the_counter_s_plot_due_as_the_app_closes_mounts_nothing(monkeypatch):
    quit_after(monkeypatch, TokenCounter, "add")
    app = make_app()
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: not app.is_running, what="the app to quit")
    assert not app.query("#counter-plot")


async def test_a_footer_fit_due_as_the_app_closes_does_nothing():
    """The footer is fitted after the frame that follows a resize: a terminal resized as the user quits."""
    app = make_app()
    async with app.run_test() as pilot:
        await side_panes(pilot)
        closing = due_as_it_closes(app, app._fit_footer)
    await closing
    assert app.return_code in (None, 0)
