"""Replay pacing: the recorded spacing scaled by --time-scale, pauses longer than --max-gap shortened."""

from __future__ import annotations

import threading
import time

import pytest

from flowertui.engine.events import Event
from flowertui.engine.session_kinds import SessionKind, ledger_of
from flowertui.session.model import SessionData
from flowertui.session.replay import MAX_GAP, Replay, play, resume_point
from tests.support.rigs import LESSON, offline_rig


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


def test_the_resume_point_takes_the_memory_the_sessions_ledger_followed_last():
    rig = offline_rig("buffer")
    rig.conversation.ask(LESSON[0])
    rig.conversation.switch("window")
    rig.conversation.set_compare(True)
    rig.conversation.ask(LESSON[1])
    data = SessionData.of(rig.events)
    point = resume_point(data, ledger_of(SessionKind.CHAT, data.events, {}))
    assert (point.memory_kind, point.compare) == (rig.ledger.mode.kind, rig.ledger.mode.compare)
    assert (point.memory_kind, point.compare) == ("window", True)
    assert point.transcript == tuple(rig.conversation.transcript) and point.last_turn == 2
    assert point.last_seq == rig.events[-1].seq
