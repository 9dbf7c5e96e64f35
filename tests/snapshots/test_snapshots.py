"""The main screen after the lesson's conversation, in a dark and a light theme, with a frozen clock."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from tests.support.pilot import SIZE, make_app, ready, say
from tests.support.rigs import LESSON


@pytest.fixture
def frozen_clock(monkeypatch):
    """Every event is stamped 10 ms after the previous one, whatever the machine's speed; the session id is fixed."""
    ticks = itertools.count()
    clock = SimpleNamespace(monotonic=lambda: 100 + next(ticks) * 0.01, time=lambda: 1_790_000_000.0)
    monkeypatch.setattr("flowertui.engine.bus.time", clock)
    monkeypatch.setattr("flowertui.engine.bus.uuid", SimpleNamespace(uuid4=lambda: SimpleNamespace(hex="snapshot")))


async def _lesson(pilot) -> None:
    await ready(pilot)
    for line in LESSON:
        await say(pilot, line)
    pilot.app.query_one("#events-table").focus()
    await pilot.pause(0.2)


@pytest.mark.parametrize("theme", ["peony", "camellia"])
def test_main_screen_after_the_lesson(snap_compare, frozen_clock, theme):
    app = make_app(theme=theme)
    assert snap_compare(app, terminal_size=SIZE, run_before=_lesson)
