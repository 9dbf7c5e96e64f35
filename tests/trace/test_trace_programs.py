"""What flowertui trace does with the program itself: exit codes, crashes, odd output, no LangChain, bad input."""

from __future__ import annotations

import signal

import pytest

from tests.support.traced import flowertui, program, session_events, trace_json


@pytest.mark.parametrize(("how", "value", "expected"), [
    ("code", "0", 0), ("code", "7", 7), ("signal", str(int(signal.SIGTERM)), 128 + signal.SIGTERM),
])
def test_the_exit_code_is_the_programs(how, value, expected):
    done = flowertui("trace", "--headless", program("exits.py"), how, value)
    assert done.returncode == expected, done.stderr.decode()
    assert done.stdout == b"before the end\n"
    doc, _ = trace_json(program("exits.py"), how, value)
    assert doc["exit_code"] == expected
    ending = session_events(doc["session_id"])[-1]
    assert ending.kind == ("turn_end" if expected == 0 else "turn_error")
    assert ending.payload["exit_code"] == expected
    if how == "signal":
        assert ending.payload.exit_state == "killed by SIGTERM" and ending.payload.signal == signal.SIGTERM


def test_a_crashing_program_keeps_its_traceback_byte_for_byte():
    done = flowertui("trace", "--headless", program("exits.py"), "crash")
    assert done.returncode == 1
    assert b"Traceback (most recent call last)" in done.stderr
    assert b"ValueError: [bold]not markup[/bold] \x1b[31mred\x1b[0m\n" in done.stderr


@pytest.mark.xdist_group("traces")
def test_a_program_without_langchain_runs_and_says_so(traces):
    done = flowertui("trace", "--headless", program("plain.py"))
    assert done.returncode == 0 and done.stdout == b"no chains here\n"
    assert b"flowertui: the program never imported LangChain\n" in done.stderr
    traced = traces("plain.py")
    doc = traced.doc
    assert doc["langchain"] is False and doc["models"] == {} and doc["runs"] == [] and doc["handlers"] == {}
    assert traced.done.stderr.startswith(b"no chains here\n")  # --json: the program's stdout goes to stderr
    assert [e.kind for e in traced.events()] == ["session_start", "turn_start", "turn_end"]


@pytest.fixture(scope="module")
def noisy_headless():
    """noisy.py under `trace --headless`: its escapes and markup, then ten megabytes of filler."""
    return flowertui("trace", "--headless", program("noisy.py"), str(TEN_MB))


TEN_MB = 10 * 1024 * 1024


@pytest.mark.xdist_group("noisy")  # one worker runs the fixture
def test_escapes_and_markup_pass_through_headless_and_are_stripped_in_events(noisy_headless):
    assert noisy_headless.returncode == 0
    assert noisy_headless.stdout.startswith(b"\x1b[2J\x1b[31m[red]red?[/red]\x1b[0m [/bold] \x1b]0;title\x07done\n")
    doc, _ = trace_json(program("noisy.py"))
    end = next(e for e in session_events(doc["session_id"]) if e.kind == "llm_end")
    assert end.payload["text"] == "[bold]shout[/bold] red bell"


