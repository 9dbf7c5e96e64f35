"""A traced program driven from the app: its output as console lines, its stdin, stop and restart.

Reader threads turn the program's stdout and stderr into lines (escape sequences
stripped, secrets redacted, very long lines cut) in one bounded buffer, so a flood of output costs
bounded memory and the app draws only what it can keep. Nothing here imports Textual.
"""

from __future__ import annotations

import codecs
import os
import select
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from flowertui.engine.events import ProgramOutput
from flowertui.engine.sanitize import strip_escapes, truncate
from flowertui.trace.tracer import Tracer

KEPT_LINES = 5_000  # lines waiting for the screen; older ones are counted and dropped in a flood
LINE_LIMIT = 2_000  # characters shown of one line
READ_SIZE = 1 << 16
PROMPT_WAIT = 0.05  # seconds a line without its newline waits for the rest before it is shown
STOP_GRACE = 3.0  # seconds after SIGINT before SIGTERM, and after SIGTERM before SIGKILL
RECORDED_LINES = 2_000  # console lines of one run saved in the session (replay and exports show them)


@dataclass(frozen=True, slots=True)
class ConsoleLine:
    stream: str  # "out", "err", or "in" (a line sent to the program)
    text: str
    partial: bool = False  # a line redrawn with `\r` shown before its newline: the next `redraw` line replaces it
    redraw: bool = False  # this line's new state: it replaces the partial line shown just before, if still last


def carriage_returns(line: str) -> str:
    """The line as a terminal leaves it: each `\r` returns to the start and what follows overwrites (a progress
    bar redrawn in place shows its last state, not every state run together)."""
    if "\r" not in line:
        return line
    shown = ""
    for part in line.split("\r"):
        shown = part + shown[len(part):]
    return shown


