"""Writing a session's events to a file, atomically and never over an existing file by accident."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flowertui.engine.events import Event

JSONL_SCHEMA = 1


class ExportError(OSError):
    """The export could not be written; the message says where and why."""


def atomic_write(path: Path, text: str, *, force: bool = False) -> Path:
    """Write to a temporary file beside `path`, then rename it into place."""
    if path.exists() and not force:
        raise ExportError(f"{path} exists; pass --force to overwrite it")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def jsonl_text(header: dict[str, Any], events: Iterable[Event]) -> str:
    """A header line, then exactly one normalized event per line."""
    lines = [json.dumps({"schema": JSONL_SCHEMA, **header}, ensure_ascii=False)]
    lines.extend(json.dumps(event.to_dict(), ensure_ascii=False) for event in events)
    return "\n".join(lines) + "\n"
