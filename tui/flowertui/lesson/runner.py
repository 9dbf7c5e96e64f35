"""Run one lesson program through `flowertui trace`, against the offline server unless a provider is chosen.

The program is an ordinary child process pointed at `flowertui serve` through its
environment only (OPENAI_BASE_URL and a placeholder key), so its code stays the
lesson's. Files it writes (output.log) land in the working folder given, or in a
new temporary one, never in the user's current folder unless asked.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flowertui.lesson.catalog import Example, LessonError


def working_dir(cwd: str | None) -> Path:
    """The folder asked for (created if missing), or a new temporary one that is kept for the learner."""
    if cwd is None:
        return Path(tempfile.mkdtemp(prefix="flowertui-lesson-"))
    folder = Path(cwd)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LessonError(f"cannot use {folder} as the working folder: {exc.strerror or exc}") from None
    return folder.resolve()


@contextmanager
def program_env(item: Example, provider: str) -> Iterator[dict[str, str]]:
    """The program's environment: the offline server's settings, or the user's own key."""
    if provider == "openai":
        yield dict(os.environ)
    elif item.uses_model:
        from flowertui.serve.server import offline_env

        with offline_env(os.environ) as env:
            yield env
    else:
        yield dict(os.environ)


def run(item: Example, folder: Path, provider: str = "offline", *, as_json: bool = False) -> int:
    """Trace the program headless to its end; its exit code is returned."""
    from flowertui.trace.headless_run import run_headless

    with program_env(item, provider) as env:
        return run_headless([str(item.path())], as_json=as_json, env=env, cwd=folder)
