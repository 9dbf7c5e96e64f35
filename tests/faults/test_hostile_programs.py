"""Programs hostile to the probe, and the spool's recovery from faults: each through the real `flowertui`.

The probe lives inside someone else's program: whatever that program does to sockets,
json or its own descriptors, the probe never raises into it, never writes to its
streams, and its events still arrive (live, or through the spool).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import flowertui
from flowertui.session.store import DB_NAME, SessionStore

PROGRAMS = Path(__file__).parent / "programs"


def run(*args: str, data: Path, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "flowertui", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "FLOWERTUI_DATA_DIR": str(data), **(env or {})})


def events_of(data: Path, session_id: str):
    store = SessionStore(data / DB_NAME)
    try:
        return store.events(session_id)
    finally:
        store.close()


def answers(events) -> list[str]:
    return [e.payload["text"] for e in events if e.kind == "llm_end"]


def trace(how: str, *args: str, data: Path, env: dict[str, str] | None = None):
    started = time.monotonic()
    done = run("trace", "--json", str(PROGRAMS / "hostile_program.py"), how, *args, data=data, env=env)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done, took


def recovered_session(done: subprocess.CompletedProcess) -> str:
    assert "recovered spooled trace events into session" in done.stderr, done.stderr
    return done.stderr.split("into session ")[1].split()[0].rstrip(";")


def test_a_socket_raising_a_base_exception_neither_reaches_the_program_nor_delays_its_exit(tmp_path):
    data = tmp_path / "data"
    report = tmp_path / "report"
    document, done, _ = trace("socket_raises", "3", str(report), data=data)
    assert "Traceback" not in done.stderr and "flowertui-probe" not in done.stderr, done.stderr
    # the program's own output (stdout → stderr under --json), then at most flowertui's line on what was delivered
    assert [line for line in done.stderr.splitlines() if not line.startswith("flowertui: ")] == ["done"]
    # the probe's exit handler: no 3 s wait for a sender thread that died (2.5 leaves room for a loaded machine)
    assert float(report.read_text()) < 2.5
    run("sessions", data=data)  # what the probe could not send was spooled, and is imported into its session
    assert answers(events_of(data, document["session_id"])) == ["answer 0", "answer 1", "answer 2"]


def test_a_patched_json_dumps_and_a_secret_equal_to_a_record_key_lose_nothing(tmp_path):
    data = tmp_path / "data"
    document, done, _ = trace("json_patched", data=data, env={"SHOP_SECRET": "handlers"})
    assert "Traceback" not in done.stderr
    run("sessions", data=data)  # on a loaded machine the viewer may stop waiting first: the spool has the rest
    events = events_of(data, document["session_id"])
    assert answers(events) == ["answer 0", "answer 1", "answer 2"]
    assert all("handlers" in e.payload for e in events if e.kind in ("chat_model_start", "llm_end"))


def test_a_program_that_closed_its_stdout_and_stderr_never_writes_into_the_probe(tmp_path):
    data = tmp_path / "data"
    report = tmp_path / "report"
    document, done, _ = trace("closed_stdio", "3", str(report), data=data)
    assert report.read_text() == "OSError 9"  # EBADF, as without the probe: fd 1 is not the probe's socket
    run("sessions", data=data)
    assert answers(events_of(data, document["session_id"])) == ["answer 0", "answer 1", "answer 2"]
    assert document.get("dropped_events", 0) == 0


def test_os_exit_after_50_calls_delivers_every_run_that_ended_before(tmp_path):
    data = tmp_path / "data"
    # the program waits until the probe's sender has gone idle by itself (no exit handler asked it to), not a
    # fixed time that a loaded machine may not give it: what is tested is that runs are sent as they end
    document, done, _ = trace("os_exit", "50", data=data)
    events = events_of(data, document["session_id"])
    assert answers(events) == [f"answer {i}" for i in range(50)]
    # the exit code alone would read as a normal end; the probe never said bye, so no exit handler ran
    assert events[-1].payload.exit_state == "exited 0 without running exit handlers (os._exit)"


def watched(data: Path) -> Path:
    """Run a watched program with no viewer: its events go to the spool; the spool file is returned."""
    env = {**os.environ, "FLOWERTUI_DATA_DIR": str(data), "FLOWERTUI_SOURCE": str(Path(flowertui.__file__).parent.parent)}
    done = subprocess.run([sys.executable, str(PROGRAMS / "watched_stream.py")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0 and done.stdout == "streamed\n", done.stderr
    (spooled,) = (data / "trace-spool").glob("*.jsonl")
    return spooled


def test_a_batch_stored_but_not_acknowledged_then_sent_again_is_stored_once(tmp_path):
    data = tmp_path / "data"
    spooled = watched(data)
    lines = spooled.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 3  # tokens paced 10 ms apart: several batches
    middle = len(lines) // 2
    spooled.write_bytes(b"".join(lines[:middle]))  # the viewer stored these batches…
    session = recovered_session(run("sessions", data=data))
    spooled.write_bytes(b"".join(lines[middle - 1:]))  # …and died before its acknowledgement of the last one
    assert recovered_session(run("sessions", data=data)) == session
    events = events_of(data, session)
    streamed = [e.payload["token"] for e in events if e.kind == "llm_new_token"]
    assert "".join(streamed) == "pink roses for a birthday"  # each token once
    assert answers(events) == ["pink roses for a birthday"]


def test_corrupt_spool_records_are_skipped_and_counted_and_a_stranded_import_is_retried(tmp_path):
    data = tmp_path / "data"
    spooled = watched(data)
    good = spooled.read_bytes()
    bad = json.dumps({"n": 99, "records": [
        {"t": "event", "kind": "llm_end", "run_id": "x", "wall": "not a time"},
        {"t": "event", "kind": "chain_start", "run_id": "y", "payload": "not an object"}]}).encode()
    spooled.write_bytes(good + bad + b"\n" + b"not json at all\n" + b'{"n": 100, "records": [{"t": "ev')
    stranded = spooled.with_name(spooled.name.replace(".jsonl", ".importing"))  # an import that crashed
    spooled.rename(stranded)
    done = run("sessions", data=data)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("flowertui:")]
    assert len(notes) == 1, done.stderr
    assert "skipped 4 unreadable spooled records" in notes[0] and "a batch cut short" in notes[0]
    assert answers(events_of(data, recovered_session(done))) == ["pink roses for a birthday"]
    assert not list((data / "trace-spool").iterdir())


def test_an_unwritable_spool_folder_is_said_before_the_program_starts_and_a_fallback_keeps_the_events(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "trace-spool").write_text("a file where the spool folder should be")
    env = {"TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    done = run("trace", "--headless", str(PROGRAMS / "hostile_program.py"), "socket_raises", data=data, env=env)
    assert done.returncode == 0, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith("flowertui: cannot write the trace spool") and str(tmp_path / "tmp") in first
    assert "Traceback" not in done.stderr
    # the probe now connects as the program starts (its `loaded` record), before the program breaks its sockets:
    # what it could not send is in the fallback spool, imported into the session by the next start
    run("sessions", data=data, env=env)
    [session] = [line.split()[0] for line in run("sessions", data=data, env=env).stdout.splitlines()[1:]]
    assert answers(events_of(data, session)) == ["answer 0", "answer 1", "answer 2"]


def test_a_read_only_data_folder_is_one_line_naming_it_and_the_flag(tmp_path):
    data = tmp_path / "ro"
    data.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(data), str(data)], capture_output=True, text=True)
    assert mounted.returncode == 0, f"this test needs root to make a read-only mount: {mounted.stderr}"
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(data)], check=True)
        done = run("trace", "--headless", str(PROGRAMS / "hostile_program.py"), "plain", data=data)
    finally:
        subprocess.run(["umount", str(data)], check=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert str(data) in done.stderr and "--data-dir" in done.stderr and "done" not in done.stderr
