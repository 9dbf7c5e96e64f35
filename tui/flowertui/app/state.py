"""What the app remembers between runs (the chosen theme), kept apart from the user's config file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flowertui.paths import data_dir


def state_file() -> Path:
    return data_dir() / "state.json"


def load_state() -> dict[str, Any]:
    """The remembered state; an unreadable file counts as empty."""
    try:
        data = json.loads(state_file().read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(changes: dict[str, Any]) -> None:
    """Merge and write; failing to remember is not worth interrupting anyone for."""
    path = state_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({**load_state(), **changes}, indent=2)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # only its owner reads what we write
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        pass
