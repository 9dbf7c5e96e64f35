"""The event schema: typed payloads, the published JSON Schema, and old sessions still read."""


from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from flowertui.engine import events as ev
from flowertui.engine.bus import EventBus
from flowertui.engine.ledger import Ledger
from flowertui.engine.prices import PriceBook
from flowertui.engine.session_kinds import ledger_of
from flowertui.session.export import read_jsonl, to_jsonl, to_markdown
from flowertui.session.model import SessionData
from flowertui.session.store import SessionStore
from tests.support.schema import SCHEMA, check_event, check_header

NO_PRICES = PriceBook({}, database=False)

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "events"  # exported by flowertui before the schema (schema 1)


def _generator():
    spec = importlib.util.spec_from_file_location("make_events_schema", ROOT / "docs" / "make_events_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _valid_export(data: SessionData) -> list[dict]:
    lines = [json.loads(line) for line in to_jsonl(data).splitlines()]
    check_header(lines[0])
    for line in lines[1:]:
        check_event(line)
    return lines


def test_the_committed_schema_is_the_generated_one():
    assert (ROOT / "docs" / "events.schema.json").read_text("utf-8") == _generator().render(), \
        "run: python docs/make_events_schema.py"


def test_the_schema_has_one_definition_per_event_kind_discriminated_by_kind():
    kinds = {name.removeprefix("kind.") for name in SCHEMA["$defs"] if name.startswith("kind.")}
    assert kinds == set(ev.FAMILY_OF) == set(ev.PAYLOADS)
    turn_end = SCHEMA["$defs"]["kind.turn_end"]
    assert turn_end["properties"]["kind"] == {"const": "turn_end"}
    assert SCHEMA["$defs"]["RunEnd"]["required"] == ["exit_state", "exit_code"]
    assert "session_kind" in SCHEMA["$defs"]["TraceSessionStart"]["required"]


def test_an_old_chat_export_reads_typed_and_exports_valid():
    data = read_jsonl(FIXTURES / "old-chat.jsonl")
    assert data.header["session_kind"] == "chat" and data.header["provider"] == "offline"
    start = data.events[0].payload
    assert isinstance(start, ev.ChatSessionStart) and start.schema == 1 and start.memory_kind == "buffer"
    ends = [e.payload for e in data.events if e.kind == ev.LLM_END]
    assert ends and all(isinstance(p.usage, ev.Usage) and p.usage.output_tokens > 0 for p in ends)
    assert [t.user for t in data.turns()][0] and all(t.reply for t in data.turns())
    ledger = ledger_of(data.kind, data.events, NO_PRICES)
    assert isinstance(ledger, Ledger) and ledger.total().tokens > 0
    lines = _valid_export(data)
    assert len(lines) == len(data.events) + 1


@pytest.mark.parametrize("name", ["old-trace.jsonl", "old-trace-errors.jsonl"])
def test_an_old_traced_export_is_upgraded_to_trace_fields(name):
    data = read_jsonl(FIXTURES / name)
    old = [json.loads(line) for line in (FIXTURES / name).read_text("utf-8").splitlines()]
    old_start = old[1]["payload"]
    assert old_start["provider"] == "trace"  # how traces were stored: chat keys with other meanings
    start = data.events[0].payload
    assert isinstance(start, ev.TraceSessionStart) and start.session_kind == "trace"
    assert start.command == old_start["command"] and data.header["command"] == old_start["command"]
    run = next(e.payload for e in data.events if e.kind == ev.TURN_START)
    end = data.events[-1].payload
    assert isinstance(run, ev.RunStart) and run.command == old_start["command"] and run.pid > 0
    assert isinstance(end, ev.RunEnd) and end.exit_state == "exited 0" and end.exit_code == 0
    ledger = ledger_of(data.kind, data.events, NO_PRICES)
    assert ledger.rows().models
    assert "## Run 1 · done" in to_markdown(data, ledger)
    _valid_export(data)


def test_old_rows_in_the_database_read_as_typed_events(tmp_path):
    store = SessionStore(tmp_path / "old.sqlite3")
    lines = (FIXTURES / "old-trace-errors.jsonl").read_text("utf-8").splitlines()[1:]
    with store.db:
        store.db.executemany("INSERT INTO events (session_id, seq, turn, kind, body) VALUES (?, ?, ?, ?, ?)",
                             [("old", json.loads(b)["seq"], json.loads(b)["turn"], json.loads(b)["kind"], b)
                              for b in lines])
    events = store.events("old")
    store.close()
    errors = [e.payload for e in events if e.kind == ev.HANDLER_ERROR]
    assert errors and all(isinstance(p, ev.HandlerError) and p.handler for p in errors)
    receivers = next(e.payload.handlers for e in events if e.kind == ev.CHAIN_START)
    assert receivers and all(isinstance(r, ev.Receiver) for r in receivers)


def test_unknown_keys_and_kinds_are_kept_not_lost():
    event = ev.Event.from_dict({"seq": 1, "wall": 1.0, "mono": 1.0, "session_id": "s", "turn": 1, "kind": "turn_end",
                                "name": "turn", "scope": "app", "payload": {"reply": "hi", "mood": "good"}})
    assert event.payload.reply == "hi" and event.payload.extra == {"mood": "good"}
    assert event.to_dict()["payload"] == {"reply": "hi", "mood": "good"}
    newer = ev.Event.from_dict({**event.to_dict(), "kind": "dream_start", "payload": {"about": "roses"}})
    assert isinstance(newer.payload, ev.Unknown) and newer.to_dict()["payload"] == {"about": "roses"}


def test_a_missing_field_of_an_old_event_reads_as_none():
    payload = ev.payload_from(ev.LLM_END, {"text": "old"})
    assert payload.text == "old" and payload.usage is None and payload.prompt_tokens_estimate is None


def test_emit_derives_the_kind_from_the_payload_and_a_run_end_names_its_kind():
    bus = EventBus("s")
    seen = []
    bus.subscribe(seen.append)
    bus.emit(ev.TurnEnd(reply="done"), name="turn", scope="app")
    bus.emit(ev.RunEnd(exit_state="exited 3", exit_code=3), kind=ev.TURN_ERROR, name="run", scope="app")
    with pytest.raises(ValueError):
        bus.emit(ev.RunEnd(exit_state="exited 0", exit_code=0), name="run", scope="app")
    assert [(e.kind, type(e.payload)) for e in seen] == [("turn_end", ev.TurnEnd), ("turn_error", ev.RunEnd)]


def test_a_payload_still_reads_as_a_mapping_by_its_json_keys():
    switch = ev.MemorySwitch(from_="window", to="summary", from_turn=3)
    assert switch["from"] == "window" and switch == {"from": "window", "to": "summary", "from_turn": 3}
    assert ev.LlmEnd(text="", model=None, usage=None, finish_reason=None, prompt_tokens_estimate=None,
                     completion_tokens_estimate=None).get("usage_missing", "absent") == "absent"
