"""Catch-ups in the app: paid once, restored on resume, asked for when costly, and a quit at any moment is quick."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from flowertui.app.app import ChatApp
from flowertui.app.screens.catch_up_dialog import CatchUpDialog
from flowertui.config import Settings
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.providers import ProviderSettings
from flowertui.engine.scripts import load_script
from flowertui.paths import data_dir
from flowertui.session.replay import load_session
from flowertui.session.store import DB_NAME, SessionStore
from tests.support.pilot import SIZE, make_app, ready, say, settle, wait_until
from tests.support.rigs import LESSON, record_session
from tests.support.openai_server import OpenAIServer, Reply


_NONE = SimpleNamespace(calls=0)  # no catch-up open yet


def _starts(app) -> list:
    """The catch-ups the session's ledger counts (every kind)."""
    return [c for kind in app.ledger.kinds() for c in app.ledger.catch_ups.get(kind, ())]


async def test_3_1_3_with_no_new_turn_catches_up_once():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        await say(pilot, LESSON[1])
        await pilot.press("escape", "3")
        await settle(pilot)
        paid = app.ledger.totals("summary").catch_up_tokens
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert app.mode.kind == "summary" and len(_starts(app)) == 1
        assert app.ledger.totals("summary").catch_up_tokens == paid > 0


async def test_a_resume_restores_summary_memory_without_paying_again():
    rig, path = record_session(load_script("week"), "summary")
    app = make_app(history=load_session(rig.bus.session_id, path))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await settle(pilot)
        assert app.live.bus._seq > rig.events[-1].seq and not _starts(app)
        assert app.live.conversation.read["summary"] == 10
        assert app.query_one("#status").state == "idle"


async def test_an_older_session_s_catch_up_is_saved_though_no_turn_follows():
    rig, path = record_session(LESSON, "summary")
    store = SessionStore(path)
    with store.db:  # recorded by a version that saved no memory state
        store.db.execute("DELETE FROM events WHERE kind = 'memory_state'")
    store.close()
    app = make_app(history=load_session(rig.bus.session_id, path))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ready(pilot)
        assert len(_starts(app)) == 1
    store = SessionStore(path)
    kinds = [e.kind for e in store.events(rig.bus.session_id)]
    assert "memory_catchup_end" in kinds and "memory_state" in kinds
    assert store.sessions()[0].total_tokens == rig.ledger.total().tokens + app.ledger.totals("summary").catch_up_tokens
    store.close()


async def _quit_quickly(pilot) -> float:
    start = time.monotonic()
    await pilot.press("ctrl+q")
    return start


async def test_quitting_while_compare_mode_updates_memory_closes_the_turn_with_its_spend_in_under_a_second():
    app = make_app(ProviderSettings(speed=30), compare=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.query_one("#message").value = LESSON[0]
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query_one("#status").state == "updating memory", timeout=60)
        start = await _quit_quickly(pilot)
    assert time.monotonic() - start < 1.0
    store = SessionStore(data_dir() / DB_NAME)
    session = store.sessions()[0]
    assert [t[3] for t in store.turns(session.id)] == ["cancelled"]
    assert session.total_tokens > 0
    store.close()


