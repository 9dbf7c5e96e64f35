"""`flowertui diff A B` through the real command: sessions recorded by `flowertui run` and `flowertui trace` in
child processes, then compared as a user (or a CI job) would."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import flowertui as package
from tests.support.once import built_once
from tests.support.traced import program

SOURCE = str(Path(package.__file__).parent.parent)


def flowertui(*args: str, folder: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **({"FLOWERTUI_DATA_DIR": str(folder)} if folder else {})}
    return subprocess.run([sys.executable, "-m", "flowertui", *args], capture_output=True, text=True, timeout=300,
                          env=env)


def ran(*args: str, folder: Path) -> str:
    """`flowertui COMMAND --json ARGS` (run or trace) into `folder`: the recorded session's id."""
    done = flowertui(args[0], "--json", *args[1:], folder=folder)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["session_id"]


def listened(folder: Path, *words: str) -> str:
    """One `trace --listen` session whose runs are the watched_words.py programs, one per argument."""
    listener = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--listen", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "FLOWERTUI_DATA_DIR": str(folder)})
    assert b"listening as session" in listener.stderr.readline()
    for word in words:
        done = subprocess.run([sys.executable, program("watched_words.py"), word], capture_output=True, timeout=60,
                              env={**os.environ, "FLOWERTUI_DATA_DIR": str(folder), "FLOWERTUI_SOURCE": SOURCE})
        assert done.returncode == 0, done.stderr.decode()
    listener.send_signal(signal.SIGINT)
    out, _ = listener.communicate(timeout=30)
    assert listener.returncode == 0
    return json.loads(out)["session_id"]


def record(folder: Path) -> dict[str, str]:
    """Every session the tests compare, recorded into `folder`: name → session id."""
    short = folder / "two-turns.txt"
    short.write_text("我姐姐明天要过生日，我需要一束生日花束。\n她喜欢粉色，有什么推荐吗？\n", "utf-8")
    return {
        "lesson": ran("run", "--script", "lesson", folder=folder),
        "lesson again": ran("run", "--script", "lesson", folder=folder),
        "short": ran("run", "--script", str(short), folder=folder),
        "window": ran("run", "--script", "lesson", "--memory", "window", folder=folder),
        "compare": ran("run", "--script", "lesson", "--memory", "all", "--export", str(folder / "compare.jsonl"),
                       folder=folder),
        "trace one": ran("trace", program("two_steps.py"), "mum", folder=folder),
        "trace two": ran("trace", program("two_steps.py"), "mum,dad", folder=folder),
        "listened": listened(folder, "mum", "[/bold] mum,dad"),
    }


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The sessions, recorded once per test run (the tests only read: each copies them into its own data folder)."""
    ids, folder = built_once(tmp_path_factory, "diff-sessions", record)
    return ids, folder, folder / "compare.jsonl"


@pytest.fixture
def sessions(recorded):
    """The recorded sessions, copied into this test's own data folder."""
    ids, folder, exported = recorded
    shutil.copytree(folder, os.environ["FLOWERTUI_DATA_DIR"], dirs_exist_ok=True)
    return ids, exported


