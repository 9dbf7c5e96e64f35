"""Run one lesson program as the learner would, against the offline server unless a provider is chosen.

The program is an ordinary child process with its own interpreter state; it is
pointed at `flowertui serve` through the environment only (OPENAI_BASE_URL and a
placeholder key), so its code stays the lesson's. Files it writes (output.log)
land in the working folder given, or in a new temporary one, never in the
user's current folder unless asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from flowertui.lesson.catalog import Example, LessonError

PROVIDERS = ("offline", "openai")


def working_dir(cwd: str | None) -> Path:
    """The folder asked for (created if missing), or a new temporary one that is kept for the learner."""
    if cwd is None:
        return Path(tempfile.mkdtemp(prefix="flowertui-lesson-"))
    folder = Path(cwd)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LessonError(f"cannot use {folder} as the working folder: {exc.strerror or exc}") from None
    return folder


def program_env(provider: str, server_env: dict[str, str] | None) -> dict[str, str]:
    """The child's environment: the server's settings offline, the user's own key otherwise."""
    env = dict(os.environ)
    if provider == "openai":
        if not env.get("OPENAI_API_KEY"):
            raise LessonError("--provider openai needs OPENAI_API_KEY in the environment")
        return env
    env.update(server_env or {})
    return env


def run(item: Example, folder: Path, provider: str = "offline") -> int:
    """Run the program to its end with inherited stdio; its exit code is returned."""
    server = None
    if provider == "offline" and item.uses_model:
        from flowertui.serve.server import ShopServer

        server = ShopServer()
        server.start()
    try:
        env = program_env(provider, server.child_env() if server else None)
        return subprocess.run([sys.executable, str(item.path())], cwd=folder, env=env).returncode
    finally:
        if server is not None:
            server.stop()
