"""`flowertui trace --listen`: receive programs that call `flowertui.watch()`, each connection a run.

The listener writes its address and token to a file in the data dir (mode 0600)
that `flowertui.watch()` reads; the file is removed when the listener stops.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any

from flowertui.engine.bus import Sink
from flowertui.engine.events import TURN_END, TraceVariant
from flowertui.engine.trace_ledger import TraceLedger
from flowertui.session.store import SessionWriter
from flowertui.trace.assembly import assemble_trace
from flowertui.trace.receiver import Listener, Origin, program_redactor
from flowertui.trace.watch import listener_file

COMMAND = "flowertui trace --listen"
DISCONNECTED = "disconnected before a normal exit (killed, os._exit, or its connection lost)"


class WatchedRuns:
    """One session; every program that connects becomes a turn of it, closed when its probe disconnects."""

    def __init__(self, sinks: list[Sink], *, writer: Callable[[TraceLedger], SessionWriter | None] | None = None,
                 ledger: TraceLedger | None = None) -> None:
        """`sinks`, `writer` and `ledger` as `assemble_trace` takes them."""
        self.session = assemble_trace(sinks, writer=writer, ledger=ledger, redactor=program_redactor(os.environ))
        self.bus, self.ledger, self.translator = self.session.bus, self.session.ledger, self.session.translator
        self.listener = Listener(self._record, self.session.commit, closed=self._closed)
        self._turns: dict[Origin, int] = {}
        self._lock = threading.Lock()
        self.session.start_session(TraceVariant.LISTEN, COMMAND)
        path = listener_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"addr": self.listener.addr, "token": self.listener.token, "pid": os.getpid()}, handle)

    @property
    def session_id(self) -> str:
        return self.bus.session_id

    def _record(self, record: dict[str, Any], origin: Origin) -> None:
        with self._lock:
            if origin not in self._turns:
                argv = record.get("argv") if record.get("t") in ("hello", "loaded") else None
                command = " ".join(str(a) for a in argv) if argv else f"pid {origin[1]}"
                self._turns[origin] = self.session.start_run(command, origin[1])
            self.translator(record, turn=self._turns[origin])

    def _closed(self, origin: Origin) -> None:
        with self._lock:
            if origin in self._turns:
                said_bye = origin[1] in self.translator.goodbyes  # else killed, os._exit, or its connection lost
                self.session.end_run(TURN_END, "exited" if said_bye else DISCONNECTED,
                                     turn=self._turns[origin], pid=origin[1])

    def close(self) -> None:
        """Stop listening, close the session writer, and remove the listener's file."""
        self.listener.close()
        self.session.close()
        try:
            if json.loads(listener_file().read_text("utf-8")).get("pid") == os.getpid():
                listener_file().unlink()
        except (OSError, ValueError):
            pass
