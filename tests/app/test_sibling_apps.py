"""The chat and trace apps are siblings over AppBase: no handler runs twice, no state of the other mode."""

from __future__ import annotations

import sys

import pytest

from flowertui.app.app import ChatApp
from flowertui.app.base import AppBase
from flowertui.app.trace_app import TraceApp
from flowertui.config import Settings
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.ledger import Ledger
from flowertui.engine.providers import ProviderSettings
from flowertui.engine.trace_ledger import TraceLedger
from tests.support.pilot import make_app


def handlers(cls: type) -> list[str]:
    """What Textual dispatches to in this class: its `on_*` methods and its `@on(...)` handlers."""
    names = [name for name in vars(cls) if name.startswith(("on_", "_on_"))]
    names += [f"@on {message.__name__}" for value in vars(cls).values()
              for message, _ in getattr(value, "_textual_on", ())]
    return names


@pytest.mark.parametrize("app", [ChatApp, TraceApp])
def test_each_message_handler_is_defined_in_one_class(app):
    """Textual calls a handler of every class up the MRO: one defined twice runs twice, or has to cancel the base
    class's handler."""
    ours = [cls for cls in app.__mro__ if issubclass(cls, AppBase)]
    names = [name.lstrip("_") for cls in ours for name in handlers(cls)]
    assert sorted(names) == sorted(set(names))


def test_neither_app_holds_the_other_modes_state():
    assert not issubclass(TraceApp, ChatApp) and not issubclass(ChatApp, TraceApp)
    trace = TraceApp(Settings(ProviderSettings(speed=0), MemorySettings()), [sys.executable, "-c", "pass"])
    assert isinstance(trace.ledger, TraceLedger)
    assert not any(hasattr(trace, name) for name in ("mode", "live", "pending", "start_kind", "turn_running"))
    chat = make_app()
    assert isinstance(chat.ledger, Ledger)
    assert not any(hasattr(chat, name) for name in ("program", "tracer", "handler_errors", "command", "server"))
