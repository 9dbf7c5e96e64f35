"""`flowertui trace --listen`: receive programs that call `flowertui.watch()`, each connection a run.

The listener writes its address and token to a file in the data dir (mode 0600)
that `flowertui.watch()` reads; the file is removed when the listener stops.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from flowertui import __version__
from flowertui.engine.bus import EventBus, Sink
from flowertui.trace.receiver import Listener, Origin, Translator, program_redactor
from flowertui.trace.watch import listener_file


class WatchedRuns:
    """One session; every program that connects becomes a turn of it, closed when its probe disconnects."""

    def __init__(self, sinks: list[Sink], *, commit=lambda: None) -> None:
        self.bus = EventBus(redactor=program_redactor(os.environ))
        for sink in sinks:
            self.bus.subscribe(sink)
        self.translator = Translator(self.bus)
        self.listener = Listener(self._record, commit, closed=self._closed)
        self._turns: dict[Origin, int] = {}
        self._lock = threading.Lock()
        self.bus.emit("session_start", name="session", scope="app", payload={
            "provider": "trace", "model": "watch()", "flowertui": __version__, "memory_kind": None,
            "memory_settings": {}, "compare": False, "mode": "listen", "command": "flowertui trace --listen"})
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
                self._turns[origin] = turn = self.bus.begin_turn()
                argv = record.get("argv") if record.get("t") in ("hello", "loaded") else None
                command = " ".join(str(a) for a in argv) if argv else f"pid {origin[1]}"
                self.bus.emit("turn_start", name="run", scope="app",
                              payload={"user": self.bus.redact(command), "pid": origin[1], "run": turn})
            self.translator(record, turn=self._turns[origin])

    def _closed(self, origin: Origin) -> None:
        with self._lock:
            if origin in self._turns:
                self.bus.emit("turn_end", name="run", scope="app", turn=self._turns[origin],
                              payload={"reply": "disconnected", "exit_code": None, "pid": origin[1]})

    def close(self) -> None:
        self.listener.close()
        try:
            if json.loads(listener_file().read_text("utf-8")).get("pid") == os.getpid():
                listener_file().unlink()
        except (OSError, ValueError):
            pass
