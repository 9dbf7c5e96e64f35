"""`flowertui run`: the headless command, its JSON document and its exit codes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from flowertui.engine.events import SCHEMA_VERSION
from flowertui.engine.kinds import KINDS
from tests.support.once import built_once


def flowertui(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "flowertui", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """recorded(*args): `flowertui run --script lesson *args --json` run once per test run (tests/support/once.py);
    returns the finished process and a copy of its data folder for the test to use (and change) alone."""
    import shutil

    runs: dict[tuple[str, ...], tuple[subprocess.CompletedProcess, Path]] = {}

    def build(args: tuple[str, ...], folder: Path) -> list:
        done = flowertui("run", "--script", "lesson", *args, "--json", env={"FLOWERTUI_DATA_DIR": str(folder)})
        assert done.returncode == 0, done.stderr
        return [done.returncode, done.stdout, done.stderr]

    def run(*args: str, into: Path) -> subprocess.CompletedProcess:
        if args not in runs:
            (code, out, err), folder = built_once(tmp_path_factory, "-".join(("recorded", *args)),
                                                  lambda folder: build(args, folder))
            runs[args] = subprocess.CompletedProcess(args, code, out, err), folder
        done, folder = runs[args]
        shutil.copytree(folder, into, dirs_exist_ok=True)
        return done

    return run


def test_lesson_in_compare_mode_gives_four_rows_for_each_of_five_kinds(recorded, tmp_path):
    done = recorded("--memory", "all", into=tmp_path / "data")
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
    assert lines[0]["schema"] == SCHEMA_VERSION and lines[0]["session_id"] == json.loads(done.stdout)["session_id"]
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


def test_sessions_export_in_every_format_and_bad_paths(recorded, tmp_path):
    data = tmp_path / "data"
    env = {"FLOWERTUI_DATA_DIR": str(data)}
    empty = flowertui("sessions", env=env)
    assert empty.returncode == 0 and "no sessions yet" in empty.stdout
    recorded(into=data)
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


def _listed_total(env: dict) -> int:
    listed = flowertui("sessions", env=env)
    assert listed.returncode == 0, listed.stderr
    tokens = listed.stdout.splitlines()[1].split()[-1]
    return int(tokens.removeprefix("~"))  # `~`: the total holds estimates (compare mode's other kinds)


def _md_total(tmp_path, env: dict) -> int:
    out = tmp_path / "total.md"
    done = flowertui("export", "latest", "--format", "md", "-o", str(out), "--force", env=env)
    assert done.returncode == 0, done.stderr
    row = next(line for line in out.read_text("utf-8").splitlines() if line.startswith("| all kinds |"))
    return int(row.split("|")[6])


def test_a_summary_switched_to_mid_session_is_listed_and_exported_with_its_catch_up(tmp_path):
    from flowertui.engine.assembly import assemble
    from flowertui.engine.kinds import MemorySettings
    from flowertui.engine.ledger import Ledger
    from flowertui.engine.prices import load_prices
    from flowertui.engine.providers import ProviderSettings
    from flowertui.session.store import DB_NAME, SessionWriter
    from tests.support.rigs import LESSON

    data = tmp_path / "data"
    ledger = Ledger(load_prices())
    writer = SessionWriter(data / DB_NAME, ledger)
    live = assemble(ProviderSettings(speed=0), MemorySettings(), sinks=[writer], ledger=ledger)
    live.conversation.ask(LESSON[0])
    live.conversation.ask(LESSON[1])
    live.conversation.switch("summary")  # the summariser reads turns 1–2: tokens that belong to no turn
    live.conversation.ask(LESSON[2])
    writer.close()
    assert ledger.totals("summary").catch_up_tokens > 0
    grand = ledger.total().tokens
    assert grand == sum(kind.totals.total_tokens for kind in ledger.rows())  # `run --json`'s figures
    env = {"FLOWERTUI_DATA_DIR": str(data)}
    assert _listed_total(env) == grand
    assert _md_total(tmp_path, env) == grand


def test_run_json_sessions_and_the_markdown_export_give_one_total(recorded, tmp_path):
    env = {"FLOWERTUI_DATA_DIR": str(tmp_path / "data")}
    done = recorded("--memory", "all", into=tmp_path / "data")
    document = json.loads(done.stdout)
    assert document["total_tokens"] == sum(memory["total_tokens"] for memory in document["memories"].values()) > 0
    assert _listed_total(env) == document["total_tokens"] == _md_total(tmp_path, env)
    assert flowertui("sessions", env=env).stdout.splitlines()[1].split()[-1].startswith("~")  # compare mode estimates


# Flags given before a sub-command: honoured by it, or refused with one line (never dropped) ---------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_provider_before_run_is_used_by_run():
    done = flowertui("--provider", "deepseek", "run", "--script", "lesson", env={"DEEPSEEK_API_KEY": ""})
    assert done.returncode == 2 and "DEEPSEEK_API_KEY" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_base_url_and_model_before_run_are_used_by_run():
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    done = flowertui("--base-url", url, "--model", "qwen-turbo", "run", "--script", "lesson", "--json")
    assert done.returncode == 1 and "Connection" in done.stderr
    assert json.loads(done.stdout)["provider"] == "compatible"


def test_a_memory_kind_before_run_is_the_kind_run_uses():
    done = flowertui("--memory", "window", "run", "--script", "lesson", "--json")
    assert done.returncode == 0, done.stderr
    assert list(json.loads(done.stdout)["memories"]) == ["window"]


def test_compare_before_run_feeds_every_kind():
    done = flowertui("--compare", "run", "--script", "lesson", "--json")
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)["memories"]) == set(KINDS)


def test_a_speed_before_run_paces_the_offline_assistant(tmp_path):
    script = tmp_path / "one.txt"
    script.write_text("你好\n", "utf-8")
    export = tmp_path / "s.jsonl"
    done = flowertui("--speed", "40", "run", "--script", str(script), "--json", "--export", str(export))
    assert done.returncode == 0, done.stderr
    tokens = [json.loads(line) for line in export.read_text("utf-8").splitlines()[1:]]
    tokens = [e for e in tokens if e["kind"] == "llm_new_token" and e["payload"].get("token")]
    assert len(tokens) > 5
    assert tokens[-1]["mono"] - tokens[0]["mono"] >= 0.8 * (len(tokens) - 1) / 40  # `run` alone is unpaced


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--speed", "5", "replay", "x"], "--time-scale"),
        (["--theme", "peony", "run", "--script", "lesson"], "--theme"),
        (["--resume", "latest", "sessions"], "--resume"),
        (["--memory", "window", "export", "--format", "md", "-o", "/dev/null/x.md"], "--memory"),  # never written
        (["--provider", "openai", "replay", "latest"], "--provider"),
        (["--compare", "sessions"], "--compare"),
        (["--provider", "offline", "run", "--provider", "offline", "--script", "lesson"], "give it once"),
        (["replay", "x", "--speed", "5"], "--speed"),
        (["--theme", "lavender", "lesson", "1", "--headless"], "where a screen opens"),
        (["--theme", "lavender", "trace", "--json", "x.py"], "where a screen opens"),
        (["--theme", "lavender", "lesson"], "where a screen opens"),
    ],
)
def test_a_flag_that_does_not_apply_is_refused_with_one_line(args, says):
    done = flowertui(*args)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_theme_before_replay_is_accepted(tmp_path):
    done = flowertui("--theme", "peony", "replay", "no-such-session", env={"FLOWERTUI_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2 and "no session matching 'no-such-session'" in done.stderr


@pytest.mark.parametrize("command", [["lesson", "99"], ["trace", "--", "no-such-command-xyz"]])
def test_a_theme_before_lesson_or_trace_is_accepted_where_the_app_opens(command):
    done = flowertui("--theme", "lavender", *command)  # fails after the flags are taken, before any screen
    assert done.returncode == 2 and "--theme" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("args", "says"), [(["--time-scale", "-1"], "--time-scale"), (["--max-gap", "0"], "--max-gap")])
def test_replay_refuses_a_negative_pace_or_a_gap_cap_of_nothing(args, says):
    done = flowertui("replay", "latest", *args)
    assert done.returncode == 2 and says in done.stderr and len(done.stderr.strip().splitlines()) == 1


# Resume: the recorded provider and model, or a refusal naming what is missing --------------------------------


def _recorded(tmp_path, provider: str, model: str, **start) -> str:
    """A JSONL export of a one-turn session recorded with this provider and model."""
    payload = {"flowertui": "0.1.0", "provider": provider, "model": model, "memory_kind": "buffer",
               "memory_settings": {}, **start}
    lines = [{"schema": 1, "provider": provider, "model": model, "session_id": "abc123"},
             {"seq": 1, "wall": 1.0, "mono": 1.0, "session_id": "abc123", "turn": 0, "kind": "session_start",
              "name": "session", "scope": "app", "payload": payload},
             {"seq": 2, "wall": 2.0, "mono": 2.0, "session_id": "abc123", "turn": 1, "kind": "turn_start",
              "name": "turn", "scope": "app", "payload": {"user": "hi"}}]
    path = tmp_path / "recorded.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("provider", "model", "start"),
    [("openai", "gpt-4o-mini", {}),
     ("compatible", "gpt-4o-mini", {"base_url": "http://127.0.0.1:9/v1", "api_key_used": True})],
)
def test_resuming_without_the_recorded_providers_key_is_refused_naming_it(tmp_path, provider, model, start):
    done = flowertui("--resume", _recorded(tmp_path, provider, model, **start), env={"OPENAI_API_KEY": ""})
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "abc123" in done.stderr and "OPENAI_API_KEY" in done.stderr and f"{provider}/{model}" in done.stderr


def test_resuming_with_another_provider_is_refused(tmp_path):
    done = flowertui("--provider", "offline", "--resume", _recorded(tmp_path, "openai", "gpt-4o-mini"))
    assert done.returncode == 2 and "--provider" in done.stderr and "openai/gpt-4o-mini" in done.stderr


# Sessions: recorded from the first turn; a reader that leaves early ends the output quietly -------------------


def _into_a_closed_pipe(*args: str, env: dict) -> subprocess.CompletedProcess:
    """Run flowertui with stdout a pipe whose reading end is already closed, as `| head` leaves it."""
    import os

    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "flowertui", *args], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=300, env={**os.environ, **env})
    finally:
        os.close(write)


def test_output_into_a_closed_pipe_ends_quietly(recorded, tmp_path):
    env = {"FLOWERTUI_DATA_DIR": str(tmp_path)}
    recorded(into=tmp_path)
    for args in (["sessions"], ["run", "--script", "lesson"], ["run", "--script", "lesson", "--json"]):
        done = _into_a_closed_pipe(*args, env=env)
        assert done.returncode == 0 and done.stderr == "", (args, done.stderr)


def test_export_latest_skips_a_session_without_turns(recorded, tmp_path):
    from flowertui.session.store import DB_NAME, connect

    env = {"FLOWERTUI_DATA_DIR": str(tmp_path)}
    recorded(into=tmp_path)
    db = connect(tmp_path / DB_NAME)  # what an older flowertui left for a launch that asked nothing
    with db:
        db.execute("INSERT INTO sessions (id, started, provider, model, memory_settings) "
                   "VALUES ('empty1', 9e9, 'offline', 'flowershop-offline', '{}')")
    db.close()
    listed = flowertui("sessions", env=env)
    assert "empty1" not in listed.stdout and len(listed.stdout.splitlines()) == 2
    done = flowertui("export", "latest", "--format", "md", "-o", str(tmp_path / "s.md"), env=env)
    assert done.returncode == 0 and "empty1" not in done.stdout
    assert "Turn 3" in (tmp_path / "s.md").read_text("utf-8")


def test_exports_are_written_with_the_users_umask(recorded, tmp_path):
    import os

    env = {"FLOWERTUI_DATA_DIR": str(tmp_path)}
    recorded(into=tmp_path)
    out = tmp_path / "s.html"
    done = subprocess.run([sys.executable, "-m", "flowertui", "export", "--format", "html", "-o", str(out)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, **env}, umask=0o022)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o777 == 0o644
