"""A traced session's short name for lists: the script it ran, not the interpreter's path."""

from __future__ import annotations

import os
import shlex

LESSON_FOLDER = os.path.join("lesson", "programs")


def traced_name(command: str) -> str:
    """`trace · p5_react.py`, `lesson 3 · 03_async_handlers.py`, `watch · app.py`, or `trace · cmd` otherwise."""
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = command.split()
    if command in ("watch()", "flowertui trace --listen"):
        return "trace · --listen"
    script = next((arg for arg in argv if arg.endswith(".py")), None)
    if script is None:
        return f"trace · {os.path.basename(argv[0]) if argv else command}"
    name = os.path.basename(script)
    if os.path.dirname(script).endswith(LESSON_FOLDER) and name[:2].isdigit():
        return f"lesson {int(name[:2])} · {name}"
    return f"trace · {name}"
