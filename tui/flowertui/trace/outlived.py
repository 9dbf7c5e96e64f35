"""Where the output of a traced program that outlived its viewer went: relay.py leaves a note in the spool
folder when flowertui is gone, and the next flowertui start says it once. Only `os`-cheap work here: every
start runs it."""

from __future__ import annotations

from pathlib import Path

OUTPUT_NOTICE = ".output"


def notice_path(spool: Path, session_id: str, run: int) -> Path:
    return spool / f"{session_id}.{run}{OUTPUT_NOTICE}"


def output_notices(spool: Path) -> list[str]:
    """One line per program that outlived its viewer, naming the file its later output went to."""
    lines = []
    for notice in sorted(spool.glob("*" + OUTPUT_NOTICE)) if spool.is_dir() else ():
        try:
            where = notice.read_text("utf-8", "replace")[:4096]
            notice.unlink()
        except OSError:
            continue
        session, _, run = notice.name[: -len(OUTPUT_NOTICE)].rpartition(".")
        lines.append(f"run {run} of traced session {session} went on after flowertui stopped; "
                     f"its later output is in {where}")
    return lines
