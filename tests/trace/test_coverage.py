"""flowertui says what it did not trace: probe not loaded, no LangChain, no model call, undelivered events."""

from __future__ import annotations

import sys
import time

import pytest

from tests.support.traced import flowertui, program, trace_json
from tests.trace.pty_app import PtyApp


@pytest.mark.parametrize(("flag", "reason", "name", "output"), [
    ("-I", b"python -I ignores PYTHONPATH", "one_call.py", b"an answer\n"),
    ("-E", b"python -E ignores PYTHONPATH", "one_call.py", b"an answer\n"),
    ("-S", b"python -S skips the site module", "plain.py", b"no chains here\n"),  # -S: no site-packages either
])
def test_a_python_that_never_loads_the_probe_is_reported_not_traced(flag, reason, name, output):
    done = flowertui("trace", "--headless", "--", sys.executable, flag, program(name))
    assert done.returncode == 0 and done.stdout == output
    lines = [line for line in done.stderr.splitlines() if line.startswith(b"flowertui: not traced:")]
    assert len(lines) == 1 and reason in lines[0] and b"flowertui trace --listen" in lines[0]
    assert b"LangChain" not in done.stderr
    doc, _ = trace_json("--", sys.executable, flag, program(name))
    assert doc["coverage"] == "not traced" and "did not load" in doc["coverage_note"]


@pytest.mark.xdist_group("traces")
def test_a_program_without_langchain_is_told_apart_from_one_without_a_model_call(traces):
    plain = traces("plain.py").doc
    assert plain["coverage"] == "no langchain" and plain["coverage_note"] == "the program never imported LangChain"
    quiet, _ = trace_json(program("imports_only.py"))
    assert quiet["coverage"] == "no model call"
    assert quiet["coverage_note"] == "LangChain was imported but no model was called"
    traced = traces("one_call.py").doc
    assert traced["coverage"] == "traced" and "coverage_note" not in traced


def test_a_program_that_imported_langchain_and_crashed_is_not_no_langchain():
    done = flowertui("trace", "--headless", program("imports_only.py"), "crash")
    assert done.returncode == 1
    assert b"flowertui: LangChain was imported but no model was called before it exited 1\n" in done.stderr
    assert b"never imported" not in done.stderr and b"not traced" not in done.stderr


def test_the_app_says_not_traced_on_screen_and_after_it_closes():
    app = PtyApp("trace", "--", sys.executable, "-I", program("one_call.py"))
    try:
        app.wait_for("not traced: the probe did not load", timeout=90)  # the status line and the console
        app.press(b"\x11")  # ctrl+q
        assert app.wait(30) == 0
        time.sleep(0.3)
        assert "flowertui: not traced: the probe did not load" in app.screen()[-600:]  # printed after the screen
    finally:
        app.close()


@pytest.mark.xdist_group("traces")
def test_langchains_own_handlers_are_labelled_apart_from_the_programs(traces):
    doc = traces("langchains_own.py").doc
    assert doc["handlers"]["Mine"]["by"] == "program"
    assert doc["handlers"]["_AstreamEventsCallbackHandler"]["by"] == "langchain"
    table = flowertui("trace", "--headless", program("langchains_own.py")).stderr.decode()
    mine, own = table.index("\nhandler "), table.index("\nLangChain's own handler")
    assert mine < table.index("\nMine ") < own < table.index("\n_AstreamEventsCallbackHandler ")
