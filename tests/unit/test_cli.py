"""`flowertui run`: the headless command, its JSON document and its exit codes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from flowertui.engine.kinds import KINDS


def flowertui(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "flowertui", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def test_lesson_in_compare_mode_gives_four_rows_for_each_of_five_kinds():
    done = flowertui("run", "--script", "lesson", "--memory", "all", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["provider"] == "offline" and document["model"] == "flowershop-offline"
    assert document["events"] > 30 and document["session_id"]
    assert set(document["memories"]) == set(KINDS)
    for kind, memory in document["memories"].items():
        assert len(memory["turns"]) == 4  # the lesson's three turns and one that shows window forgetting
        assert memory["total_tokens"] == sum(t["total_tokens"] for t in memory["turns"])
        for row in memory["turns"]:
            assert set(row) >= {"prompt_tokens", "completion_tokens", "maintenance_tokens", "total_tokens", "estimated"}
            assert row["estimated"] == (kind != "buffer")
    prompts = {kind: [row["prompt_tokens"] for row in memory["turns"]] for kind, memory in document["memories"].items()}
    assert prompts["window"][:3] == prompts["buffer"][:3] and prompts["window"][3] < prompts["buffer"][3]


def test_week_shows_the_memory_kinds_apart():
    done = flowertui("run", "--script", "week", "--memory", "all", "--json")
    assert done.returncode == 0, done.stderr
    memories = json.loads(done.stdout)["memories"]
    last = {kind: memories[kind]["turns"][-1]["prompt_tokens"] for kind in KINDS}
    assert last["buffer"] > last["window"] and last["buffer"] > last["token_buffer"]
    for kind in ("summary", "summary_buffer"):
        assert sum(t["maintenance_tokens"] for t in memories[kind]["turns"]) > 0
    reply = json.loads(done.stdout)["turns"][-1]["reply"]
    assert "姐姐" in reply


def test_plain_output_streams_the_replies_and_ends_with_the_ledger_table():
    done = flowertui("run", "--script", "lesson")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("你 › ") == 4
    assert "我又来了" in done.stdout
    table = done.stdout.split("memory kind")[1]
    assert "buffer" in table and "¥0.000000" in table


def test_export_writes_a_jsonl_header_and_every_event(tmp_path):
    target = tmp_path / "session.jsonl"
    done = flowertui("run", "--script", "lesson", "--json", "--export", str(target))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in target.read_text("utf-8").splitlines()]
    assert lines[0]["schema"] == 1 and lines[0]["session_id"] == json.loads(done.stdout)["session_id"]
    assert len(lines) - 1 == json.loads(done.stdout)["events"]
    again = flowertui("run", "--script", "lesson", "--export", str(target))
    assert again.returncode == 2 and "--force" in again.stderr


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["run", "--script", "lesson", "--memory", "nope"], "token_buffer"),
        (["run", "--script", "no-such-script.txt"], "lesson, week"),
        (["run", "--script", "lesson", "--bogus"], "--bogus"),
        (["run", "--script", "lesson", "--provider", "nope"], "offline"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, names):
    done = flowertui(*args)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert names in done.stderr and "Traceback" not in done.stderr


def test_a_provider_failure_exits_1_with_its_message_and_no_traceback():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = flowertui("run", "--script", "lesson", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "qwen-turbo",
                     env={"OPENAI_API_KEY": "sk-never-shown-0123456789abcdef"})
    assert done.returncode == 1
    assert "Connection" in done.stderr and "Traceback" not in done.stderr
    assert "sk-never-shown" not in done.stdout + done.stderr


def test_sessions_export_in_every_format_and_bad_paths(tmp_path):
    data = tmp_path / "data"
    env = {"FLOWERTUI_DATA_DIR": str(data)}
    empty = flowertui("sessions", env=env)
    assert empty.returncode == 0 and "no sessions yet" in empty.stdout
    assert flowertui("run", "--script", "lesson", "--json", env=env).returncode == 0
    listed = flowertui("sessions", env=env)
    assert listed.returncode == 0
    row = listed.stdout.splitlines()[1].split()
    assert row[-2] == "4" and int(row[-1]) > 0 and "offline/flowershop-offline" in listed.stdout  # the lesson has 4 turns
    for fmt in ("jsonl", "md", "html", "log"):
        out = tmp_path / f"s.{fmt}"
        done = flowertui("export", "latest", "--format", fmt, "-o", str(out), env=env)
        assert done.returncode == 0, done.stderr
        assert str(out) in done.stdout and out.stat().st_size > 100
    again = flowertui("export", "--format", "md", "-o", str(tmp_path / "s.md"), env=env)
    assert again.returncode == 2 and "--force" in again.stderr
    (tmp_path / "blocker").write_text("x")
    bad = flowertui("export", "--format", "md", "-o", str(tmp_path / "blocker" / "s.md"), env=env)
    assert bad.returncode == 2 and "cannot write" in bad.stderr and "Traceback" not in bad.stderr
    missing = flowertui("export", "nope", "--format", "md", "-o", str(tmp_path / "x.md"), env=env)
    assert missing.returncode == 2 and "flowertui sessions" in missing.stderr
