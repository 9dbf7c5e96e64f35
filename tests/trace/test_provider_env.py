"""Trace, lesson and listen never resolve the chat app's provider: the program's OpenAI settings are its own."""

from __future__ import annotations

import pytest

from tests.support.traced import flowertui, program
from tests.trace.pty_app import PtyApp

BASE_URL = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
KEY = {"OPENAI_API_KEY": "sk-test-door-0000000000000000"}


@pytest.fixture(params=["base_url", "key", "file", "all"])
def provider_env(request, tmp_path):
    """OPENAI_BASE_URL, OPENAI_API_KEY, a config file's base_url: alone and together."""
    config = tmp_path / "config"
    config.mkdir()
    env: dict[str, str] = {}
    if request.param in ("base_url", "all"):
        env |= BASE_URL
    if request.param in ("key", "all"):
        env |= KEY
    if request.param in ("file", "all"):
        (config / "config.toml").write_text('base_url = "http://127.0.0.1:9/v1"\n')
        env["FLOWERTUI_CONFIG_DIR"] = str(config)
    return env


def _app_runs_and_quits(*args: str, env: dict[str, str], shown: str) -> None:
    app = PtyApp(*args, env=env)
    try:
        app.wait_for(shown, timeout=90)
        app.press(b"\x11")  # ctrl+q
        assert app.wait(30) == 0, app.screen()[-2000:]
        assert "needs --base-url" not in app.screen()
    finally:
        app.close()


def test_trace_opens_its_screen_whatever_provider_the_environment_names(provider_env):
    _app_runs_and_quits("trace", program("plain.py"), env=provider_env, shown="exited 0")


@pytest.mark.parametrize("args", [("trace", "--offline", program("plain.py")), ("trace", "--listen"),
                                  ("lesson", "1")], ids=["offline", "listen", "lesson"])
def test_offline_listen_and_lesson_open_their_screens_with_every_provider_variable_set(args, tmp_path):
    (tmp_path / "config.toml").write_text('base_url = "http://127.0.0.1:9/v1"\n')
    env = {**BASE_URL, **KEY, "FLOWERTUI_CONFIG_DIR": str(tmp_path)}
    _app_runs_and_quits(*args, env=env, shown="listening" if "--listen" in args else "exited 0")


@pytest.mark.parametrize("args", [("trace", "--headless", program("plain.py")),
                                  ("trace", "--json", program("plain.py")),
                                  ("lesson", "1", "--headless")], ids=["headless", "json", "lesson-headless"])
def test_the_screenless_entry_points_run_with_every_provider_variable_set(args, tmp_path):
    (tmp_path / "config.toml").write_text('base_url = "http://127.0.0.1:9/v1"\n')
    done = flowertui(*args, env={**BASE_URL, **KEY, "FLOWERTUI_CONFIG_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr.decode()
