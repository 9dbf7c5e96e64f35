"""Conversation scripts: a file with one user turn per non-empty line, or a bundled one by name.

Lines starting with `#` are notes for the reader (the bundled scripts say what to look at).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

BUNDLED = ("lesson", "week")


class ScriptError(ValueError):
    """The script cannot be read; the message names the bundled choices."""


def load_script(name_or_path: str) -> list[str]:
    """User turns from a path, or from a bundled script when no such file exists."""
    path = Path(name_or_path)
    try:
        if path.is_file():
            text = path.read_text("utf-8")
        elif path.is_dir() and name_or_path not in BUNDLED:
            raise ScriptError(f"script {name_or_path!r} is a directory: give a file with one user turn per line, "
                              f"or a bundled script: {', '.join(BUNDLED)}")
        elif name_or_path in BUNDLED:
            text = resources.files("flowertui.engine").joinpath("scripts", f"{name_or_path}.txt").read_text("utf-8")
        else:
            raise ScriptError(f"cannot read script {name_or_path!r}: no such file; bundled scripts: {', '.join(BUNDLED)}")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"cannot read script {name_or_path!r}: {exc}; bundled scripts: {', '.join(BUNDLED)}") from exc
    turns = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not turns:
        raise ScriptError(f"script {name_or_path!r} has no turns (one user turn per non-empty line; # starts a note)")
    return turns
