"""The probe inside a program: never blocks it, never breaks it, never makes `import flowertui` heavy."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

from flowertui.trace.launcher import probe_env
from tests.support.traced import program


def test_a_stalled_viewer_never_blocks_the_program_and_what_it_did_not_take_is_spooled(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept_and_never_read():
        conn, _ = server.accept()
        held.append(conn)  # keeps the connection open, reads nothing, acknowledges nothing

    threading.Thread(target=accept_and_never_read, daemon=True).start()
    host, port = server.getsockname()[:2]
    env = probe_env(os.environ, addr=f"{host}:{port}", token="t", spool_dir=tmp_path / "spool", session_id="stall",
                    run=1)
    started = time.monotonic()
    done = subprocess.run([sys.executable, program("survivor.py"), str(tmp_path)], env=env, capture_output=True,
                          timeout=60)
    took = time.monotonic() - started
    assert done.returncode == 5 and done.stdout.endswith(b"second: second answer\n")
    assert took < 20  # the probe's exit wait is bounded (3 s), whatever the viewer does
    [spooled] = (tmp_path / "spool").glob("stall.1.*.jsonl")
    records = [r for line in spooled.read_text().splitlines() for r in json.loads(line)["records"]]
    assert [r["payload"]["text"] for r in records if r.get("kind") == "llm_end"] == ["first answer", "second answer"]
    server.close()


def test_a_broken_environment_never_stops_the_program(tmp_path):
    env = probe_env(os.environ, addr="not-an-address", token="t", spool_dir=tmp_path / "file-not-dir",
                    session_id="x", run=1)
    (tmp_path / "file-not-dir").write_text("in the way")
    done = subprocess.run([sys.executable, program("survivor.py"), str(tmp_path)], env=env, capture_output=True,
                          timeout=60)
    assert done.returncode == 5 and done.stderr == b""


def test_langchain_never_calls_the_probes_handler_it_records_around_it(tmp_path):
    """The probe's handler has no callback code: LangChain skips it (its ignore flags) instead of calling a base-class
    no-op per event, which cost a streamed token as much as a program's own handler does."""
    env = probe_env(os.environ, addr=None, token="t", spool_dir=tmp_path, session_id="skipped00001", run=1)
    done = subprocess.run([sys.executable, program("streams_short.py")], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout.decode().splitlines() == ["roses", "inherited token no-ops called: 0"]
    [spooled] = tmp_path.glob("skipped00001.1.*.jsonl")
    records = [r for line in spooled.read_text().splitlines() for r in json.loads(line)["records"]]
    assert [r.get("payload", {}).get("token") for r in records if r.get("kind") == "llm_new_token"] == ["r"]
    assert [t for r in records if r["t"] == "tokens" for t in r["tokens"]] == list("oses")


def test_a_streamed_piece_over_a_records_room_is_cut_saying_how_much(tmp_path):
    env = probe_env(os.environ, addr=None, token="t", spool_dir=tmp_path, session_id="hugepiece001", run=1)
    done = subprocess.run([sys.executable, program("streams_huge_piece.py")], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout == b"300002\n" and done.stderr == b""
    [spooled] = tmp_path.glob("hugepiece001.1.*.jsonl")
    lines = spooled.read_bytes().splitlines()
    assert all(len(line) < 4 << 20 for line in lines)
    records = [r for line in lines for r in json.loads(line)["records"]]
    later = [t for r in records if r["t"] == "tokens" for t in r["tokens"] if t]  # LangChain ends with "" too
    assert later == ["b" * (1 << 18) + " [+%d chars cut]" % (300_000 - (1 << 18)), "c"]


def test_import_flowertui_stays_light():
    code = ("import sys, flowertui; heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('langchain_core', 'textual', 'tiktoken', 'sqlite3')]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_flowertuis_own_work_on_events_runs_at_lower_priority_and_the_program_does_not(tmp_path):
    """The receiver's threads are lowered (Linux); the program keeps the priority flowertui started with."""
    import pytest

    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread priorities are Linux's")
    from flowertui.trace.priority import NICENESS
    from flowertui.trace.receiver import Listener

    seen = []

    def handle(record, origin):
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    listener = Listener(handle)
    env = probe_env(os.environ, addr=listener.addr, token=listener.token, spool_dir=tmp_path, session_id="p", run=1)
    code = "import os; from langchain_core.prompts import ChatPromptTemplate; ChatPromptTemplate.from_template('x')" \
           ".invoke({}); print(os.getpriority(os.PRIO_PROCESS, 0))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    listener.wait_quiet(10)
    listener.close()
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert int(done.stdout) == ours
    assert seen and all(prio == min(19, ours + NICENESS) for prio in seen)
