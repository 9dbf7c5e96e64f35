"""flowertui killed mid-turn (with its traced program): the next start closes the turn as interrupted, with an estimate.

Real processes throughout: `flowertui trace --headless` and `flowertui run` are started as a user would, killed with
SIGKILL, and the next `flowertui sessions` is read back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import flowertui as flowertui_package
from flowertui.session.store import DB_NAME, SessionStore
from tests.support.traced import flowertui, program, session_events
from tests.trace.test_event_schema import exported, validate
from tests.trace.test_trace_recovery import subreaper  # noqa: F401  (a fixture)

INTERRUPTED = "closed turn 1 of session "
DISCONNECTED = "disconnected before a normal exit (killed, os._exit, or its connection lost)"


def _row(listing: bytes, session_id: str) -> list[str]:
    return next(line.split() for line in listing.decode().splitlines() if line.startswith(session_id))


def _lock_files() -> list[Path]:
    return list((Path(os.environ["FLOWERTUI_DATA_DIR"]) / "session-locks").glob("*.lock"))


def test_a_trace_killed_with_its_program_mid_stream_is_closed_as_interrupted_with_an_estimate(tmp_path, subreaper):
    viewer = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--headless", program("streams_long.py")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        pid = int(viewer.stdout.readline())
        assert viewer.stdout.readline() == b"first: the first answer, finished\n"
        assert viewer.stdout.readline() == b"streaming\n"
        deadline = time.monotonic() + 30  # until a streamed token is committed (batches of 0.2 s; later when busy)
        while time.monotonic() < deadline and not _streamed_token_stored():
            time.sleep(0.05)
    finally:  # the program frozen first, so neither its viewer reaps it nor its probe spools before both die
        os.kill(pid, signal.SIGSTOP)
        os.kill(viewer.pid, signal.SIGKILL)
        viewer.wait(10)
        os.kill(pid, signal.SIGKILL)
    _reaped(pid)

    done = flowertui("sessions")
    assert done.returncode == 0, done.stderr
    stderr = done.stderr.decode()
    assert INTERRUPTED in stderr and "the call in flight is estimated (~)" in stderr and "Traceback" not in stderr
    session_id = stderr.split(INTERRUPTED)[1].split()[0]
    tokens = _row(done.stdout, session_id)[-1]
    assert tokens.startswith("~") and int(tokens[1:]) > 0

    events = session_events(session_id)
    end = events[-1]
    assert end.kind == "turn_cancelled" and end.payload.exit_state == "interrupted: flowertui and the program were killed"
    (call,) = end.payload.estimated_calls
    assert call.prompt_tokens > 0 and call.completion_tokens > 0  # the prompt and what had streamed
    finished = next(e for e in events if e.kind == "llm_end")  # the first call counts as usual
    assert int(tokens[1:]) == (finished.payload.prompt_tokens_estimate + finished.payload.completion_tokens_estimate
                               + call.prompt_tokens + call.completion_tokens)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert validate(exported(session_id, tmp_path))[-1]["payload"]["estimated_calls"][0]["run_id"] == call.run_id
    assert not _lock_files()

    again = flowertui("sessions")  # closed once: the next start has nothing to do
    assert INTERRUPTED not in again.stderr.decode() and _row(again.stdout, session_id)[-1] == tokens


def _stored_kinds() -> list[str]:
    """The kinds of the events stored so far in this test's folder (which holds one session)."""
    try:
        store = SessionStore(Path(os.environ["FLOWERTUI_DATA_DIR"]) / DB_NAME)
        try:
            return [e.kind for e in store.events(store.resolve(""))]
        finally:
            store.close()
    except Exception:  # not recorded yet
        return []


def _streamed_token_stored() -> bool:
    """Whether the store holds a token of the call in flight (one streamed after the first call ended)."""
    kinds = _stored_kinds()
    return "llm_end" in kinds and "llm_new_token" in kinds[kinds.index("llm_end"):]


