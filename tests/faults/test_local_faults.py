"""Bad local input: each gives one clear message (exit 2 on the CLI), no traceback, and loses nothing stored."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from flowertui.app.screens.export_dialog import ExportDialog
from flowertui.app.state import state_file
from flowertui.app.widgets.events_pane import EventsPane
from flowertui.session.store import DB_NAME, SessionStore
from tests.support.pilot import SIZE, make_app, notified, ready, say, settle, wait_until
from tests.support.faults import provider, serving
from tests.support.rigs import LESSON
from tests.support.faults import PLANTED_KEY, Fault
from tests.support.openai_server import Reply


def flowertui(*args: str, env: dict[str, str], limit_file_size: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        if limit_file_size:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    return subprocess.run([sys.executable, "-m", "flowertui", *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **env}, preexec_fn=limit)


def one_clear_line(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    for word in words:
        assert word in done.stderr


@pytest.mark.parametrize(("text", "says"), [
    ("speed = [not toml", "config.toml"),
    ('speed = "fast"', "speed has the wrong type"),
    ("window_k = 0", "window_k must be"),
    ("colour = 'pink'", "unknown setting 'colour'"),
    ("[keymap]\ncompare = 3", "keymap.compare"),
])
@pytest.mark.parametrize("command", [["run", "--script", "lesson"], ["sessions"], []], ids=["run", "sessions", "app"])
def test_a_bad_config_file_is_named_with_what_is_wrong(tmp_path, text, says, command):
    (tmp_path / "config.toml").write_text(text, "utf-8")
    done = flowertui(*command, env={"FLOWERTUI_CONFIG_DIR": str(tmp_path), "FLOWERTUI_DATA_DIR": str(tmp_path)})
    if command == ["sessions"]:  # listing sessions needs no settings
        assert done.returncode == 0
        return
    one_clear_line(done, says)


def test_a_corrupt_database_is_reported_and_left_as_it_was(tmp_path):
    corrupt = tmp_path / DB_NAME
    corrupt.write_bytes(b"not a database at all " * 200)
    before = corrupt.read_bytes()
    env = {"FLOWERTUI_DATA_DIR": str(tmp_path)}
    one_clear_line(flowertui("sessions", env=env), DB_NAME, "not a database")
    one_clear_line(flowertui("run", "--script", "lesson", env=env), DB_NAME)
    one_clear_line(flowertui("export", "--format", "md", "-o", str(tmp_path / "x.md"), env=env), DB_NAME)
    assert corrupt.read_bytes() == before


def test_a_full_disk_stops_the_record_with_one_message_and_keeps_what_was_written(tmp_path):
    from flowertui.engine.tokens import ensure_offline_tiktoken

    ensure_offline_tiktoken()  # the tokenizer's cache is in place; only the database meets the full disk
    env = {"FLOWERTUI_DATA_DIR": str(tmp_path)}
    done = flowertui("run", "--script", "week", "--speed", "200", "--json", env=env, limit_file_size=600_000)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("session not saved any more") == 1
    assert len(__import__("json").loads(done.stdout)["turns"]) == 10  # the conversation itself went on
    store = SessionStore(tmp_path / DB_NAME)
    (session,) = store.sessions()
    kept = [t for t in store.turns(session.id) if t[3] == "done"]
    assert 1 <= len(kept) < 10
    events = store.events(session.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    store.close()


def test_a_read_only_data_folder_is_reported_and_nothing_is_lost(tmp_path):
    data = tmp_path / "ro"
    data.mkdir()
    assert flowertui("run", "--script", "lesson", env={"FLOWERTUI_DATA_DIR": str(data)}).returncode == 0
    before = {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()}
    mounted = subprocess.run(["mount", "--bind", str(data), str(data)], capture_output=True, text=True)
    assert mounted.returncode == 0, f"this test needs root to make a read-only mount: {mounted.stderr}"
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(data)], check=True)
        one_clear_line(flowertui("run", "--script", "lesson", env={"FLOWERTUI_DATA_DIR": str(data)}), str(data),
                       "--data-dir")
    finally:
        subprocess.run(["umount", str(data)], check=True)
    assert {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()} == before


async def test_the_app_runs_on_without_saving_when_the_database_is_unusable(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWERTUI_DATA_DIR", str(tmp_path))
    (tmp_path / DB_NAME).write_bytes(b"garbage" * 500)
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await notified(pilot, "will not be saved")
        await say(pilot, LESSON[0])
        assert app.live.conversation.transcript


async def test_empty_messages_are_ignored_and_a_100_kb_paste_goes_through():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, "   \t ")
        events = app.query_one(EventsPane).events
        assert not [e for e in events if e.kind == "turn_start"]
        paste = ("我想要粉色玫瑰。" + "pink roses please " * 5) * 1000
        assert len(paste.encode()) > 100_000
        await say(pilot, paste)
        turn_start = [e for e in events if e.kind == "turn_start"][0]
        assert turn_start.payload["user"] == paste.strip()
        assert app.live.conversation.transcript[0][0] == paste.strip()
        assert "粉色" in app.live.conversation.transcript[0][1]


async def test_an_unwritable_export_path_is_a_notification_not_a_crash(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        (tmp_path / "file").write_text("x")
        await pilot.press("escape")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog))
        box = app.screen.query_one("#export-path")
        box.value = str(tmp_path / "file" / "out.md")
        box.focus()
        await pilot.press("enter")
        await notified(pilot, "cannot write")
        assert app.is_running


async def test_escape_stops_a_reply_waiting_for_its_first_token_without_waiting_for_it():
    import threading

    held = threading.Event()  # the server sends no first token until the test lets it
    slow = Fault("slow", [Reply(hold=held)], False)
    with serving(slow, Reply()) as (_, url):
        app = make_app(provider(url, slow))
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            box = app.query_one("#message")
            box.value = LESSON[0]
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.query_one("#status").state == "waiting for first token")
            await pilot.pause(0.3)
            await pilot.press("escape")
            # cancelled while the first token is still held back: Esc did not wait for it (on a loaded machine too)
            await wait_until(pilot, lambda: app.query_one("#status").state == "cancelled")
            assert app.live.conversation.transcript == []
            held.set()
            await pilot.pause(0.5)  # the abandoned call answers late: it is stopped, never stored
            await settle(pilot)
            assert app.live.conversation.transcript == [] and app.live.conversation.memory.buffer == ""
            await say(pilot, LESSON[1])  # and the next turn works
            assert app.live.conversation.transcript[0][1] == "Pink roses suit a birthday."
            late = [e for e in app.query_one(EventsPane).events if e.kind == "llm_error"]
            assert late and all(e.turn == 1 for e in late)


def test_the_state_file_is_private_and_settings_never_print_the_key(monkeypatch, tmp_path):
    from flowertui.app.state import save_state
    from flowertui.config import resolve

    monkeypatch.setenv("FLOWERTUI_DATA_DIR", str(tmp_path))
    save_state({"theme": "peony"})
    assert state_file().stat().st_mode & 0o777 == 0o600
    settings = resolve({}, env={"OPENAI_API_KEY": PLANTED_KEY}, file={})
    assert settings.provider.api_key == PLANTED_KEY
    assert PLANTED_KEY not in repr(settings) and PLANTED_KEY not in str(settings)


def test_the_state_file_path_is_in_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("FLOWERTUI_DATA_DIR", str(tmp_path))
    assert state_file() == Path(tmp_path) / "state.json"


def test_a_bad_user_prices_file_is_named(tmp_path):
    (tmp_path / "prices.toml").write_text('[models."my-model"]\ncurrency = "USD"\ninput = "cheap"\n', "utf-8")
    env = {"FLOWERTUI_CONFIG_DIR": str(tmp_path), "FLOWERTUI_DATA_DIR": str(tmp_path)}
    one_clear_line(flowertui("run", "--script", "lesson", env=env), "prices.toml")


async def test_the_app_skips_a_bad_user_prices_file_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWERTUI_CONFIG_DIR", str(tmp_path))
    (tmp_path / "prices.toml").write_text("[models.x\n", "utf-8")
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await notified(pilot, "prices file was skipped")
        await say(pilot, LESSON[0])
        assert app.live.conversation.transcript
