"""`flowertui sessions` names a traced run by its script, not by the interpreter's path."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.openai_server import OpenAIServer, Reply
from tests.support.traced import flowertui, program, trace_json


def test_sessions_names_traced_runs_by_script_and_lessons_by_number():
    doc, _ = trace_json(program("plain.py"))
    lesson = flowertui("lesson", "1", "--json")
    assert lesson.returncode == 0, lesson.stderr.decode()
    listed = flowertui("sessions").stdout.decode().splitlines()
    traced = next(line for line in listed if line.startswith(doc["session_id"]))
    assert "trace · plain.py" in traced and "python" not in traced
    assert any("lesson 1 · 01_callbacks.py" in line for line in listed)


def test_lesson_list_flags_and_a_theme_without_a_screen_are_refused_in_one_line():
    for args, said in [(("lesson", "--json"), "lesson --json needs an example number"),
                       (("lesson", "--headless"), "lesson --headless needs an example number"),
                       (("lesson", "--copy", "somewhere"), "lesson --copy needs an example number"),
                       (("lesson", "1", "--theme", "x", "--headless"),
                        "--theme applies where a screen opens, not to `lesson --headless`")]:
        done = flowertui(*args)
        assert done.returncode == 2 and done.stderr.decode().startswith(f"flowertui: error: {said}"), args
        assert done.stderr.count(b"\n") == 1
        assert done.stdout == b""


def test_the_usage_legend_is_printed_only_when_a_row_is_marked():
    with OpenAIServer(Reply(model="gpt-4o-mini")) as server:
        marked = flowertui("trace", "--headless", program("no_stream_usage.py"), server.base_url)
        plain = flowertui("trace", "--headless", program("reported_usage.py"), server.base_url)
    assert b"? the provider sent no usage" in marked.stderr
    assert plain.returncode == 0 and b"? the provider sent no usage" not in plain.stderr


@pytest.mark.xdist_group("traces")
def test_the_markdown_export_rounds_run_durations(tmp_path, traces):
    traced = traces("one_call.py")
    out = tmp_path / "run.md"
    done = flowertui("export", traced.doc["session_id"], "--format", "md", "-o", str(out), env=traced.env)
    assert done.returncode == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| RunnableSequence")
            or line.startswith("| FakeListChatModel")]
    assert rows and all(re.search(r"\| \d+\.\d\d \| \d+ \|$", row) for row in rows), rows



@pytest.mark.xdist_group("traces")
def test_a_chain_end_event_carries_its_runs_name(traces):
    ends = [e for e in traces("langchains_own.py").events() if e.kind == "chain_end"]
    assert ends and "RunnableSequence" in {e.name for e in ends} and "chain" not in {e.name for e in ends}


def test_the_serve_banner_says_which_tiktoken_cache_to_set():
    server = subprocess.Popen([sys.executable, "-m", "flowertui", "serve"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    try:
        server.stdout.readline()
        exports = dict(item.split("=", 1) for item in shlex.split(server.stdout.readline().decode())[1:])
    finally:
        server.terminate()
        server.wait(10)
    assert set(exports) == {"OPENAI_BASE_URL", "OPENAI_API_KEY", "TIKTOKEN_CACHE_DIR"}
    assert any(Path(exports["TIKTOKEN_CACHE_DIR"]).iterdir())  # seeded: a copied lesson works offline with it