def diff_json(*args: str) -> dict:
    done = flowertui("diff", *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def one_line(done: subprocess.CompletedProcess) -> str:
    """The one line diff wrote on stderr. (Any flowertui start may first say it imported spooled events: the
    spool's fallback folder in /tmp is shared by every flowertui of the user, other tests' included.)"""
    lines = [line for line in done.stderr.splitlines() if not line.startswith("flowertui: recovered spooled")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_the_same_script_twice_differs_by_nothing_and_passes_the_gate(sessions):
    ids, _ = sessions
    a, b = ids["lesson"], ids["lesson again"]
    done = flowertui("diff", a, b, "--fail-over", "5%")
    assert done.returncode == 0
    doc = diff_json(a, b)
    assert one_line(done) == f"flowertui diff: B spends the same tokens as A ({doc['totals']['a']['tokens']}), within 5%"
    totals = doc["totals"]
    assert totals["delta"]["tokens"] == 0 and totals["delta_pct"]["tokens"] == 0 and totals["delta"]["cost"] == 0
    assert totals["a"]["tokens"] == totals["b"]["tokens"] > 0
    assert [row["label"] for row in doc["rows"]] == ["turn 1", "turn 2", "turn 3", "turn 4"]
    for row in doc["rows"]:
        assert row["unmatched"] is None and row["delta"]["tokens"] == 0
        assert row["a"]["output"] == row["b"]["output"] and [op for op, _ in row["output_diff"]] == ["="]
        assert row["a"]["events"] == row["b"]["events"] and row["a"]["events"]["request"] > 0
    assert doc["unmatched"] == {"a": [], "b": []}
    assert {doc["a"]["session_id"], doc["b"]["session_id"]} == {a, b} and doc["a"]["part"] == "session"


def test_the_totals_are_the_ledger_s_numbers(sessions):
    """What `run --json` and `flowertui sessions` say a session spent is what diff compares."""
    ids, _ = sessions
    run = json.loads(flowertui("export", ids["compare"], "--format", "jsonl", "-o", "-").stdout.splitlines()[0])
    assert run["session_id"] == ids["compare"]
    listed = flowertui("sessions").stdout
    doc = diff_json(ids["compare"], ids["lesson"])
    assert f"~{doc['totals']['a']['tokens']}" in listed and doc["totals"]["a"]["estimated"] is True
    # the session's rows add up to its total: every turn's kinds, and the catch-ups apart
    assert sum(row["a"]["tokens"] for row in doc["rows"] if row["a"]) == doc["totals"]["a"]["tokens"]


def test_a_longer_script_spends_more_and_fails_the_gate(sessions):
    ids, _ = sessions
    done = flowertui("diff", ids["short"], ids["lesson"], "--fail-over", "5%")
    assert done.returncode == 1
    line = one_line(done)
    assert line.startswith("flowertui diff: B spends ") and "more tokens than A" in line and "over the 5% allowed" in line
    assert "turn 3" in done.stdout and "only in B: turn 3, turn 4" in done.stdout  # the table, on stdout
    doc = diff_json(ids["short"], ids["lesson"])
    assert doc["totals"]["delta"]["tokens"] > 0
    assert [row["unmatched"] for row in doc["rows"]] == [None, None, "b", "b"]
    assert doc["unmatched"] == {"a": [], "b": ["turn 3", "turn 4"]}
    assert doc["rows"][0]["delta"]["tokens"] == 0  # the same first turns cost the same
    # the other way round B spends less: the gate passes
    assert flowertui("diff", ids["lesson"], ids["short"], "--fail-over", "5").returncode == 0


def test_another_memory_kind_is_dearer(sessions):
    """The lesson's fourth turn: window memory has forgotten turn 1, so buffer sends more."""
    ids, _ = sessions
    doc = diff_json(ids["window"], ids["lesson"])
    assert doc["totals"]["delta"]["tokens"] > 0
    assert [row["delta"]["tokens"] > 0 for row in doc["rows"]] == [False, False, False, True]
    fourth = doc["rows"][3]
    assert fourth["a"]["output"] != fourth["b"]["output"] and {"-", "+"} <= {op for op, _ in fourth["output_diff"]}
    assert flowertui("diff", ids["window"], ids["lesson"], "--fail-over", "1%").returncode == 1
    assert flowertui("diff", ids["window"], ids["lesson"], "--fail-over", "1000%").returncode == 0


def test_two_memory_kinds_of_one_compare_session(sessions):
    ids, exported = sessions
    session = ids["compare"]
    doc = diff_json(f"{session}:buffer", f"{session}:summary")
    assert doc["a"]["part"] == "memory buffer" and doc["b"]["part"] == "memory summary"
    assert doc["totals"]["a"]["estimated"] is False and doc["totals"]["b"]["estimated"] is True
    assert doc["totals"]["b"]["maintenance_tokens"] > 0 and doc["totals"]["b"]["latency_ms"] is None
    for row in doc["rows"]:
        assert row["a"]["output"] and row["b"]["output"] is None and "not sent" in row["b"]["note"]
        assert row["b"]["estimated"] is True
    buffer_only = diff_json(ids["lesson"], f"{session}:buffer")  # buffer was the kind really sent
    assert buffer_only["totals"]["delta"]["tokens"] == 0
    # a JSONL export works as a session, with the same suffixes
    from_file = diff_json(f"{exported}:buffer", f"{session}:window")
    assert from_file["totals"]["a"] == doc["totals"]["a"] and from_file["totals"]["delta"]["tokens"] < 0
    done = flowertui("diff", f"{session}:buffer", f"{session}:summary", "--fail-over", "5%")
    assert done.returncode == 1 and "more tokens than A" in one_line(done)


def test_two_traced_sessions_aligned_by_run_tree(sessions):
    ids, _ = sessions
    doc = diff_json(ids["trace one"], ids["trace two"])
    labels = [(row["label"], row["depth"], row["unmatched"]) for row in doc["rows"]]
    assert labels == [("run 1", 0, None), ("RunnableSequence", 1, None), ("ChatPromptTemplate", 2, None),
                      ("FakeListChatModel", 2, None), ("RunnableSequence #2", 1, "b"),
                      ("ChatPromptTemplate", 2, "b"), ("FakeListChatModel", 2, "b")]
    first = doc["rows"][1]
    assert first["delta"]["tokens"] == 0 and first["a"]["output"] == first["b"]["output"] == "content='red roses for mum' additional_kwargs={} response_metadata={} id='lc_run--…-0' tool_calls=[] invalid_tool_calls=[]"
    assert first["a"]["events"] == {"Counter": 6} and first["a"]["run_type"] == "chain"
    assert doc["rows"][3]["a"]["usage_missing"] is True  # a fake model reports no usage: tiktoken counted it
    assert doc["totals"]["b"]["tokens"] == 2 * doc["totals"]["a"]["tokens"]
    assert doc["unmatched"]["b"] == ["RunnableSequence #2", "ChatPromptTemplate", "FakeListChatModel"]


def test_two_runs_of_one_traced_session(sessions):
    ids, _ = sessions
    session = ids["listened"]
    doc = diff_json(f"{session}:1", f"{session}:2")
    assert doc["a"]["part"] == "run 1" and doc["b"]["part"] == "run 2"
    assert doc["rows"][0]["label"] == "run 1 ↔ run 2" and doc["rows"][0]["a"]["output"] == "exited"
    model = next(row for row in doc["rows"] if row["label"] == "FakeListChatModel")
    assert (model["a"]["output"], model["b"]["output"]) == ("red roses for mum", "red roses for [/bold] mum")
    assert model["output_diff"] == [["=", "red roses for "], ["+", "[/bold] "], ["=", "mum"]]
    second = [row for row in doc["rows"] if row["unmatched"] == "b"]
    assert [row["label"] for row in second] == ["RunnableSequence #2", "ChatPromptTemplate", "FakeListChatModel"]
    assert second[2]["b"]["output"] == "red roses for dad"
    assert doc["totals"]["delta"]["tokens"] > 0
    done = flowertui("diff", f"{session}:1", f"{session}:2", "--fail-over", "5%")
    assert done.returncode == 1 and "over the 5% allowed" in one_line(done)
    assert "FakeListChatModel: red roses for {+[/bold] +}mum" in done.stdout  # model text printed literally


@pytest.mark.parametrize("args, says", [
    (("nosuchsession", "latest"), "no session matching 'nosuchsession'"),
    (("latest", "latest", "--fail-over", "lots"), "--fail-over takes a percentage"),
    (("latest", "latest", "--fail-over=-5%"), "--fail-over takes a percentage"),
    (("latest", "latest", "--fail-over", "nan"), "--fail-over takes a percentage"),
    (("latest", "latest", "--on", "cost"), "--on says what --fail-over compares"),
    (("{trace one}", "{trace two}", "--fail-over", "5%", "--on", "cost"), "has no price"),
    (("{trace one}:9", "latest"), "has no run 9 (its runs: 1)"),
    (("{trace one}:buffer", "latest"), "it has runs, not memory kinds"),
    (("{lesson}:summary", "{lesson}"), "has no memory kind 'summary' (it has: buffer)"),
    (("missing.jsonl", "latest"), "cannot read missing.jsonl"),
    (("{lesson}:", "latest"), "write a session"),
])
def test_bad_input_is_one_line_and_exit_2(sessions, args, says):
    ids, _ = sessions
    done = flowertui("diff", *(re.sub(r"\{([^}]+)\}", lambda name: ids[name[1]], arg) for arg in args))
    assert done.returncode == 2 and done.stdout == ""
    assert says in one_line(done) and one_line(done).startswith("flowertui: error: ")


def test_without_a_terminal_it_prints_a_table(sessions):
    ids, _ = sessions
    done = flowertui("diff", ids["window"], ids["lesson"])
    assert done.returncode == 0 and "flowertui diff" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("A  ") and "memory" not in lines[0] and lines[1].startswith("B  ")
    assert any(line.startswith("tokens") for line in lines) and any(line.startswith("turn 4") for line in lines)
    assert "outputs that differ" in done.stdout and "[-" in done.stdout and "{+" in done.stdout