def test_a_chat_is_left_alone_while_its_writer_lives_and_closed_once_it_is_killed(tmp_path):
    chat = subprocess.Popen([sys.executable, "-m", "flowertui", "run", "--script", "lesson", "--speed", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        shown = b""
        while "花店 ›".encode() not in shown:  # the reply has begun
            piece = chat.stdout.read1(4096)
            assert piece, chat.stderr.read().decode()
            shown += piece
        deadline = time.monotonic() + 30  # mid-reply, until some tokens are committed
        while time.monotonic() < deadline and "llm_new_token" not in _stored_kinds():
            time.sleep(0.05)
        alive = flowertui("sessions")  # another flowertui starting now: the running turn is not its to close
        assert alive.returncode == 0 and INTERRUPTED not in alive.stderr.decode()
        assert _lock_files()
    finally:
        chat.send_signal(signal.SIGKILL)
        chat.wait(10)

    done = flowertui("sessions")
    stderr = done.stderr.decode()
    assert INTERRUPTED in stderr and "estimated (~)" in stderr
    session_id = stderr.split(INTERRUPTED)[1].split()[0]
    tokens = _row(done.stdout, session_id)[-1]
    assert tokens.startswith("~") and int(tokens[1:]) > 0
    end = session_events(session_id)[-1]
    assert end.kind == "turn_cancelled" and end.payload.interrupted == "interrupted: flowertui was killed"
    assert end.payload.reply and end.payload.completion_tokens > 0  # what had streamed, counted
    assert end.memory_kind == "buffer"
    validate(exported(session_id, tmp_path))


def _watch_env() -> dict[str, str]:
    return {**os.environ, "FLOWERTUI_SOURCE": str(Path(flowertui_package.__file__).parent.parent)}


def test_a_watched_program_cut_off_by_os_exit_with_no_viewer_is_imported_as_interrupted(tmp_path):
    done = subprocess.run([sys.executable, program("watched_cut.py")], capture_output=True, env=_watch_env(),
                          timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    listed = flowertui("sessions")  # the next start imports the spool: no bye in it, so no exit handler ran
    stderr = listed.stderr.decode()
    assert "recovered spooled trace events into session" in stderr and "Traceback" not in stderr
    session_id = stderr.split("into session ")[1].split()[0].rstrip(";")
    tokens = _row(listed.stdout, session_id)[-1]
    assert tokens.startswith("~") and int(tokens[1:]) > 0
    end = session_events(session_id)[-1]
    assert end.kind == "turn_cancelled" and "ended without running exit handlers (killed or os._exit)" in \
        end.payload.exit_state
    (call,) = end.payload.estimated_calls
    assert call.completion_tokens > 0
    validate(exported(session_id, tmp_path))


def test_a_listener_tells_a_watched_program_that_exited_from_one_cut_off_by_os_exit():
    listener = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--listen", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = listener.stderr.readline().decode()
        assert "listening as session" in line
        session_id = line.split("listening as session ")[1].split(";")[0]
        env = {**_watch_env(), "DEMO_API_KEY": "demo-secret-value-123"}
        for name in ("watched.py", "watched_cut.py"):
            done = subprocess.run([sys.executable, program(name)], capture_output=True, env=env, timeout=60)
            assert done.returncode == 0, done.stderr.decode()
        deadline = time.monotonic() + 20  # the listener sees the cut-off program's connection close a moment later
        while time.monotonic() < deadline and len(_ends(session_id)) < 2:
            time.sleep(0.1)
    finally:
        listener.send_signal(signal.SIGINT)
        listener.communicate(timeout=30)
    assert _ends(session_id) == {1: "exited", 2: DISCONNECTED}


def _ends(session_id: str) -> dict[int, str]:
    try:
        events = session_events(session_id)
    except Exception:  # not recorded yet
        return {}
    return {e.turn: e.payload.exit_state for e in events if e.kind == "turn_end"}


def _reaped(pid: int) -> None:
    """Wait until the killed program is gone: reaped by its relay (offline runs are relayed) or, orphaned, by this
    process, the subreaper (the relay too, once it follows the program)."""
    from flowertui.trace.spool import pid_alive

    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    assert not pid_alive(pid)
