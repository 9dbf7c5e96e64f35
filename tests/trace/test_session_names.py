"""`flowertui sessions` names a traced run by its script, not by the interpreter's path."""

from __future__ import annotations

from tests.trace.helpers import flowertui, program, trace_json


def test_sessions_names_traced_runs_by_script_and_lessons_by_number():
    doc, _ = trace_json(program("plain.py"))
    lesson = flowertui("lesson", "1", "--json")
    assert lesson.returncode == 0, lesson.stderr.decode()
    listed = flowertui("sessions").stdout.decode().splitlines()
    traced = next(line for line in listed if line.startswith(doc["session_id"]))
    assert "trace · plain.py" in traced and "python" not in traced
    assert any("lesson 1 · 01_callbacks.py" in line for line in listed)
