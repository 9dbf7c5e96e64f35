"""Sessions in the app: replay through the panes, resume with memory rebuilt, the export dialog."""

from __future__ import annotations

import time

from textual.widgets import DataTable

from flowertui.app.screens.export_dialog import ExportDialog
from flowertui.app.widgets.conversation import AssistantTurn
from flowertui.app.widgets.counter import TokenCounter
from flowertui.engine.prices import load_prices
from flowertui.engine.providers import ProviderSettings
from flowertui.session.export import read_jsonl, to_jsonl
from flowertui.session.model import SessionData
from flowertui.session.replay import Replay, load_session
from flowertui.session.store import SessionStore
from tests.support.pilot import SIZE, make_app, notified, ready, say, settle, wait_until
from tests.support.rigs import LESSON, record_session


async def _export_from_the_dialog(pilot, path) -> None:
    app = pilot.app
    await pilot.press("escape", "e")
    await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog))
    box = app.screen.query_one("#export-path")
    box.value = str(path)
    box.focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: path.exists())


async def test_replaying_a_jsonl_export_and_exporting_again_gives_the_same_file(tmp_path):
    rig, _ = record_session(LESSON, compare=True)
    original = tmp_path / "original.jsonl"
    original.write_text(to_jsonl(SessionData.of(rig.events), load_prices()), "utf-8")
    data = read_jsonl(original)
    app = make_app(history=data, replay=Replay(time_scale=0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(app.recorded) == len(data.events))
        await settle(pilot)
        assert app.live is None  # no model, no engine
        assert [t.text for t in app.query(AssistantTurn)] == [reply for _, reply in rig.conversation.transcript]
        counter = app.query_one(TokenCounter)
        assert counter.ledger.totals("summary").total_tokens == rig.ledger.totals("summary").total_tokens
        assert app.query_one("#message").disabled
        again = tmp_path / "again.jsonl"
        await _export_from_the_dialog(pilot, again)
    assert again.read_bytes() == original.read_bytes()


async def test_replay_keeps_the_original_timing_at_speed_one(tmp_path):
    rig, _ = record_session(LESSON[:1], provider=ProviderSettings(speed=100))
    events = rig.events
    data = SessionData.of(events)
    app = make_app(history=data, replay=Replay(time_scale=1))
    async with app.run_test(size=SIZE) as pilot:
        start = time.monotonic()
        await wait_until(pilot, lambda: len(app.recorded) == len(events))
        took = time.monotonic() - start
        await settle(pilot)
    recorded = events[-1].mono - events[0].mono
    assert recorded > 0.5 and recorded * 0.9 <= took  # never faster than it happened
    assert took <= recorded * 2 + 15, f"the replay took {took:.1f} s for {recorded:.1f} s of events"  # generous: a loaded machine


async def test_resume_shows_the_transcript_rebuilds_memory_and_continues_the_session():
    rig, path = record_session(LESSON[:2])
    history = load_session("latest", path)
    app = make_app(history=history)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert len(app.query(AssistantTurn)) == 2
        await say(pilot, LESSON[2])
        reply = list(app.query(AssistantTurn))[-1].text
        assert "姐姐" in reply and "粉色玫瑰" in reply
        counter = app.query_one(TokenCounter).query_one(DataTable)
        cumulative = int(counter.get_cell("buffer", "total").plain)
        assert app.live.ledger is app.ledger  # one ledger: the recording's turns, then this one
        assert cumulative == app.ledger.totals("buffer").total_tokens == rig.ledger.totals("buffer").total_tokens + app.ledger.turns("buffer")[-1].total_tokens
    store = SessionStore(path)
    sid = rig.bus.session_id
    assert [t[3] for t in store.turns(sid)] == ["done"] * 3
    seqs = [e.seq for e in store.events(sid)]
    assert seqs == list(range(1, len(seqs) + 1))
    store.close()


async def test_e_exports_the_session_and_says_where(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        target = tmp_path / "out.md"
        await pilot.press("escape", "e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog))
        app.screen.query_one("#export-format").value = "md"
        await pilot.pause(0.1)
        assert app.screen.query_one("#export-path").value.endswith(".md")
        app.screen.query_one("#export-path").value = str(target)
        await pilot.click("#export-go")
        await wait_until(pilot, lambda: target.exists())
        assert LESSON[0] in target.read_text("utf-8")
        await notified(pilot, str(target))


async def test_resume_picks_up_the_memory_kind_and_compare_mode_the_session_last_used():
    rig, path = record_session(LESSON[:1], "window", compare=True)
    app = make_app(history=load_session("latest", path))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.live.conversation.active == "window" and app.live.conversation.compare
        assert app.mode.kind == "window" and app.mode.compare


async def test_a_replay_hides_the_keys_that_would_drive_a_model():
    rig, _ = record_session(LESSON[:1])
    app = make_app(history=SessionData.of(rig.events), replay=Replay(time_scale=0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(app.recorded) == len(rig.events))
        shown = {binding.action for _, binding, enabled, _ in app.active_bindings.values() if enabled}
        assert "compare" not in shown and "cycle_memory" not in shown and "export" in shown
        await pilot.press("c", "2")
        await settle(pilot)
        assert not app.mode.compare and app.live is None


async def test_a_launch_that_asks_nothing_records_no_session():
    from flowertui.paths import data_dir
    from flowertui.session.store import DB_NAME

    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("escape", "e")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ExportDialog)
        await notified(pilot, "first turn")
    store = SessionStore(data_dir() / DB_NAME)
    assert store.sessions() == [] and store.db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    store.close()
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
    store = SessionStore(data_dir() / DB_NAME)
    assert [s.turns for s in store.sessions()] == [1]
    store.close()


async def test_a_replay_shortens_idle_time_and_says_so():
    from dataclasses import replace

    rig, _ = record_session(LESSON[:2])
    second = next(e.seq for e in rig.events if e.kind == "turn_start" and e.turn == 2)
    idle = [replace(e, mono=e.mono + 300) if e.seq >= second else e for e in rig.events]  # 5 minutes away
    app = make_app(history=SessionData.of(idle), replay=Replay())
    async with app.run_test(size=SIZE) as pilot:
        assert "1× speed, pauses cut to 2 s" in app.query_one("#message").placeholder
        start = time.monotonic()
        await wait_until(pilot, lambda: len(app.recorded) == len(idle))
        assert time.monotonic() - start < 20


async def test_the_export_dialog_offers_every_format_of_the_registry():
    from flowertui.session.export import FORMATS

    rig, _ = record_session(LESSON[:1])
    app = make_app(history=SessionData.of(rig.events), replay=Replay(time_scale=0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(app.recorded) == len(rig.events))
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog))
        options = app.screen.query_one("#export-format")._options
        assert [(str(label), value) for label, value in options] == [(f.description, n) for n, f in FORMATS.items()]
