"""docs/events.schema.json is the JSONL export's contract: every exported event of every kind of session obeys it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowertui.trace.launcher import probe_env
from flowertui.trace.probe.flowertui_probe import PROTOCOL
from flowertui.trace.spool import spool_dir
from tests.support.schema import SCHEMA, validate
from tests.support.traced import flowertui, program

FIXTURES = Path(__file__).parents[1] / "fixtures" / "events"


def exported(session: str, tmp_path: Path) -> Path:
    target = tmp_path / f"{session}.jsonl"
    done = flowertui("export", session, "--format", "jsonl", "-o", str(target))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return target


@pytest.mark.parametrize("memory", ["buffer", "all"])
def test_a_chat_and_a_compare_session_export_valid_events(tmp_path, memory):
    target = tmp_path / "chat.jsonl"
    done = flowertui("run", "--script", "lesson", "--memory", memory, "--speed", "0", "--export", str(target))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    events = validate(target)
    kinds = {e["kind"] for e in events}
    assert {"session_start", "turn_start", "chat_model_start", "llm_new_token", "llm_end", "turn_end"} <= kinds
    if memory == "all":
        assert {"memory_estimate", "memory_catchup_start", "memory_catchup_end"} & kinds
    assert events[0]["payload"]["session_kind"] == "chat" and events[0]["payload"]["schema"] == SCHEMA["x-schema-version"]


def test_a_traced_session_exports_valid_events(tmp_path):
    done = flowertui("trace", "--json", program("raising.py"))
    session = json.loads(done.stdout)["session_id"]
    events = validate(exported(session, tmp_path))
    kinds = {e["kind"] for e in events}
    assert {"session_start", "probe_hello", "handler_error", "chain_start", "llm_end", "turn_end"} <= kinds
    start, run = events[0]["payload"], next(e for e in events if e["kind"] == "turn_start")
    end = next(e for e in events if e["kind"] == "turn_end")  # under load a late spool import may add a second
    assert start["session_kind"] == "trace" and "provider" not in start and start["command"].endswith("raising.py")
    assert run["payload"]["command"] == start["command"] and run["payload"]["pid"] > 0
    assert end["payload"]["exit_state"] == "exited 0" and end["payload"]["exit_code"] == 0 and "reply" not in end["payload"]


def test_a_spooled_session_exports_valid_events(tmp_path):
    """A program that had no viewer: its spool is imported on the next start, as a `watch` session."""
    env = probe_env(os.environ, addr=None, token="", spool_dir=spool_dir(), session_id="spooled00001", run=1)
    done = subprocess.run([sys.executable, program("raising.py")], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert b"recovered spooled trace events" in flowertui("sessions").stderr
    events = validate(exported("spooled00001", tmp_path))
    assert events[0]["payload"]["trace_variant"] == "watch"
    hello = next(e for e in events if e["kind"] == "probe_hello")
    assert hello["payload"]["protocol"] == PROTOCOL
    assert events[-1]["payload"]["recovered"] > 0


def test_an_old_probes_spool_without_a_protocol_version_is_imported(tmp_path):
    """A spool file written by a probe before the protocol was versioned (tests/fixtures/events/old-spool.jsonl)."""
    folder = spool_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "0ldspool0001.1.999999999.jsonl").write_bytes((FIXTURES / "old-spool.jsonl").read_bytes())
    assert b"recovered spooled trace events into session 0ldspool0001" in flowertui("sessions").stderr
    events = validate(exported("0ldspool0001", tmp_path))
    hello = next(e for e in events if e["kind"] == "probe_hello")
    assert "protocol" not in hello["payload"] and hello["payload"]["python"]
    assert [e["payload"]["handler"] for e in events if e["kind"] == "handler_error"][:1] == ["Bad"]
