"""The kinds of session, and the ledger each kind keeps: chosen once, by the session's kind.

A chat session talks to a model through a memory kind; a trace session watches
another program (`flowertui trace`), in one of three variants: a program it runs
(`run`), programs that report to a listener (`listen`) or a watched program's
spooled events imported later (`watch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flowertui.engine.events import Event, SessionKind, TraceVariant, session_kind
from flowertui.engine.ledger import Ledger
from flowertui.engine.prices import PriceBook
from flowertui.engine.session_ledger import SessionLedger
from flowertui.engine.trace_ledger import TraceLedger

__all__ = ["LEDGER_OF", "SessionKind", "TraceVariant", "ledger_of", "session_kind"]


# The ledger each kind of session keeps: every view of the session's numbers reads this one.
LEDGER_OF: dict[SessionKind, Callable[[PriceBook], SessionLedger]] = {
    SessionKind.CHAT: Ledger,
    SessionKind.TRACE: TraceLedger,
}


def ledger_of(kind: SessionKind, events: Iterable[Event], prices: PriceBook) -> SessionLedger:
    """The ledger of a recorded session of this kind: its events fed in order, as when it ran."""
    ledger = LEDGER_OF[kind](prices)
    for event in events:
        ledger(event)
    return ledger
