"""kill -9 of flowertui in every mode: the program runs to its normal end, its output stays readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flowertui as flowertui_package

from tests.support.traced import flowertui, program, session_events
from tests.trace.pty_app import PtyApp
from tests.trace.test_trace_recovery import exit_code_of, subreaper, waitable  # noqa: F401  (subreaper: fixture)


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def _exit_code_of(pid: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} did not end")


@pytest.mark.parametrize(("args", "name", "first", "second", "code", "texts"), [
    ((), "survivor.py", "first: first answer", b"second: second answer\n", 5, ["first answer", "second answer"]),
    (("--offline",), "offline_survivor.py", "first: True", b"second: True\n", 3, None),
], ids=["app", "app-offline"])
def test_sigkill_of_the_app_leaves_the_program_printing_to_a_file_named_at_next_start(
        tmp_path, subreaper, args, name, first, second, code, texts):  # noqa: F811
    marker = tmp_path / "go-on"
    app = PtyApp("trace", *args, program(name), str(marker))
    try:
        app.wait_for(first, timeout=90)
        time.sleep(0.5)
        app.process.kill()  # kill -9: no clean-up in flowertui
        app.wait(10)
    finally:
        app.close()
    holders = [int(p) for p in os.listdir("/proc") if p.isdigit() and _cmdline(int(p)).endswith(str(marker))]
    program_pid = next(p for p in holders if "relay.py" not in _cmdline(p))
    parent = _parent(program_pid)
    waited = parent if "relay.py" in _cmdline(parent) else program_pid  # whichever is now this test's child
    marker.touch()
    assert _exit_code_of(waited) == code  # the program's own exit code: its print (and its model call) did not fail

    done = flowertui("sessions")
    lines = [line for line in done.stderr.decode().splitlines() if "its later output is in" in line]
    assert len(lines) == 1, done.stderr
    output = lines[0].split("its later output is in ")[1]
    assert open(output, "rb").read() == second
    assert b"recovered spooled trace events into session" in done.stderr
    session_id = done.stderr.decode().split("into session ")[1].split()[0]
    ends = [e for e in session_events(session_id) if e.kind == "llm_end"]
    assert len(ends) == 2 and (texts is None or [e.payload["text"] for e in ends] == texts)
    assert "its later output" not in flowertui("sessions").stderr.decode()  # said once


def test_sigkill_of_a_listening_flowertui_leaves_a_watched_program_running_and_its_events_recovered(
        tmp_path, subreaper):  # noqa: F811
    marker = tmp_path / "go-on"
    listener = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--listen", "--headless"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert b"listening as session" in listener.stderr.readline()
    env = {**os.environ, "FLOWERTUI_SOURCE": str(Path(flowertui_package.__file__).parent.parent)}
    watched = subprocess.Popen([sys.executable, program("watched_survivor.py"), str(marker)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert watched.stdout.readline() == b"first: first answer\n"
    time.sleep(0.5)
    listener.kill()
    listener.wait(10)
    marker.touch()
    out, err = watched.communicate(timeout=60)
    assert watched.returncode == 6 and out == b"second: second answer\n", err.decode()
    done = flowertui("sessions")
    assert b"recovered spooled trace events into session" in done.stderr, done.stderr
    session_id = done.stderr.decode().split("into session ")[1].split()[0]
    assert "second answer" in [e.payload.get("text") for e in session_events(session_id) if e.kind == "llm_end"]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def test_sigkill_of_headless_flowertui_in_offline_mode_leaves_the_server_answering_the_program(tmp_path,
                                                                                               subreaper):  # noqa: F811
    marker = tmp_path / "go-on"
    viewer = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--headless", "--offline",
                               program("offline_survivor.py"), str(marker)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    pid = int(viewer.stdout.readline())
    assert viewer.stdout.readline() == b"first: True\n"
    servers = [p for p in _pids() if "--until-eof" in _cmdline(p) and _parent(p) == viewer.pid]  # not another test's
    assert servers
    waited = waitable(pid)
    viewer.send_signal(signal.SIGKILL)
    viewer.wait(10)
    marker.touch()
    assert viewer.stdout.read() == b"second: True\n"  # the offline server outlived flowertui
    assert exit_code_of(waited) == 3
    deadline = time.monotonic() + 15
    while any(_cmdline(p) for p in servers) and time.monotonic() < deadline:  # and ended with the program
        for server in servers:
            try:
                os.waitpid(server, os.WNOHANG)
            except ChildProcessError:
                pass
        time.sleep(0.1)
    assert not any(_cmdline(p) for p in servers)


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]
