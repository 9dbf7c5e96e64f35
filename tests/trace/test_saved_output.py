"""The program's console output is saved in its session: replay and every export show it."""

from __future__ import annotations

import json

from tests.support.traced import flowertui, program
from tests.trace.pty_app import PtyApp


def test_the_programs_output_is_in_the_session_its_replay_and_every_export(tmp_path):
    app = PtyApp("trace", program("chatty.py"), env={"DEMO_API_KEY": "sk-door-secret-123456"})
    try:
        app.wait_for("ready", timeout=90)
        app.press(b"roses\r")
        app.wait_for("mine saw the end", timeout=30)
        app.press(b"quit\r")
        app.wait_for("exited 0", timeout=30)
        app.press(b"\x11")
        assert app.wait(30) == 0
    finally:
        app.close()
    for fmt in ("md", "html", "log", "jsonl"):
        out = tmp_path / f"run.{fmt}"
        assert flowertui("export", "latest", "--format", fmt, "-o", str(out)).returncode == 0
        text = out.read_text()
        if fmt == "jsonl":
            saved = [e for e in map(json.loads, text.splitlines()[1:]) if e["kind"] == "program_output"]
            lines = [line for e in saved for line in e["payload"]["lines"]]
            assert ["out", "ready"] in lines and ["err", "mine saw the end"] in lines and ["in", "roses"] in lines
        else:
            assert "ready" in text and "mine saw the end" in text, fmt
    replay = PtyApp("replay", "latest", "--time-scale", "0")
    try:
        replay.wait_for("err│ mine saw the end", timeout=90)
    finally:
        replay.close()
