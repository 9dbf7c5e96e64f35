"""Summary memories pay once per turn: kept across switches and compare mode, saved with the session, restored on resume."""

from __future__ import annotations

import threading
import time

import pytest

from flowertui.engine.assembly import assemble
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.session_kinds import SessionKind, ledger_of
from flowertui.engine.prices import Price, PriceBook, load_prices
from flowertui.engine.providers import ProviderSettings
from flowertui.engine.runner import CONSENT_TOKENS, Cancelled
from flowertui.engine.scripts import load_script
from flowertui.session.replay import load_session, resume_point
from flowertui.session.store import SessionStore, SessionWriter
from tests.support.rigs import LESSON, offline_rig, record_session, summary_text


def _catch_up_starts(rig, kind: str) -> list:
    return [e for e in rig.kinds("memory_catchup_start") if e.memory_kind == kind]


def test_a_summary_switched_away_and_back_reads_only_the_turns_it_missed():
    rig = offline_rig("buffer")
    rig.conversation.ask(LESSON[0])
    rig.conversation.ask(LESSON[1])
    rig.conversation.switch("summary")
    paid = rig.ledger.totals("summary").catch_up_tokens
    assert paid > 0
    rig.conversation.switch("buffer")
    rig.conversation.switch("summary")  # 3 → 1 → 3 with no new turn: nothing to read
    assert len(_catch_up_starts(rig, "summary")) == 1
    assert rig.ledger.totals("summary").catch_up_tokens == paid
    rig.conversation.switch("buffer")
    rig.conversation.ask(LESSON[2])
    rig.conversation.switch("summary")  # one turn missed: one turn read
    assert [e.payload["turns"] for e in _catch_up_starts(rig, "summary")] == [2, 1]
    assert "粉色" in summary_text(rig.conversation.memory) or "玫瑰" in summary_text(rig.conversation.memory)


def test_compare_mode_after_summary_catches_up_only_the_kinds_that_never_read():
    rig = offline_rig("buffer")
    for user in LESSON:
        rig.conversation.ask(user)
    rig.conversation.switch("summary")
    rig.conversation.switch("buffer")
    rig.conversation.set_compare(True)
    assert [e.memory_kind for e in rig.kinds("memory_catchup_start")] == ["summary", "summary_buffer"]
    rig.conversation.set_compare(False)
    rig.conversation.set_compare(True)
    assert len(rig.kinds("memory_catchup_start")) == 2


def _resume(sid, path, **kwargs):
    """Resume the recorded session as the app does: its ledger, its resume point, the writer; catch up."""
    data = load_session(sid, path)
    ledger = ledger_of(SessionKind.CHAT, data.events, load_prices())
    resume = resume_point(data, ledger)
    writer = SessionWriter(path, ledger, recorded=True)
    events = []
    live = assemble(ProviderSettings(speed=0), MemorySettings(), sinks=[events.append, writer], session_id=sid,
                    memory_kind=kwargs.get("kind", resume.memory_kind), compare=resume.compare, resume=resume,
                    ledger=ledger)
    try:
        live.conversation.catch_up()
    finally:
        writer.close()
    return live, events


def test_a_resume_restores_every_summary_memory_and_spends_nothing():
    rig, path = record_session(load_script("week"), "buffer", compare=True)
    states = [e for e in rig.events if e.kind == "memory_state"]
    assert {e.memory_kind for e in states} == {"summary", "summary_buffer", "agent_summary"}
    assert set(states[-1].payload) == {"turns", "summary", "kept_messages"}
    live, events = _resume(rig.bus.session_id, path)
    assert not [e for e in events if e.kind.startswith("memory_catchup")]
    assert not [e for e in events if e.kind == "llm_end"]
    for kind in ("summary", "summary_buffer"):
        before = rig.conversation.kept[kind].load_memory_variables({"input": "x"})
        assert live.conversation.kept[kind].load_memory_variables({"input": "x"}) == before
        assert live.conversation.read[kind] == 10
    texts = [(m.type, m.text) for m in rig.conversation.kept["agent_summary"].messages]
    assert texts[0][1].startswith("Here is a summary")  # the week is long enough to have been summarised
    assert [(m.type, m.text) for m in live.conversation.kept["agent_summary"].messages] == texts


def test_a_session_without_memory_state_pays_once_and_records_it_without_a_turn():
    rig, path = record_session(LESSON, "summary")
    sid = rig.bus.session_id
    store = SessionStore(path)
    with store.db:  # as a session recorded by an older version: no memory_state events
        store.db.execute("DELETE FROM events WHERE kind = 'memory_state'")
    total_before = store.sessions()[0].total_tokens
    store.close()
    live, events = _resume(sid, path)
    ends = [e for e in events if e.kind == "memory_catchup_end"]
    assert len(ends) == 1 and ends[0].payload["total_tokens"] > 0
    store = SessionStore(path)
    assert "memory_catchup_end" in [e.kind for e in store.events(sid)]  # saved though no turn followed
    assert store.sessions()[0].total_tokens == total_before + ends[0].payload["total_tokens"]
    store.close()
    live, events = _resume(sid, path)  # the catch-up's state was saved too: the next resume pays nothing
    assert not [e for e in events if e.kind.startswith("memory_catchup")]


