"""Events a probe could not deliver: JSONL files in the data dir, imported into their session later.

A probe writes `<session>.<run>.<pid>.jsonl` when its viewer is gone (killed,
crashed) or when `flowertui.watch()` runs with no viewer listening. The next
flowertui start imports every file whose writer has exited, into the session it
names (creating the session for a watched program), and deletes it. Every start checks
for such files, so only `os` and the paths load until one is found.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowertui.paths import data_dir

ONCE = ("_start", "_end", "_error", "agent_finish")  # event kinds a run has at most one of

if TYPE_CHECKING:
    from flowertui.engine.prices import Price


def spool_dir() -> Path:
    return data_dir() / "trace-spool"


def waiting() -> list[Path]:
    """Spool files whose writing process has exited (cheap: no import beyond os when there are none)."""
    folder = spool_dir()
    if not folder.is_dir():
        return []
    ready = []
    for path in sorted(folder.glob("*.jsonl")):
        parts = path.name[: -len(".jsonl")].split(".")
        if len(parts) == 3 and parts[2].isdigit() and not pid_alive(int(parts[2])):
            ready.append(path)
    return ready


def pid_alive(pid: int) -> bool:
    """Whether a process with this id still runs (a spool file is imported only once its writer is gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(database: Path, prices: dict[str, Price]) -> list[str]:
    """Import every finished spool file into the store; returns the session ids that received events."""
    sessions = []
    for path in waiting():
        claimed = path.with_suffix(".importing")
        try:
            os.rename(path, claimed)  # a second flowertui starting at the same time skips it
        except OSError:
            continue
        session_id, run, _pid = path.name[: -len(".jsonl")].split(".")
        records = _read(claimed)
        if records and _import(session_id, int(run) if run.isdigit() else 1, records, database, prices):
            sessions.append(session_id)
        claimed.unlink(missing_ok=True)
    return sessions


def _read(path: Path) -> list[dict[str, Any]]:
    from flowertui.trace.receiver import decode_line

    records = []
    for line in path.read_text("utf-8", errors="replace").splitlines():
        records.extend(decode_line(line)[1])  # the last line of a program killed mid-write decodes to nothing
    return records


def _unseen(records: list[dict[str, Any]], events: list, run: int) -> list[dict[str, Any]]:
    """The records not stored yet: a viewer killed before its last acknowledgement reached the probe stored
    some of what was spooled. A run's start and end happen once, and a stored end means all of that run is stored."""
    once = {(e.kind, e.run_id) for e in events if e.run_id and e.kind.endswith(ONCE)}
    finished = {run_id for kind, run_id in once if kind.endswith(("_end", "_error"))}
    hello = any(e.kind == "probe_hello" and e.turn == run for e in events)
    return [r for r in records if not (
        r.get("t") == "loaded"  # the probe's "I am here": no event of its own
        or (r.get("t") == "hello" and hello)
        or (r.get("t") == "event" and r.get("run_id")
            and (r["run_id"] in finished or (r.get("kind"), r["run_id"]) in once)))]


def _import(session_id: str, run: int, records: list[dict[str, Any]], database: Path,
            prices: dict[str, Price]) -> bool:
    """Whether any record was new."""
    import shlex

    from flowertui import __version__
    from flowertui.engine.bus import EventBus
    from flowertui.engine.ledger import Ledger
    from flowertui.engine.trace_ledger import trace_ledger
    from flowertui.session.store import SessionStore, SessionWriter
    from flowertui.trace.receiver import Translator

    store = SessionStore(database)
    try:
        events = store.events(session_id)
    finally:
        store.close()
    records = _unseen(records, events, run)
    if not records:
        return False
    begun = any(e.kind == "turn_start" and e.turn == run for e in events)
    bus = EventBus(session_id, seq=max((e.seq for e in events), default=0), turn=run if begun else run - 1)
    traced = trace_ledger(events, prices)  # what was stored before counts in the session's total too
    writer = SessionWriter(database, Ledger(prices), trace_ledger=traced, recorded=bool(events))
    bus.subscribe(traced)
    bus.subscribe(writer)
    try:
        hello = next((r for r in records if r.get("t") == "hello"), {})
        command = shlex.join(str(a) for a in hello.get("argv") or ["python"])
        if not events:
            bus.emit("session_start", name="session", scope="app", payload={
                "provider": "trace", "model": bus.redact(command), "flowertui": __version__, "memory_kind": None,
                "memory_settings": {}, "compare": False, "mode": "watch", "command": bus.redact(command)})
        if not begun:
            bus.begin_turn()
            bus.emit("turn_start", name="run", scope="app",
                     payload={"user": bus.redact(command), "pid": hello.get("pid"), "run": run})
        translator = Translator(bus)
        for record in records:
            translator(record)
        bus.emit("turn_end", name="run", scope="app", payload={
            "reply": f"recovered {len(records)} events from the spool", "exit_code": None, "signal": None,
            "langchain": translator.langchain or any(e.kind == "probe_hello" for e in events),
            "recovered": len(records), "dropped_events": translator.dropped})
    finally:
        writer.close()
    return True
