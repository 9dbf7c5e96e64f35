"""Every provider fault through `flowertui run`: exit code, message, no traceback, and a complete record."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from flowertui.session.store import DB_NAME, SessionStore
from tests.support.faults import serving
from tests.support.faults import FAULTS, PLANTED_KEY


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_fault_headless(fault, tmp_path):
    script = tmp_path / "turns.txt"
    script.write_text("我姐姐明天过生日，推荐什么花？\n", "utf-8")
    config = tmp_path / "config"
    config.mkdir()
    if fault.timeout:
        (config / "config.toml").write_text(f"timeout = {fault.timeout}\n", "utf-8")
    env = {**os.environ, "OPENAI_API_KEY": PLANTED_KEY, "FLOWERTUI_DATA_DIR": str(tmp_path / "data"),
           "FLOWERTUI_CONFIG_DIR": str(config)}
    with serving(fault) as (_, url):
        done = subprocess.run(
            [sys.executable, "-m", "flowertui", "run", "--script", str(script), "--base-url", url, "--model",
             "qwen-turbo", "--json", "--export", str(tmp_path / "s.jsonl")],
            capture_output=True, text=True, timeout=120, env=env)
    output = done.stdout + done.stderr
    assert "Traceback" not in output and PLANTED_KEY not in output
    assert "\x1b" not in output  # no escape sequence reaches the terminal
    document = json.loads(done.stdout)
    if fault.fails:
        assert done.returncode == 1
        assert done.stderr.startswith("flowertui: provider error:") and fault.says in done.stderr
        assert fault.says in document["error"]
        assert document["turns"] == []
    else:
        assert done.returncode == 0, done.stderr
        assert document["turns"][0]["status"] == "done"
        row = document["memories"]["buffer"]["turns"][0]
        assert row["usage_missing"] == fault.usage_missing and row["prompt_tokens"] > 0

    store = SessionStore(tmp_path / "data" / DB_NAME)
    (session,) = store.sessions()
    (turn,) = store.turns(session.id)
    assert turn[3] == ("failed" if fault.fails else "done")
    kinds = [e.kind for e in store.events(session.id)]
    assert ("turn_error" in kinds) == fault.fails
    assert ("llm_error" in kinds) == (fault.fails or fault.retries > 0)  # a retried 429 is an error, then a retry
    assert kinds.count("retry") == fault.retries
    store.close()
    for file in [*(f for f in (tmp_path / "data").rglob("*") if f.is_file()), tmp_path / "s.jsonl"]:
        assert PLANTED_KEY.encode() not in file.read_bytes()
