"""The trace mode's status line: command, pid, state and elapsed time of the current run, from events."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from flowertui.engine.events import PROBE_HELLO, Event, RunEnd, RunStart, TraceSessionStart, TraceVariant

COVERAGE = {"not traced": ("not traced: the probe did not load", "bold red"),
            "not delivered": ("events spooled: imported at next start", "yellow"), "no langchain": ("no LangChain", "dim"),
            "no model call": ("LangChain, no model call", "yellow")}


class TraceStatus(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.command = "…"
        self.session = "…"
        self.pid: int | None = None
        self.state = "starting"
        self.langchain = False
        self.coverage: str | None = None  # the ended run's (trace/coverage.py), said instead of "no LangChain yet"
        self.started: float | None = None  # time.monotonic() when the run started, for the clock
        self.elapsed: float | None = None  # set when the run ended
        self.run = 0

    def on_mount(self) -> None:
        self.set_interval(0.5, self._draw)
        self._draw()

    def add(self, events: list[Event]) -> None:
        """Redrawn only when an event changes what the line says (a streamed token does not; the clock ticks on
        its own)."""
        changed = False
        for event in events:
            p = event.payload
            if isinstance(p, TraceSessionStart):
                self.command, self.session = p.command or "…", event.session_id
                self.state = "listening" if p.trace_variant == TraceVariant.LISTEN else self.state
            elif isinstance(p, RunStart):
                self.pid, self.run, self.langchain = p.pid, p.run or event.turn, False
                self.coverage = None
                self.state, self.started, self.elapsed = "running", time.monotonic(), None
            elif event.kind == PROBE_HELLO:
                self.langchain = True
                self.pid = getattr(p, "pid", None) or self.pid  # the program's own (the run's process may be its relay)
            elif isinstance(p, RunEnd):
                self.state = p.exit_state or event.kind
                self.elapsed = p.elapsed
                self.langchain = self.langchain if p.langchain is None else p.langchain
                self.coverage = p.coverage
            else:
                continue
            changed = True
        if changed:
            self._draw()

    def set_state(self, state: str) -> None:
        self.state = state
        self._draw()

    def _draw(self) -> None:
        running = self.state == "running"
        seconds = (time.monotonic() - self.started) if running and self.started else self.elapsed
        colour = "bold green" if running else ("bold yellow" if self.state in ("starting", "stopping…") else "bold")
        if self.state.startswith(("exited", "killed")) and self.state != "exited 0":
            colour = "bold red"
        line = Text.assemble(
            (f"● {self.state}", colour),
            ("  │  ", "dim"), (self.command, "bold"),
            ("  │  pid ", "dim"), str(self.pid or "–"),
            ("  │  run ", "dim"), str(self.run or "–"),
            ("  │  ", "dim"), f"{seconds:.1f}s" if seconds is not None else "–",
            ("  │  ", "dim"), COVERAGE.get(self.coverage) or (
                ("LangChain seen", "green") if self.langchain else ("no LangChain yet", "dim")),
            ("  │  session ", "dim"), self.session,
        )
        line.truncate(max(self.size.width, 20), overflow="ellipsis")
        self.update(line, layout=False)  # one line (app.tcss), as wide as the screen: its size never changes
