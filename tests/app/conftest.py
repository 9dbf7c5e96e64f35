"""Pilot helpers: the real app on the offline assistant (unpaced unless asked), driven like a user."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from flowertui.app.app import ChatApp
from flowertui.config import Settings
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.providers import ProviderSettings

SIZE = (160, 48)


@pytest.fixture(autouse=True)
def _private_state(tmp_path, monkeypatch):
    """Each app test starts with no remembered theme, user themes or config."""
    monkeypatch.setenv("FLOWERTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWERTUI_CONFIG_DIR", str(tmp_path / "config"))


def make_app(provider: ProviderSettings | None = None, *, keymap: dict[str, str] | None = None,
             config_theme: str | None = None, **kwargs) -> ChatApp:
    settings = Settings(provider or ProviderSettings(speed=0), MemorySettings(), theme=config_theme,
                        keymap=keymap or {})
    return ChatApp(settings, **kwargs)


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app run until predicate() holds; fail the test after timeout seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        await pilot.pause(0.02)


async def ready(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.live is not None)
    await settle(pilot)


async def settle(pilot) -> None:
    """Wait until no engine work is running and every queued event has been drawn."""
    app = pilot.app
    await wait_until(pilot, lambda: all(w.is_finished for w in app.workers))
    await pilot.pause(0.05)
    await wait_until(pilot, lambda: not app.inbox._queue)
    await pilot.pause(0.05)


async def say(pilot, text: str) -> None:
    """Type a message into the box and send it, then wait for the turn to finish."""
    box = pilot.app.query_one("#message")
    box.focus()
    box.value = text
    await pilot.press("enter")
    await settle(pilot)
