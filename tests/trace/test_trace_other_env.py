"""A program run by another Python environment (langchain-core, no flowertui) is traced.

The environment is a real venv made in the test without site packages. Its
site-packages gets links to langchain-core and the distributions it requires,
taken from this environment: no download, so it is fast and works offline.
"""

from __future__ import annotations

import importlib.metadata as metadata
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

from tests.support.traced import program, receivers, session_events, trace_json


def _closure(name: str) -> list[metadata.Distribution]:
    seen: dict[str, metadata.Distribution] = {}
    todo = [name]
    while todo:
        dist = metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = dist
        for line in dist.requires or ():
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(seen.values())


def _langchain_core_only_env(root: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=60)
    [site] = list(root.glob("lib/python*/site-packages")) or list(root.glob("Lib/site-packages"))
    for dist in _closure("langchain-core"):
        tops = {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith("..")}
        for top in tops:
            source = Path(dist.locate_file(top))
            target = site / top
            if source.exists() and not target.exists() and not top.startswith("__"):
                target.symlink_to(source)
    return root / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def test_a_program_in_an_environment_without_flowertui_is_traced(tmp_path):
    python = _langchain_core_only_env(tmp_path / "env")
    doc, done = trace_json("--", str(python), program("elsewhere.py"))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().startswith("from elsewhere " + str(tmp_path / "env"))
    assert doc["langchain"] is True and doc["handlers"] == {"Mine": {"scope": "request", "events": 6, "errors": 0,
                                                                                    "by": "program"}}
    events = session_events(doc["session_id"])
    start = next(e for e in events if e.kind == "chain_start")
    assert receivers(start) == {"Mine": "request"}
    assert [e.payload["text"] for e in events if e.kind == "llm_end"] == ["from elsewhere"]
