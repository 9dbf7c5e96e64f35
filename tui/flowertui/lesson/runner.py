"""Run one lesson program through `flowertui trace`, against the offline server unless a provider is chosen.

The program is an ordinary child process pointed at `flowertui serve` through its
environment only (OPENAI_BASE_URL and a placeholder key), so its code stays the
lesson's. Files it writes (output.log) land in the working folder given, or in a
new temporary one, never in the user's current folder unless asked.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from flowertui.lesson.catalog import Example, LessonError

if TYPE_CHECKING:
    from flowertui.serve.process import ServerProcess


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
def program_env(item: Example, provider: str) -> Iterator[tuple[dict[str, str], dict, ServerProcess | None]]:
    """The program's environment (the offline server's settings, or the user's own key), its relay's keep, and
    the offline server when there is one."""
    if provider == "openai" or not item.uses_model:
        yield lesson_env(os.environ), {}, None
    else:
        from flowertui.serve.process import offline_server

        with offline_server() as (env, keep, server):
            yield lesson_env(env), keep, server


def lesson_env(env: Mapping[str, str]) -> dict[str, str]:
    """A shipped lesson's environment: it uses LangChain's deprecated classes on purpose, so their deprecation
    warnings are not printed (the probe drops them; a copied lesson, run as the user's own, prints them)."""
    from flowertui.trace.probe.flowertui_probe import ENV_QUIET_DEPRECATIONS

    return {**env, ENV_QUIET_DEPRECATIONS: "1"}


def run(item: Example, folder: Path, provider: str = "offline", *, as_json: bool = False) -> int:
    """Trace the program headless to its end; its exit code is returned."""
    from flowertui.trace.headless_run import run_headless

    with program_env(item, provider) as (env, keep, server):
        return run_headless([str(item.path())], as_json=as_json, env=env, cwd=folder, keep=keep, server=server)
