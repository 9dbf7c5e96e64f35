"""Wiring one traced session: bus, trace ledger, the caller's sinks, the session writer and the translator.

`flowertui trace PROGRAM` (`Tracer`), `flowertui trace --listen` (`WatchedRuns`) and
the spool import all build their session here and record its start and each run
through it, so the three record the same events with the same payloads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flowertui import __version__
from flowertui.engine.bus import EventBus, Sink
from flowertui.engine.events import RunEnd, RunStart, TraceSessionStart, TraceVariant
from flowertui.engine.prices import PriceBook, configured_prices
from flowertui.engine.sanitize import Redactor
from flowertui.engine.trace_ledger import TraceLedger
from flowertui.session.store import SessionWriter
from flowertui.trace.receiver import Translator

@dataclass
class TraceAssembly:
    bus: EventBus
    ledger: TraceLedger
    writer: SessionWriter | None
    translator: Translator

    @property
    def session_id(self) -> str:
        return self.bus.session_id

    def commit(self) -> None:
        """Wait until what was emitted so far is in the database (the probe is told it may forget it)."""
        if self.writer is not None:
            self.writer.flush()

    def start_session(self, variant: TraceVariant, command: str) -> None:
        """The session's first event: which kind of trace, and what runs (the command, redacted)."""
        self.bus.emit(TraceSessionStart(trace_variant=variant.value, command=self.bus.redact(command),
                                        flowertui=__version__), name="session", scope="app")

    def start_run(self, command: str, pid: int | None) -> int:
        """A run of a program begins: the session's next turn (returned)."""
        turn = self.bus.begin_turn()
        self.bus.emit(RunStart(command=self.bus.redact(command), pid=pid, run=turn), name="run", scope="app")
        return turn

    def end_run(self, kind: str, exit_state: str, *, exit_code: int | None = None, signal: int | None = None,
                turn: int | None = None, **details: Any) -> None:
        """A run ends (`turn_end`, `turn_error`, `turn_cancelled`): `exit_state` says how, `exit_code` and
        `signal` how the program ended when it is known, `details` the rest of RunEnd's fields; `turn` when
        it is not the latest run."""
        self.bus.emit(RunEnd(exit_state=exit_state, exit_code=exit_code, signal=signal, **details),
                      kind=kind, name="run", scope="app", turn=turn)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def assemble_trace(sinks: Iterable[Sink] = (), *, writer: Callable[[TraceLedger], SessionWriter | None] | None = None,
                   ledger: TraceLedger | None = None, prices: PriceBook | None = None,
                   redactor: Redactor | None = None, session_id: str | None = None, seq: int = 0,
                   turn: int = 0) -> TraceAssembly:
    """The ledger sees every event first, then `sinks`, then the session writer `writer(ledger)` makes.

    `ledger` is the session's ledger when the caller already holds it (a pane drawing it, or one
    rebuilt from events stored before); `seq` and `turn` continue a recorded session's numbering.
    """
    bus = EventBus(session_id, redactor=redactor, seq=seq, turn=turn)
    ledger = TraceLedger(configured_prices() if prices is None else prices) if ledger is None else ledger
    recorder = writer(ledger) if writer is not None else None
    for sink in (ledger, *sinks, *([recorder] if recorder is not None else [])):
        bus.subscribe(sink)
    return TraceAssembly(bus, ledger, recorder, Translator(bus))
