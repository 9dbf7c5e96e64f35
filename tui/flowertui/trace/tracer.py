"""`flowertui trace PROGRAM`: the probe listener, and each run of the program as a turn of a traced session.

A traced session is an ordinary session (session_start, then turn_start /
turn_end around each run of the program), so the store, exports and replay
need no special case. The headless mode and the app both drive this.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from flowertui.engine.bus import Sink
from flowertui.engine.events import TURN_CANCELLED, TURN_END, TURN_ERROR
from flowertui.engine.events import TraceVariant
from flowertui.engine.trace_ledger import TraceLedger
from flowertui.session.store import SessionWriter
from flowertui.trace import launcher
from flowertui.trace.assembly import assemble_trace
from flowertui.trace.receiver import Listener, program_redactor
from flowertui.trace.spool import spool_dir

DRAIN_SECONDS = 5.0


class Tracer:
    """Runs a command with the probe and turns what the probe sends into events of one traced session."""

    def __init__(self, command: list[str], sinks: list[Sink], *,
                 writer: Callable[[TraceLedger], SessionWriter | None] | None = None, ledger: TraceLedger | None = None,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None) -> None:
        """`sinks`, `writer` and `ledger` as `assemble_trace` takes them; `env` replaces the program's
        environment (an offline server's settings), `cwd` its working folder."""
        self.argv = launcher.resolve(command)
        self.cwd = cwd
        self.env = launcher.with_tiktoken_cache(os.environ if env is None else env)
        self.session = assemble_trace(sinks, writer=writer, ledger=ledger, redactor=program_redactor(self.env))
        self.bus, self.ledger, self.translator = self.session.bus, self.session.ledger, self.session.translator
        self.command = self.bus.redact(launcher.display(command))  # shown and stored: never the secrets on argv
        self.listener = Listener(lambda record, origin: self.translator(record), self.session.commit)
        self.process: subprocess.Popen | None = None
        self.started = 0.0

    @property
    def session_id(self) -> str:
        return self.bus.session_id

    def start_session(self) -> None:
        self.session.start_session(TraceVariant.RUN, self.command)

    def start_run(self, *, unbuffered: bool = False, **streams) -> subprocess.Popen:
        """Spawn the program as the next turn (LaunchError when it cannot start)."""
        run = self.bus.turn + 1
        env = launcher.probe_env(self.env, addr=self.listener.addr, token=self.listener.token, spool_dir=spool_dir(),
                                 session_id=self.session_id, run=run, unbuffered=unbuffered)
        self.translator.langchain, self.translator.dropped = False, 0
        self.translator.greeted.clear()
        self.translator.goodbyes.clear()
        self.process = launcher.spawn(self.argv, env, cwd=self.cwd, **streams)
        self.started = time.monotonic()
        self.session.start_run(self.command, self.process.pid)
        return self.process

    def finish_run(self, returncode: int, *, stopped: bool = False) -> None:
        """Wait (bounded) for the probe's last events, then close the turn with the exit status."""
        self.listener.wait_quiet(DRAIN_SECONDS)
        pid = self.process.pid if self.process is not None else None
        state = launcher.describe_exit(returncode, handlers=pid not in self.translator.greeted
                                       or pid in self.translator.goodbyes)
        kind = TURN_CANCELLED if stopped else TURN_END if returncode == 0 else TURN_ERROR
        self.session.end_run(kind, state, exit_code=launcher.exit_code(returncode),
                             signal=-returncode if returncode < 0 else None,
                             error=state if kind == TURN_ERROR else None, langchain=self.translator.langchain,
                             dropped_events=self.translator.dropped, elapsed=round(time.monotonic() - self.started, 3))

    def close(self) -> None:
        """Stop listening and close the session writer (what was queued is written)."""
        self.listener.close()
        self.session.close()
