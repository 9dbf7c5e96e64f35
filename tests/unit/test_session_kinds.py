"""A session's kind is recorded, read back the same way everywhere, and chooses its ledger and export sections."""

from __future__ import annotations

import json

import pytest

from flowertui.engine.events import Event, RunEnd, RunStart, TraceSessionStart, session_kind, trace_variant
from flowertui.engine.ledger import Ledger
from flowertui.engine.prices import PriceBook, load_prices
from flowertui.engine.session_kinds import LEDGER_OF, SessionKind, TraceVariant, ledger_of
from flowertui.engine.session_ledger import SessionLedger
from flowertui.engine.trace_ledger import TraceLedger
from flowertui.session.export import SECTIONS, ExportError, read_jsonl, to_jsonl, to_markdown
from flowertui.session.model import SessionData
from flowertui.trace.assembly import assemble_trace
from tests.support.rigs import LESSON, offline_rig

NO_PRICES = PriceBook({}, database=False)


def test_a_chat_session_says_it_is_one_and_its_ledger_is_chosen_by_that():
    rig = offline_rig()
    rig.conversation.ask(LESSON[0])
    data = SessionData.of(rig.events)
    assert rig.events[0].payload["session_kind"] == "chat" and data.kind == SessionKind.CHAT
    rebuilt = ledger_of(data.kind, data.events, rig.ledger.prices)
    assert isinstance(rebuilt, Ledger)
    assert rebuilt.total() == rig.ledger.total() and rebuilt.total().tokens > 0
    assert rebuilt.rows() == rig.ledger.rows()


@pytest.mark.parametrize("variant", list(TraceVariant))
def test_every_trace_variant_starts_its_session_alike(variant):
    events: list[Event] = []
    session = assemble_trace([events.append], prices=load_prices())
    session.start_session(variant, "app.py --flag")
    session.start_run("app.py --flag", 4242)
    session.end_run("turn_end", "exited 0", exit_code=0)
    start, run, end = (e.payload for e in events)
    assert isinstance(start, TraceSessionStart) and start.session_kind == "trace" and trace_variant(start) == variant
    assert start.command == "app.py --flag"
    assert isinstance(run, RunStart) and (run.command, run.pid, run.run) == ("app.py --flag", 4242, 1)
    assert isinstance(end, RunEnd) and (end.exit_state, end.exit_code, end.signal) == ("exited 0", 0, None)
    data = SessionData.of(events)
    assert data.kind == SessionKind.TRACE and isinstance(ledger_of(data.kind, events, NO_PRICES), TraceLedger)


def test_the_session_start_keys_do_not_depend_on_the_trace_variant():
    keys = set()
    for variant in TraceVariant:
        events: list[Event] = []
        assemble_trace([events.append], prices=NO_PRICES).start_session(variant, "x")
        keys.add(frozenset(events[0].payload))
    assert len(keys) == 1


def test_sessions_recorded_before_kinds_are_read_by_their_provider_and_mode():
    assert session_kind(None, "trace") == SessionKind.TRACE
    assert session_kind(None, "offline") == SessionKind.CHAT and session_kind(None, None) == SessionKind.CHAT
    assert session_kind("trace", "anything") == SessionKind.TRACE
    assert [trace_variant({"mode": m}) for m in ("trace", "listen", "watch")] == list(TraceVariant)
    assert trace_variant({}) == TraceVariant.RUN  # a trace that says nothing more was run by `flowertui trace`


def test_an_old_traced_jsonl_export_is_still_a_trace(tmp_path):
    events: list[Event] = []
    assemble_trace([events.append], prices=NO_PRICES).start_session(TraceVariant.RUN, "app.py")
    old = events[0].to_dict()
    del old["payload"]["session_kind"], old["payload"]["trace_variant"]
    old["payload"].update(mode="trace", provider="trace", model="app.py")  # as versions before kinds wrote it
    path = tmp_path / "old.jsonl"
    header = {"schema": 1, "flowertui": "0.1.0", "provider": "trace", "model": "app.py",
              "session_id": old["session_id"]}
    path.write_text(json.dumps(header) + "\n" + json.dumps(old) + "\n", "utf-8")
    data = read_jsonl(path)
    assert data.kind == SessionKind.TRACE
    assert "## Tokens per model" in to_markdown(data, ledger_of(data.kind, data.events, NO_PRICES))


def test_an_unknown_session_kind_in_a_jsonl_file_is_refused_with_the_file_named(tmp_path):
    rig = offline_rig()
    rig.conversation.ask(LESSON[0])
    text = to_jsonl(SessionData.of(rig.events)).replace('"session_kind": "chat"', '"session_kind": "poem"', 1)
    path = tmp_path / "odd.jsonl"
    path.write_text(text, "utf-8")
    with pytest.raises(ExportError, match="odd.jsonl"):
        read_jsonl(path)


def test_every_kind_has_a_session_ledger_and_export_sections():
    assert set(LEDGER_OF) == set(SECTIONS) == set(SessionKind)
    for make in LEDGER_OF.values():
        ledger = make(NO_PRICES)
        assert isinstance(ledger, SessionLedger) and ledger.total().tokens == 0 and ledger.rows() is not None
