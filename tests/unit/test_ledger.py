"""The session's one ledger: failed and cancelled turns, turn coverage, catch-ups, turn numbering."""

from __future__ import annotations

import pytest

from flowertui.engine.bus import EventBus
from flowertui.engine.ledger import Ledger, turn_ranges
from flowertui.engine.prices import load_prices
from flowertui.engine.runner import TurnFailed
from flowertui.run_script import ledger_table
from flowertui.session.export import FORMATS
from flowertui.session.model import SessionData
from flowertui.engine.session_kinds import SessionKind, ledger_of
from tests.support.faults import provider, serving
from tests.support.rigs import LESSON, offline_rig
from tests.support.faults import FAULTS
from tests.support.openai_server import Reply

UNAUTHORISED = next(f for f in FAULTS if f.name == "401 bad key")


def rebuild(events, prices) -> Ledger:
    """A ledger fed a recording's events, as replay and resume feed the app's."""
    return ledger_of(SessionKind.CHAT, events, prices)


def test_a_failed_turn_is_closed_and_later_turns_keep_a_known_cost():
    with serving(UNAUTHORISED, Reply()) as (_, url):
        rig = offline_rig("buffer", provider=provider(url, UNAUTHORISED))
        with pytest.raises(TurnFailed):
            rig.conversation.ask(LESSON[0])
        rig.conversation.ask(LESSON[0])
    failed, done = rig.ledger.turns("buffer")
    assert (failed.status, failed.total_tokens) == ("failed", 0)
    assert done.status == "done" and done.total_tokens > 0
    totals = rig.ledger.totals("buffer")
    assert totals.turns == (2,) and totals.coverage == "2"
    assert totals.cost is not None and totals.cost > 0 and totals.currency == "CNY"  # qwen-turbo has a price
    session = SessionData.of(rig.events)
    page = FORMATS["html"](session, ledger_of(SessionKind.CHAT, session.events, rig.ledger.prices))
    assert "price unknown" not in page  # the export rebuilds the same ledger from the events
    table = ledger_table(rig.ledger).splitlines()
    buffer = next(line for line in table if line.startswith("buffer"))
    assert buffer.split()[1] == "2" and "price unknown" not in buffer and "¥" in buffer


def test_a_cancelled_reply_counts_its_prompt_and_what_streamed_as_an_estimate():
    rig = offline_rig("buffer")
    rig.conversation.ask(LESSON[0])
    rig.cancel_on_token(10)
    result = rig.conversation.ask(LESSON[1])
    assert result.status == "cancelled"
    row = rig.ledger.turns("buffer")[-1]
    sent = next(e for e in rig.events if e.kind == "chat_model_start" and e.turn == 2)
    assert row.status == "cancelled" and row.estimated
    assert row.prompt_tokens == sent.payload["prompt_tokens_estimate"] > 0
    assert row.completion_tokens >= 10
    totals = rig.ledger.totals("buffer")
    assert totals.turns == (1, 2) and totals.estimated and totals.marks == "~"
    assert totals.cost == 0.0 and totals.currency == "CNY"


def test_coverage_names_exactly_the_turns_a_kind_counts():
    rig = offline_rig("buffer")
    for user in LESSON:
        rig.conversation.ask(user)
    rig.conversation.switch("window")
    rig.conversation.ask("还有别的推荐吗？")
    rig.conversation.switch("buffer")
    rig.conversation.ask("谢谢")
    rig.conversation.ask("再见")
    assert rig.ledger.totals("buffer").coverage == "1–3, 5–6"
    assert rig.ledger.totals("window").coverage == "4"
    buffer = rig.ledger.totals("buffer")
    assert buffer.total_tokens == sum(r.total_tokens for r in rig.ledger.turns("buffer"))
    assert [turn for turn, _ in buffer.points] == [1, 2, 3, 5, 6]


def test_compare_mode_covers_every_kind_from_the_turn_it_started():
    rig = offline_rig("buffer")
    rig.conversation.ask(LESSON[0])
    rig.conversation.set_compare(True)
    rig.conversation.ask(LESSON[1])
    rig.conversation.ask(LESSON[2])
    assert rig.ledger.totals("buffer").coverage == "1–3"
    assert rig.ledger.totals("window").coverage == "2–3"
    assert rig.ledger.totals("summary").coverage == "↻ 2–3"  # the summariser caught up on turn 1 first


def test_a_switch_to_a_summary_kind_is_a_catch_up_counted_in_its_totals():
    rig = offline_rig("buffer")
    for user in LESSON:
        rig.conversation.ask(user)
    rig.conversation.switch("summary")
    start, end = rig.kinds("memory_catchup_start", "memory_catchup_end")
    assert (start.memory_kind, start.payload["turns"]) == ("summary", 3)
    assert end.payload["calls"] == 3 and end.payload["total_tokens"] > 0
    totals = rig.ledger.totals("summary")
    assert totals.total_tokens == totals.catch_up_tokens == end.payload["total_tokens"]
    assert totals.turns == () and totals.coverage == "↻"
    assert rig.ledger.turns("summary") == []  # no turn row claims turn 3 for summary
    rebuilt = rebuild(rig.events, rig.ledger.prices)
    assert rebuilt.totals("summary") == totals


def test_a_ledger_rebuilt_from_events_matches_the_live_one():
    rig = offline_rig("buffer", compare=True)
    for user in LESSON:
        rig.conversation.ask(user)
    rebuilt = rebuild(rig.events, load_prices())
    assert rebuilt.rows() == rig.ledger.rows()
    assert rebuilt.mode == rig.ledger.mode


def test_turns_are_numbered_by_the_bus_only():
    bus = EventBus()
    assert bus.begin_turn() == 1 and bus.turn == 1
    with pytest.raises(AttributeError):
        bus.turn = 5  # type: ignore[misc]


def test_turn_ranges():
    assert turn_ranges([1, 2, 3, 5, 6, 9]) == "1–3, 5–6, 9"
    assert turn_ranges([]) == ""
