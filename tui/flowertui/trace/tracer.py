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
from typing import TYPE_CHECKING

from flowertui.engine.bus import Sink
from flowertui.engine.events import TURN_CANCELLED, TURN_END, TURN_ERROR, TraceVariant
from flowertui.engine.trace_ledger import TraceLedger
from flowertui.session.store import SessionWriter
from flowertui.trace import launcher
from flowertui.trace.assembly import assemble_trace
from flowertui.trace.coverage import Coverage, coverage
from flowertui.trace.receiver import Listener, program_redactor, record_problem
from flowertui.trace.spool import spool_dir

if TYPE_CHECKING:
    from flowertui.serve.process import ServerProcess

DRAIN_SECONDS = 5.0


class Tracer:
    """Runs a command with the probe and turns what the probe sends into events of one traced session."""

    def __init__(self, command: list[str], sinks: list[Sink], *,
                 writer: Callable[[TraceLedger], SessionWriter | None] | None = None, ledger: TraceLedger | None = None,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None,
                 early: launcher.EarlyRun | None = None, server: ServerProcess | None = None) -> None:
        """`sinks`, `writer` and `ledger` as `assemble_trace` takes them; `env` replaces the program's
        environment (an offline server's settings), `cwd` its working folder; `server` the offline server the
        program uses, whose notices (embeddings) count in each run. With `early` (a first run started already),
        the session and that run are recorded here, before the probe's records are read."""
        self.argv = early.argv if early else launcher.resolve(command)
        self.cwd = cwd
        self.env = early.env if early else launcher.with_tiktoken_cache(os.environ if env is None else env)
        self.session = assemble_trace(sinks, writer=writer, ledger=ledger, redactor=program_redactor(self.env),
                                      session_id=early.session_id if early else None)
        self.bus, self.ledger, self.translator = self.session.bus, self.session.ledger, self.session.translator
        self.command = self.bus.redact(launcher.display(command))  # shown and stored: never the secrets on argv
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self.coverage: Coverage | None = None  # the last finished run's
        self.audit = None  # `--audit`: the AuditProxy whose calls are waited for before a run is closed
        self.server = server
        if early:
            self.start_session()
            self._adopt(early.process, early.started)
        self.listener = Listener(lambda record, origin: self.translator(record), self.session.commit,
                                 token=early.token if early else None, sock=early.sock if early else None)

    @property
    def session_id(self) -> str:
        return self.bus.session_id

    def start_session(self) -> None:
        self.session.start_session(TraceVariant.RUN, self.command)

    def start_run(self, *, unbuffered: bool = False, relay: bool = False, relay_output: bool = False,
                  **streams) -> subprocess.Popen:
        """Spawn the program as the next turn (LaunchError when it cannot start); options as `launcher.launch`."""
        translator = self.translator
        translator.langchain, translator.loaded, translator.model_calls, translator.dropped = False, False, 0, 0
        translator.greeted.clear()
        translator.goodbyes.clear()
        process = launcher.launch(self.argv, self.env, addr=self.listener.addr, token=self.listener.token,
                                  session_id=self.session_id, run=self.bus.turn + 1, unbuffered=unbuffered,
                                  relay=relay, relay_output=relay_output, cwd=self.cwd, **streams)
        self._adopt(process, time.monotonic())
        return process

    def _adopt(self, process: subprocess.Popen, started: float) -> None:
        self.process, self.started = process, started
        run = self.session.start_run(self.command, process.pid)
        if self.server is not None:
            self.server.follow(self.session_id, run, spool_dir(), self._notice)

    def _notice(self, record: dict) -> None:
        """A notice of the offline server (an embeddings request it answered), checked like a probe's record."""
        if record_problem(record) is None and record.get("t") == "embedding":
            self.translator(record)

    def finish_run(self, returncode: int, *, stopped: bool = False) -> None:
        """Wait (bounded) for the probe's last events (and the audit proxy's calls), then close the turn."""
        if self.audit is not None:
            self.audit.wait_idle(DRAIN_SECONDS)
        self.listener.wait_quiet(DRAIN_SECONDS)
        if self.server is not None:
            self.server.drain()
        seen = self.translator
        pid = self.process.pid if self.process is not None else None
        if pid not in seen.greeted and len(seen.greeted) == 1:  # run under the relay: the program is its child
            pid = next(iter(seen.greeted))
        state = launcher.describe_exit(returncode, handlers=pid not in seen.greeted or pid in seen.goodbyes)
        spooled = any(spool_dir().glob(f"{self.session_id}.{self.bus.turn}.*.jsonl"))
        self.coverage = coverage(self.argv, returncode, loaded=seen.loaded, langchain=seen.langchain,
                                 model_calls=seen.model_calls, dropped=seen.dropped, spooled=spooled)
        kind = TURN_CANCELLED if stopped else TURN_END if returncode == 0 else TURN_ERROR
        self.session.end_run(kind, state, exit_code=launcher.exit_code(returncode),
                             signal=-returncode if returncode < 0 else None,
                             error=state if kind == TURN_ERROR else None, langchain=seen.langchain,
                             dropped_events=seen.dropped, elapsed=round(time.monotonic() - self.started, 3),
                             coverage=self.coverage.state, coverage_note=self.coverage.note or None)

    def close(self) -> None:
        """Stop listening and close the session writer (what was queued is written)."""
        self.listener.close()
        self.session.close()
