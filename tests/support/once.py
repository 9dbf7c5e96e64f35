"""Work a module's tests only read, done once per test run instead of once per xdist worker.

`pytest -n auto` runs a module's tests on several workers, and a module-scoped fixture runs once in each: a fixture
that records sessions in child processes paid for them up to four times. Here the first worker to get there builds
into a folder the run's workers share, the others wait on a lock, and each worker gets a private copy of the folder,
so its tests may still add to it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def built_once(tmp_path_factory, name: str, build: Callable[[Path], Any]) -> tuple[Any, Path]:
    """`build(folder)` once per run (its result must be JSON): the result, and this worker's copy of the folder.

    Paths inside the result are the builder's: give them relative to the folder."""
    private = tmp_path_factory.mktemp(name)
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # one process: nothing to share
        return build(private), private
    run = tmp_path_factory.getbasetemp().parent  # this run's, shared by its workers
    shared, result_file = run / f"{name}.shared", run / f"{name}.json"
    with open(run / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result_file.exists():  # a build that failed left nothing: the next worker tries again
            shutil.rmtree(shared, ignore_errors=True)
            shared.mkdir()
            result_file.write_text(json.dumps(build(shared)), "utf-8")
        result = json.loads(result_file.read_text("utf-8"))
        shutil.copytree(shared, private, dirs_exist_ok=True)
    return result, private
