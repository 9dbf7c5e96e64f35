"""One traced session: its bus, the probe listener, and each run of the program as a turn.

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

from flowertui import __version__
from flowertui.engine.bus import EventBus, Sink
from flowertui.paths import data_dir
from flowertui.trace import launcher
from flowertui.trace.coverage import Coverage, coverage
from flowertui.trace.outlived import notice_path
from flowertui.trace.receiver import Listener, Translator, program_redactor
from flowertui.trace.spool import spool_dir

PROVIDER = "trace"
DRAIN_SECONDS = 5.0


class Tracer:
    """Runs a command with the probe and turns what the probe sends into events for the given sinks."""

    def __init__(self, command: list[str], sinks: list[Sink], *, commit: Callable[[], None] = lambda: None,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None) -> None:
        """`env` replaces the program's environment (an offline server's settings), `cwd` its working folder."""
        self.argv = launcher.resolve(command)
        self.cwd = cwd
        self.env = dict(os.environ if env is None else env)
        self.bus = EventBus(redactor=program_redactor(self.env))
        self.command = self.bus.redact(launcher.display(command))  # shown and stored: never the secrets on argv
        for sink in sinks:
            self.bus.subscribe(sink)
        self.translator = Translator(self.bus)
        self.listener = Listener(lambda record, origin: self.translator(record), commit)
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self.coverage: Coverage | None = None  # the last finished run's

    @property
    def session_id(self) -> str:
        return self.bus.session_id

    def start_session(self) -> None:
        self.bus.emit("session_start", name="session", scope="app", payload={
            "provider": PROVIDER, "model": self.command, "flowertui": __version__, "memory_kind": None,
            "memory_settings": {}, "compare": False, "mode": "trace", "command": self.command})

    def start_run(self, *, unbuffered: bool = False, relay: bool = False, relay_output: bool = False,
                  **streams) -> subprocess.Popen:
        """Spawn the program as the next turn (LaunchError when it cannot start).

        `relay` runs it under relay.py, which outlives flowertui (holding `pass_fds` for it); `relay_output` also
        passes its stdout and stderr through the relay, to a file in the data folder once flowertui is gone.
        """
        run = self.bus.turn + 1
        env = launcher.probe_env(self.env, addr=self.listener.addr, token=self.listener.token, spool_dir=spool_dir(),
                                 session_id=self.session_id, run=run, unbuffered=unbuffered)
        argv = self.argv
        if relay or relay_output:
            output = notice = None
            if relay_output:
                output = data_dir() / "program-output" / f"{self.session_id}.{run}.log"
                notice = notice_path(spool_dir(), self.session_id, run)
            argv = launcher.relayed(argv, output, notice)
        translator = self.translator
        translator.langchain, translator.loaded, translator.model_calls, translator.dropped = False, False, 0, 0
        self.process = launcher.spawn(argv, env, cwd=self.cwd, **streams)
        self.started = time.monotonic()
        self.bus.begin_turn()
        self.bus.emit("turn_start", name="run", scope="app", payload={
            "user": self.command, "pid": self.process.pid, "run": run})
        return self.process

    def finish_run(self, returncode: int, *, stopped: bool = False) -> None:
        """Wait (bounded) for the probe's last events, then close the turn with the exit status."""
        self.listener.wait_quiet(DRAIN_SECONDS)
        state = launcher.describe_exit(returncode)
        seen = self.translator
        self.coverage = coverage(self.argv, returncode, loaded=seen.loaded, langchain=seen.langchain,
                                 model_calls=seen.model_calls, dropped=seen.dropped)
        payload = {"reply": state, "exit_code": launcher.exit_code(returncode), "signal": -returncode if returncode < 0 else None,
                   "langchain": self.translator.langchain, "dropped_events": self.translator.dropped,
                   "elapsed": round(time.monotonic() - self.started, 3), "coverage": self.coverage.state}
        if self.coverage.note:
            payload["coverage_note"] = self.coverage.note
        if stopped:
            kind = "turn_cancelled"
        elif returncode == 0:
            kind = "turn_end"
        else:
            kind, payload["error"] = "turn_error", state
        self.bus.emit(kind, name="run", scope="app", payload=payload)

    def close(self) -> None:
        self.listener.close()
