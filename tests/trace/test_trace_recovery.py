"""The program never depends on flowertui: killed viewers, spooled events, and watch() without a viewer."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flowertui
from flowertui.session.store import SessionStore
from tests.support.traced import flowertui as run_flowertui
from tests.support.traced import program, session_events
from tests.trace.test_event_schema import exported as exported_jsonl
from tests.trace.test_event_schema import validate

PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture
def subreaper():
    """Orphans (the program once flowertui is killed) become this process's children, so their exit code is known."""
    if not sys.platform.startswith("linux"):
        pytest.skip("needs prctl(PR_SET_CHILD_SUBREAPER)")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    yield
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def waitable(pid: int) -> int:
    """The program's relay when it runs under one (offline: the relay holds the server), else the program:
    whichever this test reaps once the viewer is gone. The relay ends as the program ended."""
    with open(f"/proc/{pid}/stat") as stat:
        parent = int(stat.read().rsplit(")", 1)[1].split()[1])
    with open(f"/proc/{parent}/cmdline", "rb") as cmdline:
        return parent if b"relay.py" in cmdline.read() else pid


def exit_code_of(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_sigkill_of_headless_flowertui_leaves_the_program_running_and_its_events_recovered(tmp_path, subreaper):
    marker = tmp_path / "go-on"
    viewer = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--headless", program("survivor.py"),
                               str(marker)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pid = int(viewer.stdout.readline())
    assert viewer.stdout.readline() == b"first: first answer\n"
    time.sleep(0.5)
    viewer.send_signal(signal.SIGKILL)
    viewer.wait(10)
    waited = waitable(pid)
    marker.touch()
    rest = viewer.stdout.read()  # the program still writes to the pipe it inherited
    assert rest == b"second: second answer\n"
    assert exit_code_of(waited) == 5

    done = run_flowertui("sessions")  # the next start imports the spool
    assert done.returncode == 0 and b"recovered spooled trace events into session" in done.stderr
    session_id = done.stderr.decode().split("into session ")[1].split()[0]
    events = session_events(session_id)
    ends = [e for e in events if e.kind == "llm_end"]
    assert [e.payload["text"] for e in ends] == ["first answer", "second answer"]
    assert [e.kind for e in events].count("session_start") == 1 and events[-1].kind == "turn_end"
    assert events[-1].payload["recovered"] > 0
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    exported = validate(exported_jsonl(session_id, tmp_path))  # the export obeys docs/events.schema.json
    assert [e["kind"] for e in exported] == [e.kind for e in events]
    assert not list((Path(os.environ["FLOWERTUI_DATA_DIR"]) / "trace-spool").glob("*.jsonl"))


def test_watch_saves_a_new_session_that_replay_can_load(tmp_path):
    source = str(Path(flowertui.__file__).parent.parent)
    env = {**os.environ, "FLOWERTUI_SOURCE": source, "DEMO_API_KEY": "demo-secret-value-123"}
    done = subprocess.run([sys.executable, program("watched.py")], capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"watched answer\nunseen\n"
    assert run_flowertui("sessions").returncode == 0
    store = SessionStore(Path(os.environ["FLOWERTUI_DATA_DIR"]) / "sessions.sqlite3")
    latest = store.resolve("latest")
    store.close()
    events = session_events(latest)
    assert [e.payload["text"] for e in events if e.kind == "llm_end"] == ["watched answer"]
    assert events[0].kind == "session_start" and events[0].payload.trace_variant == "watch"
    assert not any("demo-secret-value-123" in json.dumps(e.to_dict()) for e in events)
    exported = tmp_path / "watched.jsonl"
    assert run_flowertui("export", "latest", "--format", "jsonl", "-o", str(exported)).returncode == 0
    from flowertui.session.replay import load_session

    assert [e.kind for e in load_session(str(exported), Path("unused")).events] == [e.kind for e in events]


def test_watch_reports_live_to_a_listening_flowertui(tmp_path):
    listener = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--listen", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = listener.stderr.readline().decode()
    assert "listening as session" in line
    env = {**os.environ, "FLOWERTUI_SOURCE": str(Path(flowertui.__file__).parent.parent),
           "DEMO_API_KEY": "demo-secret-value-123"}
    done = subprocess.run([sys.executable, program("watched.py")], capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    session_id = line.split("listening as session ")[1].split(";")[0]
    deadline = time.monotonic() + 20  # a busy listener may store the run's end a moment after the program exited
    while time.monotonic() < deadline and not _stored_end(session_id):
        time.sleep(0.05)
    listener.send_signal(signal.SIGINT)
    out, _ = listener.communicate(timeout=30)
    assert listener.returncode == 0
    doc = json.loads(out)
    events = session_events(doc["session_id"])
    kinds = [e.kind for e in events]
    assert kinds[:3] == ["session_start", "turn_start", "probe_hello"] and kinds[-1] == "turn_end"
    assert [e.payload["text"] for e in events if e.kind == "llm_end"] == ["watched answer"]
    assert doc["runs"][0]["name"] == "RunnableSequence"
    assert not any("demo-secret-value-123" in json.dumps(e.to_dict()) for e in events)  # the program's own secret
    assert not list((Path(os.environ["FLOWERTUI_DATA_DIR"]) / "trace-spool").glob("*.jsonl"))  # nothing spooled
    assert not (Path(os.environ["FLOWERTUI_DATA_DIR"]) / "trace-listener.json").exists()


def _stored_end(session_id: str) -> bool:
    try:
        return any(e.kind == "turn_end" for e in session_events(session_id))
    except Exception:  # not recorded yet
        return False


def test_batches_the_killed_viewer_acknowledged_are_not_recovered_twice(tmp_path, subreaper):
    marker = tmp_path / "go-on"
    viewer = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--headless", program("many_batches.py"),
                               str(marker), "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pid = int(viewer.stdout.readline())
    assert viewer.stdout.readline() == b"ready\n"
    time.sleep(0.5)  # the viewer stores and acknowledges the last batch
    viewer.send_signal(signal.SIGKILL)
    viewer.wait(10)
    waited = waitable(pid)
    marker.touch()
    assert exit_code_of(waited) == 0

    done = run_flowertui("sessions")
    assert done.returncode == 0 and b"recovered spooled trace events into session" in done.stderr
    session_id = done.stderr.decode().split("into session ")[1].split()[0]
    texts = [e.payload["text"] for e in session_events(session_id) if e.kind == "llm_end"]
    assert texts == [f"answer {i}" for i in range(40)]  # each call once: none lost, none imported twice


def test_a_spool_holding_events_already_stored_adds_none_of_them_again():
    env = {**os.environ, "FLOWERTUI_SOURCE": str(Path(flowertui.__file__).parent.parent),
           "DEMO_API_KEY": "demo-secret-value-123"}
    done = subprocess.run([sys.executable, program("watched.py")], capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    spooled = next((Path(os.environ["FLOWERTUI_DATA_DIR"]) / "trace-spool").glob("*.jsonl"))
    kept = spooled.read_bytes()
    first = run_flowertui("sessions")
    assert b"recovered spooled trace events into session" in first.stderr
    session_id = first.stderr.decode().split("into session ")[1].split()[0]
    stored = session_events(session_id)
    spooled.write_bytes(kept)  # as if the viewer had stored it all and died before its acknowledgement arrived
    again = run_flowertui("sessions")
    assert again.returncode == 0 and b"recovered" not in again.stderr
    assert session_events(session_id) == stored and not spooled.exists()
    assert [e.payload["text"] for e in stored if e.kind == "llm_end"] == ["watched answer"]