async def test_quitting_during_a_resume_s_catch_up_takes_under_a_second_and_records_it():
    rig, path = record_session(load_script("week"), "buffer")
    app = ChatApp(Settings(ProviderSettings(speed=30), MemorySettings()), memory_kind="summary",
                    history=load_session(rig.bus.session_id, path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.query_one("#status").state == "updating memory")
        await pilot.pause(0.3)
        start = await _quit_quickly(pilot)
    took = time.monotonic() - start
    store = SessionStore(path)
    ends = [e for e in store.events(rig.bus.session_id) if e.kind == "memory_catchup_end"]
    assert len(ends) == 1 and ends[0].payload["cancelled"], f"quit took {took:.2f} s: {ends}"
    assert took < 1.0
    store.close()


def _priced(server: OpenAIServer, *, confirm: bool = True) -> Settings:
    provider = ProviderSettings(provider="compatible", model="gpt-4o-mini", base_url=server.base_url,
                                api_key="sk-test-placeholder-key", max_retries=0)
    return Settings(provider, MemorySettings(), confirm_catch_up=confirm)


async def test_a_costly_catch_up_on_a_priced_model_is_asked_for_once_and_no_spends_nothing():
    rig, path = record_session(load_script("week"), "buffer")
    with OpenAIServer(Reply(model="gpt-4o-mini")) as server:
        app = ChatApp(_priced(server), memory_kind="summary", history=load_session(rig.bus.session_id, path))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, CatchUpDialog) and app.screen.query("#catch-up-estimate"))
            text = str(app.screen.query_one("#catch-up-estimate").render())
            assert "summary" in text and "10 earlier turns" in text and "≈$" in text
            await pilot.press("n")
            await settle(pilot)
            assert not server.requests and app.mode.kind == "buffer" and not _starts(app)
            await pilot.press("escape", "3")  # asked again for a switch, once; yes pays
            await wait_until(pilot, lambda: isinstance(app.screen, CatchUpDialog))
            await pilot.press("y")
            await settle(pilot)
            assert app.mode.kind == "summary" and len(server.requests) == 10 and len(_starts(app)) == 1


async def test_the_question_can_be_turned_off_and_the_offline_assistant_never_asks():
    rig, path = record_session(load_script("week"), "buffer")
    with OpenAIServer(Reply(model="gpt-4o-mini")) as server:
        app = ChatApp(_priced(server, confirm=False), memory_kind="summary",
                        history=load_session(rig.bus.session_id, path))
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await settle(pilot)
            assert len(server.requests) == 10 and not isinstance(app.screen, CatchUpDialog)
    app = make_app(memory_kind="summary", history=load_session(rig.bus.session_id, path))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await settle(pilot)
        assert len(_starts(app)) == 1 and not isinstance(app.screen, CatchUpDialog)


@pytest.mark.parametrize("start", ["resume", "switch"])
async def test_escape_cancels_a_catch_up_outside_a_turn_and_records_what_it_spent(start):
    """A resume's catch-up, or a switch's (alt+3 while typing), runs outside any turn: Esc stops it, as it stops a
    reply, and the summariser calls made so far are counted."""
    rig, path = record_session(load_script("week"), "buffer")
    app = ChatApp(Settings(ProviderSettings(speed=30), MemorySettings()),
                  memory_kind="summary" if start == "resume" else None,
                  history=load_session(rig.bus.session_id, path))
    async with app.run_test(size=SIZE) as pilot:
        if start == "switch":
            await ready(pilot)
            await pilot.press("alt+3")
        box = app.query_one("#message")
        await wait_until(pilot, lambda: (app.ledger.catching_up("summary") or _NONE).calls >= 1, timeout=60,
                         what="a summariser call of the catch-up")
        await pilot.press("escape")
        await settle(pilot)
        assert app.focused is box  # Esc cancelled; it did not also leave the box
        status = app.query_one("#status")
        assert status.state == "cancelled" and "catch-up cancelled" in status.detail, (status.state, status.detail)
        assert app.mode.kind == ("summary" if start == "resume" else "buffer")  # a cancelled switch does not happen
        assert 0 < app.live.conversation.read["summary"] < 10
        spent = app.ledger.totals("summary").catch_up_tokens
        assert spent > 0 and app.ledger.total().tokens == rig.ledger.total().tokens + spent
    store = SessionStore(path)
    ends = [e for e in store.events(rig.bus.session_id) if e.kind == "memory_catchup_end"]
    assert len(ends) == 1 and ends[0].payload["cancelled"] and ends[0].payload["total_tokens"] == spent
    store.close()
