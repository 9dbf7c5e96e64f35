"""The SQLite session store: what it records, migrations, and what it refuses."""

from __future__ import annotations

import sqlite3

import pytest

from flowertui.engine.providers import ProviderSettings
from flowertui.engine.session_kinds import SessionKind
from flowertui.session.store import MIGRATIONS, SCHEMA_VERSION, SessionStore, StoreError, connect
from tests.support.rigs import LESSON, record_session

PLANTED = "sk-planted-store-key-0123456789abcdef"


def test_a_recorded_session_holds_its_turns_events_and_ledger():
    rig, path = record_session(LESSON, compare=True)
    store = SessionStore(path)
    sid = rig.bus.session_id
    assert store.resolve(sid[:6]) == sid
    assert [(t, u, s) for t, u, _, s in store.turns(sid)] == [(i + 1, line, "done") for i, line in enumerate(LESSON)]
    assert store.turns(sid)[2][2] == rig.conversation.transcript[2][1]
    assert store.events(sid) == rig.events
    overview = next(s for s in store.sessions() if s.id == sid)
    assert overview.turns == 3 and overview.ended is not None
    assert overview.total_tokens == rig.ledger.total().tokens
    assert overview.provider == "offline" and overview.model == "flowershop-offline"
    assert overview.kind == SessionKind.CHAT and overview.label == "offline/flowershop-offline"
    store.close()


def test_sessions_are_listed_newest_first_and_latest_resolves():
    first, path = record_session(LESSON[:1])
    second, _ = record_session(LESSON[:1])
    store = SessionStore(path)
    ids = [s.id for s in store.sessions()]
    assert ids.index(second.bus.session_id) < ids.index(first.bus.session_id)
    assert store.resolve("latest") == second.bus.session_id
    with pytest.raises(StoreError, match="flowertui sessions"):
        store.resolve("no-such-session")
    store.close()


def test_a_first_version_database_is_migrated_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(MIGRATIONS[0])
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO sessions (id, started, provider, model, memory_settings) VALUES ('old1', 1.0, 'offline', "
                "'flowershop-offline', '{}')")
    old.execute("INSERT INTO turns (session_id, turn, user, reply, status) VALUES ('old1', 1, 'hi', 'hello', 'done')")
    old.commit()
    old.close()
    store = SessionStore(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION > 1
    assert store.turns("old1") == [(1, "hi", "hello", "done")]
    assert [s.id for s in store.sessions()] == ["old1"]
    assert store.sessions()[0].kind == SessionKind.CHAT
    store.close()


def test_sessions_recorded_before_kinds_are_told_apart_by_their_old_provider(tmp_path):
    path = tmp_path / "before-kinds.sqlite3"
    old = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        old.executescript(script)
    old.execute("PRAGMA user_version = 3")
    for sid, provider, model in (("chat1", "offline", "flowershop-offline"), ("trace1", "trace", "app.py")):
        old.execute("INSERT INTO sessions (id, started, provider, model, memory_settings) VALUES (?, 1.0, ?, ?, '{}')",
                    (sid, provider, model))
        old.execute("INSERT INTO turns (session_id, turn, user, status) VALUES (?, 1, 'hi', 'done')", (sid,))
    old.commit()
    old.close()
    store = SessionStore(path)
    listed = {s.id: (s.kind, s.label) for s in store.sessions()}
    store.close()
    assert listed == {"chat1": (SessionKind.CHAT, "offline/flowershop-offline"),
                      "trace1": (SessionKind.TRACE, "trace/app.py")}


def test_a_database_from_a_newer_flowertui_is_refused(tmp_path):
    path = tmp_path / "new.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        connect(path)


def test_a_corrupt_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "corrupt.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="corrupt.sqlite3"):
        connect(path)


def test_a_planted_key_never_reaches_the_database():
    rig, path = record_session([f"记住这个 {PLANTED}", LESSON[0]], "summary",
                               provider=ProviderSettings(speed=0, api_key=PLANTED))
    for file in path.parent.glob(path.name + "*"):
        assert PLANTED.encode() not in file.read_bytes()
    store = SessionStore(path)
    assert "[redacted]" in store.turns(rig.bus.session_id)[0][1]
    store.close()


def test_a_session_is_recorded_from_its_first_turn_with_everything_before_it(tmp_path):
    from flowertui.engine.assembly import assemble
    from flowertui.engine.kinds import MemorySettings
    from flowertui.engine.ledger import Ledger
    from flowertui.engine.prices import load_prices
    from flowertui.session.store import SessionWriter

    path = tmp_path / "s.sqlite3"
    ledger = Ledger(load_prices())
    writer = SessionWriter(path, ledger)
    idle = assemble(ProviderSettings(speed=0), MemorySettings(), sinks=[writer], ledger=ledger)
    idle.conversation.switch("window")  # things happen, but nobody asks anything
    writer.close()
    store = SessionStore(path)
    assert store.db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    assert store.events(idle.bus.session_id) == []
    store.close()

    events = []
    ledger = Ledger(load_prices())
    writer = SessionWriter(path, ledger)
    live = assemble(ProviderSettings(speed=0), MemorySettings(), sinks=[events.append, writer], ledger=ledger)
    live.conversation.switch("window")
    live.conversation.ask(LESSON[0])
    writer.close()
    store = SessionStore(path)
    assert [s.id for s in store.sessions()] == [live.bus.session_id]
    assert store.events(live.bus.session_id) == events  # the session_start and the switch came with the turn
    store.close()


def test_a_streamed_reply_wakes_the_writer_once_a_batch_and_every_event_is_stored(tmp_path, monkeypatch):
    """Thousands of token events in a fraction of a second: the writer thread waits for a batch's first event only
    (then takes what is queued in one go), not once per event; a flush writes at once, and all of them are kept."""
    from flowertui.engine import shop_model
    from flowertui.engine.assembly import assemble
    from flowertui.engine.kinds import MemorySettings
    from flowertui.engine.ledger import Ledger
    from flowertui.engine.prices import load_prices
    from flowertui.session.store import SessionWriter

    monkeypatch.setattr(shop_model, "reply_for", lambda prompt: "玫瑰 roses " * 1000)
    path = tmp_path / "s.sqlite3"
    events = []
    ledger = Ledger(load_prices())
    writer = SessionWriter(path, ledger)
    waits = []
    get = writer._queue.get

    def counted(block=True, timeout=None):
        if block:
            waits.append(timeout)
        return get(block, timeout)

    monkeypatch.setattr(writer._queue, "get", counted)
    live = assemble(ProviderSettings(speed=0), MemorySettings(), sinks=[events.append, writer], ledger=ledger)
    live.conversation.ask(LESSON[0])
    writer.flush()
    tokens = sum(event.kind == "llm_new_token" for event in events)
    assert tokens > 1000 and len(waits) < 20  # one wait per batch (of 0.2 s at most)
    writer.close()
    store = SessionStore(path)
    assert store.events(live.bus.session_id) == events
    store.close()


def test_sessions_without_turns_from_older_versions_are_not_listed_or_latest(tmp_path):
    rig, path = record_session(LESSON[:1])
    db = connect(path)
    with db:
        db.execute("INSERT INTO sessions (id, started, provider, model, memory_settings) "
                   "VALUES ('empty1', 9e9, 'offline', 'flowershop-offline', '{}')")
    db.close()
    store = SessionStore(path)
    assert "empty1" not in [s.id for s in store.sessions()]
    assert store.resolve("latest") == rig.bus.session_id
    assert store.resolve("empty1") == "empty1"  # still there when asked for by name
    store.close()