@pytest.mark.xdist_group("noisy")  # one worker runs the fixture
def test_ten_megabytes_of_output_pass_through_unchanged(noisy_headless):
    assert noisy_headless.returncode == 0
    body = noisy_headless.stdout.split(b"bell\n", 1)[1]
    assert len(body) == TEN_MB and body == (b"x" * 1023 + b"\n") * (TEN_MB // 1024)


def test_a_bad_flag_or_a_program_that_cannot_start_exits_2_with_one_line(tmp_path):
    for args in (["trace", "--bogus", program("plain.py")], ["trace", str(tmp_path / "missing.py")],
                 ["trace", "--headless", "no-such-command-xyz"], ["trace", "--headless"]):
        done = flowertui(*args)
        assert done.returncode == 2, args
        lines = done.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in lines[0], (args, lines)


@pytest.fixture(scope="module")
def graph_exports(traces, tmp_path_factory):
    """graph.py's traced session, `flowertui sessions`, and its export in every format, once for the module."""
    traced = traces("graph.py")
    listed = flowertui("sessions", env=traced.env).stdout.decode().splitlines()
    folder = tmp_path_factory.mktemp("graph-exports")
    for fmt in ("jsonl", "md", "html", "log"):
        done = flowertui("export", traced.doc["session_id"], "--format", fmt, "-o", str(folder / f"session.{fmt}"),
                         env=traced.env)
        assert done.returncode == 0, done.stderr.decode()
    return traced.doc, listed, folder


@pytest.mark.xdist_group("traces")
def test_a_traced_session_is_listed_and_exports_in_every_format(graph_exports):
    doc, listed, folder = graph_exports
    row = next(line for line in listed if line.startswith(doc["session_id"]))
    assert "trace · " in row and row.split()[-1] == str(sum(m["total_tokens"] for m in doc["models"].values()))
    markdown = (folder / "session.md").read_text()
    assert "## Tokens per model" in markdown and "| LangGraph | graph | done |" in markdown
    assert "| FakeMessagesListChatModel | 2 |" in markdown or "| unknown model | 2 |" in markdown
    assert "> Entering new LangGraph chain..." in (folder / "session.log").read_text()
    assert "Tokens per model" in (folder / "session.html").read_text()
    assert len((folder / "session.jsonl").read_text().splitlines()) == doc["events"] + 1


@pytest.mark.xdist_group("traces")
def test_a_traced_sessions_exports_end_with_the_total_sessions_lists(graph_exports):
    doc, listed, folder = graph_exports
    total = next(line for line in listed if line.startswith(doc["session_id"])).split()[-1]
    assert int(total) > 0
    for fmt in ("md", "html"):
        text = (folder / f"session.{fmt}").read_text()
        assert f"Session total: {total} tokens" in text, fmt
        assert "all kinds" not in text and "memory kind" not in text and "· None ·" not in text, fmt
        assert "Run 1" in text and "Turn 1" not in text, fmt


def test_handler_errors_become_visible_and_the_program_behaves_as_without_flowertui():
    doc, done = trace_json(program("raising.py"))
    assert done.returncode == 0
    printed = [line for line in done.stderr.decode().splitlines() if not line.startswith("Error in ")]
    assert printed[:3] == ["ok", "ok", "strict handler stopped the call: 'strict boom'"]  # as LangChain alone does
    assert doc["handlers"]["Bad"]["errors"] == 4  # two chain starts per call, sync and async
    assert doc["handlers"]["AsyncBad"]["errors"] == 2  # one llm_end per call
    assert doc["handlers"]["Strict"]["errors"] == 1
    events = session_events(doc["session_id"])
    errors = [e for e in events if e.kind == "handler_error"]
    assert {(e.payload["handler"], e.payload["callback"]) for e in errors} == {
        ("Bad", "on_chain_start"), ("AsyncBad", "on_llm_end"), ("Strict", "on_llm_start")}
    assert all("boom" in e.payload["error"] for e in errors)
    starts = {e.run_id: e for e in events if e.run_id}
    for error in errors:  # each error points at a run whose events list that handler
        assert any(h["name"] == error.payload["handler"] for h in starts[error.payload["of_run"]].payload["handlers"])


def test_the_program_gets_ctrl_c_as_without_flowertui():
    done = flowertui("trace", "--headless", program("sigint.py"))
    assert done.stdout == b"True\n"


def test_a_secret_on_the_command_line_is_stored_and_shown_redacted(tmp_path):
    secret = "supersecretvalue123"
    env = {"MY_API_KEY": secret}
    doc, done = trace_json(program("plain.py"), "--key", secret, env=env)
    assert secret not in done.stdout.decode() and secret not in done.stderr.decode()
    assert doc["command"].endswith("--key [redacted]")
    listed = flowertui("sessions", env=env)
    assert doc["session_id"] in listed.stdout.decode() and secret not in listed.stdout.decode()
    assert not any(secret in str(e.payload) for e in session_events(doc["session_id"]))
    for fmt in ("jsonl", "md", "html", "log"):
        target = tmp_path / f"session.{fmt}"
        assert flowertui("export", doc["session_id"], "--format", fmt, "-o", str(target), env=env).returncode == 0
        assert secret not in target.read_text(), fmt
    headless = flowertui("trace", "--headless", program("plain.py"), secret, env=env)
    assert secret not in headless.stderr.decode()


def test_resuming_a_traced_session_refuses_in_one_line_naming_replay():
    doc, _ = trace_json(program("plain.py"))
    done = flowertui("--resume", "latest", timeout=60)
    assert done.returncode != 0 and done.stdout == b""
    message = done.stderr.decode().strip()
    assert len(message.splitlines()) == 1, message
    assert "traced sessions are replayed, not resumed" in message and f"flowertui replay {doc['session_id']}" in message
