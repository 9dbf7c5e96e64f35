"""Command-line edges: an export path checked before any turn is paid for, `export -o -`, a script that is a
directory, `--base-url` on an offline session's resume, and the catch-up question's setting."""

from __future__ import annotations

import pytest

from flowertui.config import ConfigError, resolve
from tests.unit.test_cli import _recorded, flowertui


def test_run_refuses_an_existing_export_file_before_the_first_turn(tmp_path):
    existing = tmp_path / "existing.md"
    existing.write_text("keep me", "utf-8")
    done = flowertui("--data-dir", str(tmp_path / "data"), "run", "--script", "lesson", "--export", str(existing))
    assert done.returncode == 2 and "exists" in done.stderr and "--force" in done.stderr
    assert "Traceback" not in done.stderr and "花店" not in done.stdout  # no turn ran
    assert existing.read_text("utf-8") == "keep me"
    listed = flowertui("--data-dir", str(tmp_path / "data"), "sessions")
    assert "no sessions yet" in listed.stdout  # nothing was spent or recorded


def test_export_to_dash_writes_the_document_to_stdout(tmp_path):
    data = str(tmp_path / "data")
    assert flowertui("--data-dir", data, "run", "--script", "lesson").returncode == 0
    done = subprocess_in(tmp_path, "--data-dir", data, "export", "--format", "md", "-o", "-")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("#") and "我姐姐明天要过生日" in done.stdout and "exported" not in done.stdout
    assert not (tmp_path / "-").exists()


def subprocess_in(folder, *args: str):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "flowertui", *args], capture_output=True, text=True, timeout=300,
                          cwd=folder, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def test_a_script_that_is_a_directory_is_named_as_one(tmp_path):
    done = flowertui("run", "--script", str(tmp_path))
    assert done.returncode == 2 and "is a directory" in done.stderr and "Traceback" not in done.stderr


def test_a_base_url_on_an_offline_session_s_resume_is_refused(tmp_path):
    done = flowertui("--resume", _recorded(tmp_path, "offline", "flowershop-offline"),
                     "--base-url", "http://127.0.0.1:9/v1")
    assert done.returncode == 2, done.stderr
    assert "--base-url" in done.stderr and "offline/flowershop-offline" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_catch_up_question_is_on_by_default_and_turned_off_by_flag_env_or_file():
    assert resolve({}, env={}, file={}).confirm_catch_up
    assert not resolve({"confirm_catch_up": False}, env={}, file={}).confirm_catch_up
    assert not resolve({}, env={"FLOWERTUI_CONFIRM_CATCH_UP": "0"}, file={}).confirm_catch_up
    assert not resolve({}, env={}, file={"confirm_catch_up": False}).confirm_catch_up
    assert resolve({}, env={"FLOWERTUI_CONFIRM_CATCH_UP": "yes"}, file={"confirm_catch_up": False}).confirm_catch_up
    with pytest.raises(ConfigError, match="confirm_catch_up"):
        resolve({}, env={"FLOWERTUI_CONFIRM_CATCH_UP": "maybe"}, file={})


def test_the_no_confirm_flag_is_the_app_s_and_refused_for_run():
    done = flowertui("--no-confirm-catch-up", "run", "--script", "lesson")
    assert done.returncode == 2 and "--no-confirm-catch-up applies to the app" in done.stderr
