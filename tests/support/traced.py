"""Running `flowertui trace` for real, as a user would, and reading back the session it stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

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


def session_events(session_id: str, data: Path | None = None) -> list[Event]:
    """A stored session's events, from `data` (default: the test's own data folder)."""
    store = SessionStore((data or data_dir()) / DB_NAME)
    try:
        return store.events(session_id)
    finally:
        store.close()


def receivers(event: Event) -> dict[str, str]:
    """Handler class name → scope, for the handlers that received this event."""
    return {h["name"]: h["scope"] for h in event.payload.get("handlers", ())}


@dataclass
class Traced:
    """One `flowertui trace --json PROGRAM…` run, kept in a data folder of its own that later commands read."""

    doc: dict
    done: subprocess.CompletedProcess
    data: Path

    @property
    def env(self) -> dict[str, str]:
        """For `flowertui(…, env=…)`: commands that read this session (sessions, export, replay)."""
        return {"FLOWERTUI_DATA_DIR": str(self.data)}

    def events(self) -> list[Event]:
        return session_events(self.doc["session_id"], self.data)


@pytest.fixture(scope="session")
def traces(tmp_path_factory):
    """`traces("graph.py")`: that program traced once per worker, for the tests that only read its session.

    Tests that use it are marked `xdist_group("traces")`, so one worker traces each program once for all of them;
    they must not add sessions to its folder (each run has a folder of its own: "latest" stays unambiguous)."""
    cache: dict[tuple[str, ...], Traced] = {}

    def traced(name: str, *args: str) -> Traced:
        key = (name, *args)
        if key not in cache:
            data = tmp_path_factory.mktemp("traced") / "data"
            doc, done = trace_json(program(name), *args, env={"FLOWERTUI_DATA_DIR": str(data)})
            cache[key] = Traced(doc, done, data)
        return cache[key]

    return traced
