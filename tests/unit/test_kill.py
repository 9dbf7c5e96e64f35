"""`kill -9` in the middle of a reply: the database opens and holds every completed turn."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from flowertui.session.store import DB_NAME, SessionStore


def _count(path, sql: str) -> int:
    """Read with a separate connection, as another process would."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute(sql).fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def test_sigkill_mid_reply_loses_no_completed_turn(tmp_path):
    path = tmp_path / DB_NAME
    child = subprocess.Popen(
        [sys.executable, "-m", "flowertui", "--data-dir", str(tmp_path), "run", "--script", "week", "--speed", "60"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 120
        while _count(path, "SELECT COUNT(*) FROM turns WHERE status = 'done'") < 2:
            assert child.poll() is None and time.monotonic() < deadline, child.stderr.read()
            time.sleep(0.05)
        tokens_before = _count(path, "SELECT COUNT(*) FROM events WHERE kind = 'llm_new_token' AND turn = 3")
        while _count(path, "SELECT COUNT(*) FROM events WHERE kind = 'llm_new_token' AND turn = 3") < tokens_before + 10:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        killed_at = time.time()
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()

    store = SessionStore(path)  # opens, recovers the WAL, migrates if needed
    (session,) = store.sessions()
    turns = store.turns(session.id)
    done = [t for t in turns if t[3] == "done"]
    assert len(done) >= 2 and all(reply for _, _, reply, _ in done)
    assert turns[-1][3] == "running"  # the turn cut short is there, marked as never finished
    events = store.events(session.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # a prefix of the stream: nothing skipped
    assert sum(e.kind == "turn_end" for e in events) == len(done)
    assert events[-1].kind == "llm_new_token" and events[-1].turn == turns[-1][0]
    assert killed_at - events[-1].wall < 1.0  # at most the last batch (0.2 s) plus scheduling noise is lost
    store.close()
