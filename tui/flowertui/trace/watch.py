"""`flowertui.watch()`: the probe started inside a program that was not launched by `flowertui trace`.

Events go live to a viewer started with `flowertui trace --listen` when one is
running; otherwise to the spool, which flowertui imports as a new session on
its next start (so `flowertui replay latest` shows the run afterwards).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from types import TracebackType

from flowertui.paths import data_dir

LISTENER_FILE = "trace-listener.json"


def listener_file() -> Path:
    return data_dir() / LISTENER_FILE


def _running_listener() -> dict | None:
    from flowertui.trace.spool import pid_alive

    try:
        found = json.loads(listener_file().read_text("utf-8"))
        return found if pid_alive(int(found["pid"])) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Watch:
    """Active from construction; as a context manager it stops joining new runs at exit."""

    def __init__(self) -> None:
        launched = sys.modules.get("flowertui_probe")  # under `flowertui trace` the probe already runs
        if launched is not None and launched.active():
            self._probe = None
            return
        from flowertui.trace.probe import flowertui_probe as probe
        from flowertui.trace.spool import spool_dir

        self._probe = probe
        listener = _running_listener() or {}
        if not probe.start(listener.get("addr"), listener.get("token", ""), str(spool_dir()), uuid.uuid4().hex[:12]):
            probe.resume()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._probe is not None:
            self._probe.pause()
