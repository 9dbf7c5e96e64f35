"""Events a probe could not deliver: JSONL files in the data dir, imported into their session later.

A probe writes `<session>.<run>.<pid>.jsonl` when its viewer is gone (killed,
crashed) or when `flowertui.watch()` runs with no viewer listening. The next
flowertui start imports every file whose writer has exited, into the session it
names (creating the session for a watched program), and deletes it. An import claims
its file by renaming it `<session>.<run>.<pid>.<importer pid>.importing`; a claim whose
importer died is taken up again by the next start. Records that cannot be read are
skipped and counted, never fatal. Every start checks for such files, so only `os` and
the paths load until one is found.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowertui.paths import data_dir

ONCE = ("_start", "_end", "_error", "agent_finish")  # event kinds a run has at most one of
NOTICES = ("embedding",)  # records the offline server spools (serve/notices.py), not a probe

if TYPE_CHECKING:
    from flowertui.engine.prices import PriceBook


def spool_dir() -> Path:
    """Where probes spool: `trace-spool/` in the data folder, or the fallback when that cannot be written."""
    primary = data_dir() / "trace-spool"
    return primary if _usable(primary) else fallback_dir()


def fallback_dir() -> Path:
    """`flowertui-<uid>/trace-spool` in the temporary folder: used only while the data folder's cannot be written."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(os.environ.get("TMPDIR") or "/tmp") / f"flowertui-{uid}" / "trace-spool"


def check_spool() -> str | None:
    """One line to say before a traced program starts when its events could not be spooled where they should."""
    primary = data_dir() / "trace-spool"
    if _usable(primary):
        return None
    fallback = fallback_dir()
    if _usable(fallback):
        return f"cannot write the trace spool {primary}; events a killed viewer misses go to {fallback}"
    return f"cannot write the trace spool {primary} nor {fallback}: events a killed viewer misses will be lost"


def _usable(folder: Path) -> bool:
    """The folder exists (created 0700 if need be), it and its parent are ours, and it can be written."""
    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        infos = (folder.lstat(), folder.parent.stat())
    except OSError:
        return False
    own = not hasattr(os, "getuid") or all(info.st_uid == os.getuid() for info in infos)
    return folder.is_dir() and not folder.is_symlink() and own and os.access(folder, os.W_OK | os.X_OK)


def waiting() -> list[Path]:
    """Spool files whose writing process has exited, and claims whose importer died (cheap: no import beyond
    os when there are none)."""
    ready = []
    for folder in (data_dir() / "trace-spool", fallback_dir()):
        if folder.is_dir():
            ready.extend(_finished(folder))
    return ready


def _finished(folder: Path) -> list[Path]:
    ready = []
    for path in sorted(folder.iterdir()):
        name, _, suffix = path.name.rpartition(".")
        parts = name.split(".")
        if suffix == "jsonl" and len(parts) == 3 and parts[2].isdigit() and not pid_alive(int(parts[2])):
            ready.append(path)
        elif suffix == "importing" and len(parts) in (3, 4) and not (  # 3 parts: claimed by an older flowertui
                len(parts) == 4 and parts[3].isdigit() and pid_alive(int(parts[3]))):
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
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A process that has exited but not been reaped yet (its parent, a killed flowertui, is gone too): dead."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def recover(database: Path, prices: PriceBook) -> list[tuple[str, bool, dict[str, int]]]:
    """Import every finished spool file into the store: (session id, whether it received events,
    {reason: records skipped}) for each session that received events or had records skipped."""
    done: dict[str, tuple[bool, collections.Counter[str]]] = {}
    for path in waiting():
        session_id, run, pid = path.name.split(".")[:3]
        claimed = path.with_name(f"{session_id}.{run}.{pid}.{os.getpid()}.importing")
        try:
            os.rename(path, claimed)  # a second flowertui starting at the same time skips it
        except OSError:
            continue
        records, skipped = _read(claimed)
        imported = bool(records) and _import(session_id, int(run) if run.isdigit() else 1, records, database,
                                             prices, skipped)
        if imported or skipped:
            before, counts = done.get(session_id, (False, collections.Counter()))
            done[session_id] = (before or imported, counts + skipped)
        claimed.unlink(missing_ok=True)
    return [(session_id, imported, dict(skipped)) for session_id, (imported, skipped) in done.items()]


def _read(path: Path) -> tuple[list[dict[str, Any]], collections.Counter[str]]:
    """The usable records of a spool file, and how many were skipped for which reason."""
    from flowertui.trace.receiver import read_batch

    records, skipped = [], collections.Counter()
    with open(path, "rb") as file:
        for line in file:
            if not line.strip():
                continue
            if not line.endswith(b"\n"):  # the last line of a program killed mid-write
                skipped["a batch cut short"] += 1
                continue
            _number, batch, problems = read_batch(line)
            records.extend(batch)
            skipped.update(problems)
    return records, skipped


