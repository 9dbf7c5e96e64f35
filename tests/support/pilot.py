"""Driving the real app with Pilot, as a user would: the offline assistant (unpaced unless asked), typed messages,
Esc while a reply streams, and waits on what the screen shows rather than on time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from flowertui.app.app import ChatApp
from flowertui.config import Settings
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.providers import ProviderSettings

SIZE = (160, 48)


def make_app(provider: ProviderSettings | None = None, *, keymap: dict[str, str] | None = None,
             config_theme: str | None = None, **kwargs) -> ChatApp:
    settings = Settings(provider or ProviderSettings(speed=0), MemorySettings(), theme=config_theme,
                        keymap=keymap or {})
    return ChatApp(settings, **kwargs)


async def wait_until(pilot, predicate: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    """Let the app run until predicate() holds; after timeout seconds fail, saying what never happened."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"after {timeout:g} s still waiting for {what or predicate}")
        await pilot.pause(0.02)


async def side_panes(pilot) -> None:
    """Wait for the side panes (events, tokens, counter): the app mounts them just after its first frame."""
    await wait_until(pilot, lambda: pilot.app.side_mounted, what="the side panes to be mounted")


async def ready(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.live is not None, what="the engine to load")
    await settle(pilot)
    await side_panes(pilot)  # they come with the engine's first events


async def settle(pilot) -> None:
    """Wait until no engine work is running and every queued event has been drawn."""
    app = pilot.app
    await wait_until(pilot, lambda: all(w.is_finished for w in app.workers), what="the app's workers to finish")
    await pilot.pause(0.05)
    await wait_until(pilot, lambda: not app.inbox.pending, what="the queued events to be drawn")
    await pilot.pause(0.05)


async def send(pilot, text: str) -> None:
    """Type a message into the box and press Enter; the reply may still be streaming when this returns."""
    box = pilot.app.query_one("#message")
    box.focus()
    box.value = text
    await pilot.press("enter")


async def say(pilot, text: str) -> None:
    """Send a message, then wait for the turn to finish."""
    await send(pilot, text)
    await settle(pilot)


async def cancel_after(pilot, text: str, tokens: int = 1) -> None:
    """Send a message, press Esc once `tokens` tokens of the reply are on screen, and wait for the turn to end.

    The reply must be slow enough to still be streaming then (a paced offline assistant or a long reply)."""
    from flowertui.app.widgets.token_stream import TokenStream

    await send(pilot, text)
    stream = pilot.app.query_one(TokenStream)
    await wait_until(pilot, lambda: len(stream.tokens) >= tokens, what=f"{tokens} streamed tokens")
    await pilot.press("escape")
    await settle(pilot)


def notices(app) -> list[str]:
    """The notifications on screen now (title and message of each toast), as the user reads them."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


async def notified(pilot, text: str, timeout: float = 30.0) -> None:
    """Wait until a notification on screen says `text`."""
    await wait_until(pilot, lambda: any(text in n for n in notices(pilot.app)), timeout,
                     what=f"a notification saying {text!r}")