class ProgramConsole:
    """One run of the program at a time; `wake` is called (from any thread) when lines wait in `drain()`."""

    def __init__(self, tracer: Tracer, wake: Callable[[], None], exited: Callable[[int], None]) -> None:
        self.tracer = tracer
        self.wake = wake
        self.exited = exited
        self.process: subprocess.Popen | None = None
        self._lines: deque[ConsoleLine] = deque()
        self._skipped = 0
        self._lock = threading.Lock()
        self._stopping = False
        self._waiter: threading.Thread | None = None
        self._recorded = 0  # this run's lines saved in the session, and those past RECORDED_LINES not saved
        self._unrecorded = 0
        self.keep: dict = {}  # {"pass_fds": (fd,)}: the offline server's lifeline, held by each run's relay

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> int:
        """Start a new run (LaunchError when the program cannot start); returns its pid."""
        self._stopping = False
        self._recorded = self._unrecorded = 0
        process = self.tracer.start_run(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        start_new_session=True, unbuffered=True, relay_output=True,
                                        **self.keep)
        self.process = process
        readers = [threading.Thread(target=self._read, args=(process.stdout, "out"), daemon=True),
                   threading.Thread(target=self._read, args=(process.stderr, "err"), daemon=True)]
        for reader in readers:
            reader.start()
        self._waiter = threading.Thread(target=self._wait, args=(process, readers), daemon=True)
        self._waiter.start()
        return process.pid

    def send(self, text: str) -> bool:
        """Write one line to the program's stdin; False when it is not running or stopped reading."""
        process = self.process
        if process is None or process.poll() is not None or process.stdin is None:
            return False
        self._add(ConsoleLine("in", text))
        self._record([ConsoleLine("in", text)])
        try:
            process.stdin.write((text + "\n").encode())
            process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def interrupt(self) -> bool:
        """SIGINT to the program's process group (its relay waits it out), as ctrl+c in a terminal."""
        process = self.process
        if process is None or process.poll() is not None:
            return False
        try:
            os.killpg(process.pid, signal.SIGINT)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def stop(self, wait: bool = False) -> None:
        """SIGINT to the program's process group, then SIGTERM, then SIGKILL, STOP_GRACE apart.

        With `wait`, return once the run is over and recorded (its last events and its end in the session).
        """
        process = self.process
        if process is not None and process.poll() is None:
            self._stopping = True
            stopper = threading.Thread(target=self._escalate, args=(process,), daemon=True)
            stopper.start()
            if wait:
                stopper.join()
        if wait and self._waiter is not None:
            self._waiter.join(timeout=10)

    def _escalate(self, process: subprocess.Popen) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
            try:
                process.wait(STOP_GRACE)
                return
            except subprocess.TimeoutExpired:
                continue

    def drain(self) -> tuple[list[ConsoleLine], int]:
        """The lines waiting, and how many were dropped since the last drain because too many waited."""
        with self._lock:
            lines, skipped = list(self._lines), self._skipped
            self._lines.clear()
            self._skipped = 0
        return lines, skipped

    def _add(self, line: ConsoleLine) -> None:
        with self._lock:
            if len(self._lines) >= KEPT_LINES:
                self._lines.popleft()
                self._skipped += 1
            self._lines.append(line)
        self.wake()

    def _read(self, pipe, stream: str) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        redrawing = False  # `pending` is shown already, as a partial line: its next state replaces it
        fd = pipe.fileno()
        while True:
            if pending and not select.select([fd], [], [], PROMPT_WAIT)[0]:
                if "\r" in pending:  # a progress line, redrawn in place as more comes: saved once it is done
                    self._add(ConsoleLine(stream, self._shown(pending), partial=True, redraw=redrawing))
                    redrawing = True
                    if pending.endswith("\r"):  # only its last state matters: it stays short however long it runs
                        pending = carriage_returns(pending) + "\r"
                    select.select([fd], [], [])
                else:
                    prompt = ConsoleLine(stream, self._shown(pending))  # a prompt waiting without its newline
                    self._add(prompt)
                    self._record([prompt])
                    pending = ""
            try:
                data = os.read(fd, READ_SIZE)
            except OSError:
                data = b""
            text = pending + decoder.decode(data, final=not data)
            *complete, pending = text.split("\n")
            while len(pending) > LINE_LIMIT:  # output that never ends its line: cut it, or it waits in memory forever
                complete.append(pending[:LINE_LIMIT])
                pending = pending[LINE_LIMIT:]
            if not data and pending:
                complete, pending = [*complete, pending], ""
            shown = [ConsoleLine(stream, self._shown(line), redraw=redrawing and not index)
                     for index, line in enumerate(complete)]
            redrawing = redrawing and not complete
            with self._lock:
                for line in shown:
                    if len(self._lines) >= KEPT_LINES:
                        self._lines.popleft()
                        self._skipped += 1
                    self._lines.append(line)
            if shown:
                self.wake()
                self._record(shown)
            if not data:
                pipe.close()
                return

    def _record(self, lines: list[ConsoleLine]) -> None:
        """Save the run's console lines in the session (already redacted and cut), the first RECORDED_LINES only."""
        with self._lock:
            room = max(0, RECORDED_LINES - self._recorded)
            kept, self._recorded = lines[:room], self._recorded + min(room, len(lines))
            self._unrecorded += len(lines) - len(kept)
        if kept:
            self.tracer.bus.emit(ProgramOutput(lines=[[line.stream, line.text] for line in kept]), name="output",
                                 scope="app")

    def _shown(self, line: str) -> str:
        """Redacted with the tracer's redactor (the program's own secrets) before anything is shown."""
        return truncate(self.tracer.bus.redact(strip_escapes(carriage_returns(line.rstrip("\r")))), LINE_LIMIT)

    def _wait(self, process: subprocess.Popen, readers: list[threading.Thread]) -> None:
        returncode = process.wait()
        for reader in readers:
            reader.join(timeout=2)
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:
                pass
        if self._unrecorded:
            self.tracer.bus.emit(ProgramOutput(lines=[], not_saved=self._unrecorded), name="output", scope="app")
        self.tracer.finish_run(returncode, stopped=self._stopping)
        self.exited(returncode)
