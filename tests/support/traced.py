"""Running `flowertui trace` for real, as a user would, and reading back the session it stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flowertui.engine.events import Event
from flowertui.paths import data_dir
from flowertui.session.store import DB_NAME, SessionStore

PROGRAMS = Path(__file__).parent.parent / "trace" / "programs"


def flowertui(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
              **kwargs) -> subprocess.CompletedProcess:
    """`python -m flowertui ARGS…` in a child process, output captured as bytes."""
    return subprocess.run([sys.executable, "-m", "flowertui", *args], capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kwargs)


def trace_json(*program: str, env: dict[str, str] | None = None, timeout: float = 120):
    """`flowertui trace --json PROGRAM…`: the JSON document and the finished process."""
    done = flowertui("trace", "--json", *program, env=env, timeout=timeout)
    assert done.stdout.strip(), done.stderr.decode(errors="replace")
    return json.loads(done.stdout), done


def program(name: str) -> str:
    return str(PROGRAMS / name)


def session_events(session_id: str) -> list[Event]:
    store = SessionStore(data_dir() / DB_NAME)
    try:
        return store.events(session_id)
    finally:
        store.close()


def receivers(event: Event) -> dict[str, str]:
    """Handler class name → scope, for the handlers that received this event."""
    return {h["name"]: h["scope"] for h in event.payload.get("handlers", ())}