def _paced(kind: str, turns: list[str], *, compare: bool = False, speed: float = 60.0):
    """A recorded transcript (unpaced), then a conversation over it on a paced offline assistant."""
    rig, path = record_session(turns, "buffer")
    data = load_session(rig.bus.session_id, path)
    ledger = ledger_of(SessionKind.CHAT, data.events, load_prices())
    events = []
    live = assemble(ProviderSettings(speed=speed), MemorySettings(), sinks=[events.append],
                    memory_kind=kind, compare=compare, resume=resume_point(data, ledger), ledger=ledger)
    return live, events


def _cancel_when(conversation, events, predicate) -> threading.Event:
    fired = threading.Event()

    def watch(event):
        if not fired.is_set() and predicate(event):
            fired.set()
            conversation.cancel()

    conversation.bus.subscribe(watch)
    return fired


def test_a_cancelled_catch_up_stops_between_calls_keeps_what_it_read_and_records_it():
    live, events = _paced("buffer", load_script("week"), speed=400)
    conversation = live.conversation
    ended, cancelled_at = [], []
    _cancel_when(conversation, events, lambda e: e.kind == "llm_end" and e.maintenance and ended.append(e) is None
                 and len(ended) == 2 and cancelled_at.append(time.monotonic()) is None)
    with pytest.raises(Cancelled):
        conversation.switch("summary")
    assert time.monotonic() - cancelled_at[0] < 0.5
    end = [e for e in events if e.kind == "memory_catchup_end"][-1]
    assert end.payload["cancelled"] and end.payload["read"] == 2 and end.payload["calls"] == 2
    assert conversation.active == "buffer" and conversation.read["summary"] == 2
    assert [e.payload["turns"] for e in events if e.kind == "memory_state"] == [2]
    assert live.ledger.totals("summary").catch_up_tokens == end.payload["total_tokens"] > 0
    conversation.switch("summary")  # later, only the 8 turns it has not read
    assert [e.payload["turns"] for e in events if e.kind == "memory_catchup_start"] == [10, 8]


def test_a_cancel_while_compare_mode_feeds_the_other_kinds_closes_the_turn_at_once():
    live, events = _paced("buffer", LESSON[:2], compare=True, speed=20)
    conversation = live.conversation
    conversation.catch_up()
    cancelled_at = []
    _cancel_when(conversation, events, lambda e: e.kind == "chat_model_start" and e.maintenance and e.turn == 3
                 and cancelled_at.append(time.monotonic()) is None)
    result = conversation.ask(LESSON[2])
    assert result.status == "cancelled" and time.monotonic() - cancelled_at[0] < 0.5
    assert len(conversation.transcript) == 2 and all(read == 2 for read in conversation.read.values())
    row = live.ledger.turns("buffer")[-1]
    assert row.status == "cancelled" and row.counted and row.prompt_tokens > 0
    assert LESSON[2] not in conversation.kept["buffer"].buffer  # every memory is back before the turn


def test_a_catch_up_asks_only_when_it_sends_more_than_the_limit_to_a_priced_model():
    rig = offline_rig("buffer")
    for user in load_script("week"):
        rig.conversation.ask(user)
    plan = rig.conversation.plan(kind="summary")
    assert plan.kinds == ("summary",) and plan.turns == 10 and plan.input_tokens > CONSENT_TOKENS
    assert plan.cost == 0 and not plan.needs_consent  # the offline assistant costs nothing: never asked
    rig.ledger.prices = PriceBook({rig.conversation.model_name: Price("USD", 0.15, 0.60)}, database=False)
    plan = rig.conversation.plan(kind="summary")
    assert plan.cost > 0 and plan.needs_consent
    asked = []
    rig.conversation.consent = lambda p: asked.append(p) or False
    with pytest.raises(Cancelled):
        rig.conversation.switch("summary")
    assert len(asked) == 1 and rig.conversation.active == "buffer" and not rig.kinds("memory_catchup_start")
    assert not rig.conversation.plan(kind="window").kinds  # nothing to summarise: nothing to ask
    rig.ledger.prices = PriceBook({}, database=False)
    assert not rig.conversation.plan(kind="summary").needs_consent  # no price: a local model, never asked


def test_a_resumed_agent_summary_pays_for_its_next_turn_what_the_unbroken_session_paid():
    whole = offline_rig("agent_summary")
    for user in load_script("week"):
        whole.conversation.ask(user)
    rig, path = record_session(load_script("week")[:9], "agent_summary")
    live, events = _resume(rig.bus.session_id, path)
    assert not [e for e in events if e.kind == "llm_end"]  # resuming paid nothing
    live.conversation.ask(load_script("week")[9])
    resumed, unbroken = live.ledger.turns("agent_summary")[-1], whole.ledger.turns("agent_summary")[-1]
    assert resumed.turn == unbroken.turn == 10
    assert (resumed.prompt_tokens, resumed.maintenance_tokens) == (unbroken.prompt_tokens, unbroken.maintenance_tokens)