def _unseen(records: list[dict[str, Any]], events: list, run: int) -> list[dict[str, Any]]:
    """The records not stored yet: a viewer killed after committing a batch but before its acknowledgement
    reached the probe stored some of what was spooled. An event is known by its run, kind and the probe's
    monotonic stamp (unique per event in one process), so a re-sent token is not stored twice; a run's start
    and end happen once, and a stored end means all of that run is stored."""
    stamps = {(e.run_id, e.kind, e.mono) for e in events if e.run_id}
    once = {(e.kind, e.run_id) for e in events if e.run_id and e.kind.endswith(ONCE)}
    finished = {run_id for kind, run_id in once if kind.endswith(("_end", "_error"))}
    hello = any(e.kind == "probe_hello" and e.turn == run for e in events)
    unseen = [r for r in records if not (
        r.get("t") == "loaded"  # the probe's "I am here": no event of its own
        or (r.get("t") == "hello" and hello)
        or (r.get("t") == "event" and r.get("run_id")
            and (r["run_id"] in finished or (r.get("kind"), r["run_id"]) in once
                 or (r["run_id"], r.get("kind"), r.get("mono")) in stamps)))]
    return unseen if any(r.get("t") != "bye" for r in unseen) else []  # a bye is not stored: alone, it is nothing new


def _ended_normally(records: list[dict[str, Any]], events: list) -> bool:
    """Whether the program's exit handlers ran: its probe said bye (a probe of protocol 1 never does)."""
    hellos = [r.get("protocol") for r in records if r.get("t") == "hello"]
    hellos += [e.payload.protocol for e in events if e.kind == "probe_hello"]
    return any(r.get("t") == "bye" for r in records) or not any(type(p) is int and p >= 2 for p in hellos)


def _import(session_id: str, run: int, records: list[dict[str, Any]], database: Path,
            prices: PriceBook, skipped: collections.Counter[str]) -> bool:
    """Whether any record was new."""
    import shlex

    from flowertui.engine.events import PROBE_HELLO, TURN_CANCELLED, TURN_END, TraceVariant
    from flowertui.engine.session_kinds import SessionKind, ledger_of
    from flowertui.session.store import SessionStore, SessionWriter
    from flowertui.trace.assembly import assemble_trace

    store = SessionStore(database)
    try:
        events = store.events(session_id)
    finally:
        store.close()
    records = _unseen(records, events, run)
    if not records:
        return False
    begun = any(e.kind == "turn_start" and e.turn == run for e in events)
    seen: list = []
    session = assemble_trace(
        [seen.append],
        ledger=ledger_of(SessionKind.TRACE, events, prices),  # what was stored before counts in the total too
        writer=lambda ledger: SessionWriter(database, ledger, recorded=bool(events)),
        session_id=session_id, seq=max((e.seq for e in events), default=0), turn=run if begun else run - 1)
    try:
        hello = next((r for r in records if r.get("t") == "hello"), {})
        command = shlex.join(str(a) for a in hello.get("argv") or ["python"])
        if not events:
            session.start_session(TraceVariant.WATCH, command)
        if not begun:
            pid = hello.get("pid")
            session.start_run(command, pid if isinstance(pid, int) else None)
        translator = session.translator
        for record in records:
            try:
                translator(record)
            except Exception as exc:  # a record of the right shape with unusable contents: skipped, counted
                skipped[f"could not be read ({type(exc).__name__})"] += 1
        if all(record.get("t") in NOTICES for record in records):  # the offline server's: the program's probe, or
            return True                                                 # the next start's closer, ends the run
        recovered = f"recovered {len(records)} events from the spool"
        langchain = translator.langchain or any(e.kind == PROBE_HELLO for e in events)
        if _ended_normally(records, events):
            session.end_run(TURN_END, recovered, langchain=langchain, recovered=len(records),
                            dropped_events=translator.dropped)
        else:  # killed, or os._exit: no exit handler ran, so a call may have been cut off mid-way
            from flowertui.session.interrupted import estimated_calls

            session.end_run(TURN_CANCELLED, f"{recovered}; the program ended without running exit handlers "
                            "(killed or os._exit)", langchain=langchain, recovered=len(records),
                            dropped_events=translator.dropped,
                            estimated_calls=estimated_calls([e for e in (*events, *seen) if e.turn == run]) or None)
    finally:
        session.close()
    return True
