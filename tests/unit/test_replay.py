"""Replay pacing: the recorded spacing scaled by --time-scale, pauses longer than --max-gap shortened."""

from __future__ import annotations

import threading
import time

import pytest

from flowertui.engine.events import Event
from flowertui.session.replay import MAX_GAP, Replay, play


def _events(*monos: float) -> list[Event]:
    return [Event(seq=n, wall=m, mono=m, session_id="s", turn=1, kind="text", name="t", scope="app")
            for n, m in enumerate(monos, start=1)]


def _played(events: list[Event], replay: Replay) -> tuple[list[Event], float]:
    seen: list[Event] = []
    start = time.monotonic()
    play(events, seen.append, replay, threading.Event())
    return seen, time.monotonic() - start


def test_an_idle_pause_is_shortened_to_the_gap_cap():
    events = _events(0.0, 0.1, 480.1, 480.2)  # eight minutes between a session's end and its resume
    seen, took = _played(events, Replay(time_scale=1, max_gap=0.3))
    assert seen == events
    assert 0.45 <= took < 2.0  # 0.1 + 0.3 (capped) + 0.1


def test_the_time_scale_divides_the_capped_pauses():
    events = _events(0.0, 0.4, 100.0)
    _, took = _played(events, Replay(time_scale=2, max_gap=0.4))
    assert 0.35 <= took < 1.5  # (0.4 + 0.4) / 2


def test_short_pauses_keep_their_recorded_length_and_zero_is_instant():
    events = _events(0.0, 0.3, 0.6)
    _, took = _played(events, Replay())
    assert 0.55 <= took < 1.5
    _, took = _played(_events(0.0, 300.0), Replay(time_scale=0))
    assert took < 0.2


@pytest.mark.parametrize(("replay", "says"), [
    (Replay(), f"1× speed, pauses cut to {MAX_GAP:g} s"),
    (Replay(2, float("inf")), "2× speed"),
    (Replay(0), "instant"),
])
def test_a_replay_says_how_it_is_paced(replay, says):
    assert replay.describe() == says
