"""SQLite session store: every event written as it arrives, committed in small batches.

A writer thread owns its own connection and commits at most BATCH_SECONDS after
an event arrives, so `kill -9` mid-reply loses at most that fraction of a second
and never a completed turn. The ledger rows and the session's total are read
from the session's one ledger (the engine's, which the panes read too), so the
database, the panes and the exports agree. A session is recorded
from its first turn: a launch that asks nothing leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flowertui.engine.events import (MEMORY_CATCHUP_END, TURN_START, ChatSessionStart, Event, RunEnd, RunStart,
                                     SessionKind, SessionStart, TurnStart, session_kind)
from flowertui.engine.session_ledger import SessionLedger
from flowertui.paths import PRIVATE_DIR, PRIVATE_FILE, make_private
from flowertui.locks import WriterLock
from flowertui.session.model import turn_status

BATCH_SECONDS = 0.2
_json = json.JSONEncoder(ensure_ascii=False).encode  # as json.dumps(…, ensure_ascii=False), without a new encoder each
DB_NAME = "sessions.sqlite3"

# Each entry upgrades the schema by one version; a database is brought forward step by step.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        started REAL NOT NULL,
        ended REAL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        memory_settings TEXT NOT NULL
    );
    CREATE TABLE turns (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        turn INTEGER NOT NULL,
        user TEXT NOT NULL,
        reply TEXT NOT NULL DEFAULT '',
        memory_kind TEXT,
        status TEXT NOT NULL,
        PRIMARY KEY (session_id, turn)
    );
    CREATE TABLE events (
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        turn INTEGER NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    );
    """,
    """
    ALTER TABLE sessions ADD COLUMN app_version TEXT;
    ALTER TABLE turns ADD COLUMN error TEXT;
    CREATE TABLE ledger (
        session_id TEXT NOT NULL,
        turn INTEGER NOT NULL,
        memory_kind TEXT NOT NULL,
        row TEXT NOT NULL,
        PRIMARY KEY (session_id, turn, memory_kind)
    );
    """,
    # The ledger's grand total: the turn rows leave out the summariser's catch-ups, which belong to no turn.
    """
    ALTER TABLE sessions ADD COLUMN total_tokens INTEGER;
    """,
    # The session's kind (chat, trace); NULL for sessions recorded before, which the session model tells apart.
    """
    ALTER TABLE sessions ADD COLUMN kind TEXT;
    """,
    # Whether the total holds tiktoken's estimates (`flowertui sessions` marks it `~`).
    """
    ALTER TABLE sessions ADD COLUMN total_estimated INTEGER;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


_HAS_TURNS = "EXISTS (SELECT 1 FROM turns t WHERE t.session_id = s.id)"


class StoreError(RuntimeError):
    """The session database cannot be opened, read or written; the message says which file and why."""


@dataclass(frozen=True)
class SessionOverview:
    """One line of `flowertui sessions`."""

    id: str
    kind: SessionKind
    started: float
    ended: float | None
    provider: str
    model: str  # a traced session's command
    turns: int
    total_tokens: int
    estimated: bool = False  # the total holds estimates (a call in flight when its writer died, compare mode)

    @property
    def label(self) -> str:
        """What the session is named by: a chat's provider and model, a traced session's command."""
        return f"{self.provider}/{self.model}" if self.kind == SessionKind.CHAT else f"{self.kind}/{self.model}"


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database; WAL so readers never block the writer.

    The database and its -wal and -shm files are its owner's only (0600; SQLite gives the
    side files the database's mode), whatever the umask."""
    try:
        path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
        db = sqlite3.connect(path, timeout=5, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        migrate(db)
        for side in ("", "-wal", "-shm"):
            if (file := path.with_name(path.name + side)).exists():
                make_private(file)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the session database {path}: {exc}") from exc
    return db


def migrate(db: sqlite3.Connection) -> int:
    """Apply the migrations this database has not seen yet; returns the version it is now at."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"the session database has schema {version}, newer than this flowertui ({SCHEMA_VERSION})")
    for number in range(version, SCHEMA_VERSION):
        with db:
            db.executescript(MIGRATIONS[number])
            db.execute(f"PRAGMA user_version = {number + 1}")
    return SCHEMA_VERSION


class SessionStore:
    """Reading side: list, find and load sessions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = connect(path)

    def close(self) -> None:
        self.db.close()

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the session database {self.path}: {exc}") from exc

    def sessions(self) -> list[SessionOverview]:
        """Newest first, with the number of turns and the session's total tokens (the ledger's grand total).

        Sessions without a turn (only older flowertui versions recorded them) are left out; sessions
        recorded before the total was stored show the sum of their ledger rows.
        """
        rows = self._query(
            f"""
            SELECT s.id, s.kind, s.started, s.ended, s.provider, s.model,
                   (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id),
                   COALESCE(s.total_tokens, (SELECT COALESCE(SUM(json_extract(l.row, '$.total_tokens')), 0)
                                             FROM ledger l WHERE l.session_id = s.id)),
                   COALESCE(s.total_estimated, 0) != 0
            FROM sessions s WHERE {_HAS_TURNS} ORDER BY s.started DESC, s.rowid DESC
            """
        )
        return [SessionOverview(sid, session_kind(kind, provider), started, ended, provider, model, turns, total,
                                bool(estimated))
                for sid, kind, started, ended, provider, model, turns, total, estimated in rows]

    def resolve(self, ref: str) -> str:
        """A session id from `latest` (the newest with a turn), a full id or a unique prefix."""
        if ref == "latest":
            rows = self._query(f"SELECT id FROM sessions s WHERE {_HAS_TURNS} ORDER BY started DESC, rowid DESC LIMIT 1")
        else:
            rows = self._query("SELECT id FROM sessions WHERE id LIKE ? || '%'", (ref,))
        if len(rows) != 1:
            reason = "no sessions yet" if ref == "latest" else ("no session" if not rows else "several sessions")
            raise StoreError(f"{reason} matching {ref!r} in {self.path}; `flowertui sessions` lists them")
        return rows[0][0]

    def events(self, session_id: str) -> list[Event]:
        rows = self._query("SELECT body FROM events WHERE session_id = ? ORDER BY seq", (session_id,))
        return [Event.from_dict(json.loads(body)) for (body,) in rows]

    def turns(self, session_id: str) -> list[tuple[int, str, str, str]]:
        """(turn, user, reply, status) in order."""
        return self._query("SELECT turn, user, reply, status FROM turns WHERE session_id = ? ORDER BY turn",
                           (session_id,))


class SessionWriter:
    """A sink: queues events (never blocking the caller) for a thread that writes them in batches.

    Events before the session's first turn are held back and written with it, so a
    launch that is closed without asking anything records no session. `ledger` is the
    session's ledger (of its kind), subscribed to the same bus before this writer: the
    writer reads its rows and total, never counts again.
    """

    def __init__(self, path: Path, ledger: SessionLedger, on_error: Callable[[str], None] = lambda _: None, *,
                 recorded: bool = False, locked: bool = True) -> None:
        """`recorded`: the session is in the database already (events recovered later); `locked`: hold the
        session's writer lock (not when the caller holds it already, closing what a dead writer left open)."""
        self.path = path
        self.on_error = on_error
        self.ledger = ledger
        self._queue: queue.Queue[Event | threading.Event | None] = queue.Queue()
        self._db = connect(path)
        self.error: str | None = None  # set once writing failed; nothing more is written after that
        self.saved_seq = 0  # the last event committed: a reader of the database finds every event up to it
        self._last: Event | None = None
        self._held: list[Event] | None = None if recorded else []  # events before the first turn; None once recorded
        self._locks: dict[str, WriterLock] = {}  # per session written: tells a later start this writer is alive
        self._locked = locked
        self._now = threading.Event()  # a flush or close: write what is queued without waiting out the batch
        self._thread = threading.Thread(target=self._run, name="flowertui-store", daemon=True)
        self._thread.start()

    def __call__(self, event: Event) -> None:
        self._queue.put(event)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every event queued so far is committed (before reading the session back)."""
        written = threading.Event()
        self._queue.put(written)
        self._now.set()
        written.wait(timeout)

    def close(self) -> None:
        """Write what is queued, mark the session ended, and stop the thread."""
        self._queue.put(None)
        self._now.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        """A batch is what is queued BATCH_SECONDS after its first event (or at a flush or close): taken in one go,
        so a streamed reply's thousands of events wake this thread once a batch, not once each (each wake-up had it
        take the GIL from the engine or the UI thread: 5–11% of a stream's CPU in all)."""
        stop = False
        while not stop:
            items = [self._queue.get()]
            self._now.wait(BATCH_SECONDS)
            self._now.clear()
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batch = [item for item in items if isinstance(item, Event)]
            waiting = [item for item in items if isinstance(item, threading.Event)]  # flush() callers
            stop = None in items
            self._write(batch, ended=stop)
            for flushed in waiting:
                flushed.set()
        self._db.close()
        for lock in self._locks.values():
            lock.release()

    def _write(self, batch: list[Event], *, ended: bool) -> None:
        if self.error:
            return
        try:
            recordable = self._recordable(batch)
            for session_id in {event.session_id for event in recordable if self._locked} - set(self._locks):
                self._locks[session_id] = WriterLock.hold(self.path.parent, session_id)
            with self._db:
                self._db.executemany(  # one statement for the batch: a streamed reply is thousands of token events
                    "INSERT OR REPLACE INTO events (session_id, seq, turn, kind, body) VALUES (?, ?, ?, ?, ?)",
                    [(event.session_id, event.seq, event.turn, event.kind, _json(event.to_dict()))
                     for event in recordable])
                for event in recordable:
                    self._record(event)
                    self._last = event
                if ended and self._last is not None:
                    self._db.execute("UPDATE sessions SET ended = ? WHERE id = ?", (self._last.wall, self._last.session_id))
                    self._record_total(self._last.session_id)
            if self._last is not None:
                self.saved_seq = self._last.seq
        except sqlite3.Error as exc:  # a full disk or a read-only file: say so once, keep the app running
            self.error = f"session not saved any more ({self.path}): {exc}"
            self.on_error(self.error)

    def _recordable(self, batch: list[Event]) -> list[Event]:
        """The events to write now: nothing until a turn starts, then everything held back with it."""
        if self._held is None:
            return batch
        self._held.extend(batch)
        if not any(event.kind == TURN_START for event in self._held):
            return []
        held, self._held = self._held, None
        return held

    def _record(self, event: Event) -> None:
        """What an event changes beside its own row (written by `_write`): its session, its turn, the ledger."""
        db, sid, p = self._db, event.session_id, event.payload
        if isinstance(p, SessionStart):
            # a traced session is listed as provider "trace" with its command as the model, as before the schema
            chat = p if isinstance(p, ChatSessionStart) else None
            db.execute(
                "INSERT OR IGNORE INTO sessions (id, kind, started, provider, model, memory_settings, app_version) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sid, p.session_kind, event.wall, chat.provider if chat else "trace", chat.model if chat else p.command,
                 json.dumps(chat.memory_settings if chat else {}), p.flowertui),
            )
        elif event.kind == TURN_START:
            user = p.command if isinstance(p, RunStart) else p.user if isinstance(p, TurnStart) else ""
            db.execute("INSERT OR REPLACE INTO turns (session_id, turn, user, memory_kind, status) "
                       "VALUES (?, ?, ?, ?, 'running')", (sid, event.turn, user, event.memory_kind))
        elif status := turn_status(event.kind):
            reply = p.exit_state if isinstance(p, RunEnd) else getattr(p, "reply", "")
            db.execute("UPDATE turns SET reply = ?, status = ?, error = ? WHERE session_id = ? AND turn = ?",
                       (reply, status, getattr(p, "error", None), sid, event.turn))
            for kind, row in self.ledger.turn_records(event.turn).items():
                db.execute("INSERT OR REPLACE INTO ledger (session_id, turn, memory_kind, row) VALUES (?, ?, ?, ?)",
                           (sid, event.turn, kind, json.dumps(row)))
            self._record_total(sid)
        elif event.kind == MEMORY_CATCHUP_END:
            self._record_total(sid)

    def _record_total(self, session_id: str) -> None:
        total = self.ledger.total()
        self._db.execute("UPDATE sessions SET total_tokens = ?, total_estimated = ? WHERE id = ?",
                         (total.tokens, int(total.estimated), session_id))

