"""The trace app: another program's console on the left, its LangChain runs in the live panes.

What differs from the chat app (both derive from base.py's AppBase): the left pane is the program's console
(the message box writes to its stdin), the counter groups per model and per top-level run, there are no
memory keys, and `r` / `s` restart and stop the program.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input

from flowertui.app.base import HERE, AppBase, titled
from flowertui.app.messages import EngineProblem
from flowertui.app.screens.trace_detail import TraceEventDetail
from flowertui.app.widgets.console import ConsoleView
from flowertui.app.widgets.events_pane import EventsPane
from flowertui.app.widgets.history_input import HistoryInput
from flowertui.app.widgets.lesson_source import LessonSource
from flowertui.app.widgets.audit_counter import AuditedCounter
from flowertui.app.widgets.trace_status import TraceStatus
from flowertui.config import Settings
from flowertui.engine.events import Event
from flowertui.engine.sanitize import Redactor, strip_escapes
from flowertui.engine.trace_ledger import TraceLedger
from flowertui.lesson.catalog import Example
from flowertui.trace.audit.reconcile import AuditLedger
from flowertui.trace.launcher import LaunchError, describe_exit
from flowertui.trace.priority import lower_this_thread
from flowertui.trace.program import ConsoleLine

if TYPE_CHECKING:
    from flowertui.session.model import SessionData
    from flowertui.session.replay import Replay

QUIT_WINDOW = 2.0  # seconds: a second ctrl+c within this quits flowertui
OFFLINE_PACE = 100.0  # tokens/s of the offline server in the app: tokens arrive visibly, a lesson stays short
FOLD_EVERY = 0.25  # seconds between redraws of a streaming run's folded row in the events pane (EventsPane.fold_every)


class ConsolePending(Message):
    """Console lines wait in the program console; one of these is in flight at a time."""


class ProgramExited(Message):
    def __init__(self, returncode: int) -> None:
        super().__init__()
        self.returncode = returncode


class TraceApp(AppBase, inherit_bindings=False):  # only its own keys: Textual's default ctrl+c hint neither
    CSS_PATH = [HERE / "app.tcss", HERE / "trace.tcss"]
    TITLE = "flowertui trace"
    SESSION_KIND = "trace"
    PROBLEM_TITLE = "Trace"
    COUNTER_TITLE = "Tokens per model and per top-level run"
    NOTHING_TO_EXPORT = "Nothing to export yet."
    DRAW_INTERVAL = 1 / 60  # Textual shows 60 frames a second: a burst is drawn once a frame, a lone token at once

    def __init__(self, settings: Settings, command: list[str] | None, *, listen: bool = False,
                 theme: str | None = None, history: SessionData | None = None, replay: Replay | None = None,
                 offline: bool = False, cwd: Path | None = None, lesson: Example | None = None,
                 sinks: list | None = None, audit: bool = False) -> None:
        """`command` is the program to run; with `listen` (and no command) programs calling watch() report here;
        with `history` and `replay`, a recorded traced session plays back (its output was not recorded).

        `offline` starts the offline server (in the boot worker) and points the program at it; `cwd` is the
        program's working folder; `lesson` is the lesson example being run (its note, its source on `v`);
        `sinks` also receive the session's events (`--otlp`), on the bus's threads, never on the event loop;
        `audit` puts the audit proxy between the program and its endpoint (`a` shows the calls).
        """
        super().__init__(settings, theme=theme, history=history, replay=replay)
        self.command = command
        self.listen = listen
        self.offline = offline
        self.cwd = cwd
        self.lesson = lesson
        self.sinks = list(sinks or ())
        self.server = None
        self.tracer = None
        self.program = None
        self.watched = None
        self.returncode: int | None = None  # the last run's, for flowertui's own exit code
        self.stopped_on_quit: str | None = None  # what quitting stopped, said after the screen is gone
        self.handler_errors: dict[str, list[Event]] = {}
        self._console_posted = False
        self._console_lock = threading.Lock()
        self._restart_pending = False
        self._interrupted_at = float("-inf")
        self.ledger = TraceLedger(self.prices)  # the session's numbers: the bus feeds it, the counter reads it
        self.audit = audit
        self.proxy = None
        self.audit_ledger = AuditLedger(self.prices)  # the wire's calls beside the runs (fed as the ledger is)
        # known once the tracer (or the listener) is there; a recording's at once
        self.session_id: str | None = history.header.get("session_id") if history is not None else None

    # layout -----------------------------------------------------------
    def left(self) -> ComposeResult:
        with Horizontal(id="console-row"):
            yield titled(ConsoleView(id="console"), "Program console")
            if self.lesson is not None:
                yield titled(LessonSource(self.lesson.source(), id="source"), self.lesson.file)
        yield TraceStatus(id="status")
        yield HistoryInput(placeholder=f"A line for the program's stdin  ({self.key_hint()})", id="message")

    def counter(self) -> Widget:
        return titled(AuditedCounter(self.ledger, self.audit_ledger, id="counter-pane", classes="pane"),
                      self.COUNTER_TITLE)

    def side_panes(self) -> list[Widget]:
        panes = super().side_panes()
        self.events_pane.fold_every = FOLD_EVERY  # every batch is drawn at once: tokens do not redraw it each
        return panes

    def replay_note(self) -> str:
        return f"Replay, {self.replay.describe()}: no program runs"

    def mounted(self) -> None:
        if self.lesson is None:
            return
        console = self.query_one(ConsoleView)
        console.note(f"lesson {self.lesson.number}: {self.lesson.title_zh} / {self.lesson.title_en}")
        console.note(f"watch: {self.lesson.watch}")
        console.note(self.lesson.note)
        console.note("v shows the example's source beside this console")
        if self.cwd is not None:
            console.note(f"working folder (files the example writes): {self.cwd}")

    async def draw(self, batch: list[Event]) -> None:
        for event in batch:
            if event.kind == "program_output" and self.replaying:  # live, the console already has these lines
                self.query_one(ConsoleView).add([ConsoleLine(stream, text) for stream, text in event.payload.lines])
            if event.kind == "handler_error" and event.payload.of_run:
                self.handler_errors.setdefault(event.payload.of_run, []).append(event)
        self.query_one(TraceStatus).add(batch)
        self.draw_side(batch)

    # the program --------------------------------------------------------
    @work(thread=True, group="engine", exit_on_error=False)
    def boot(self) -> None:
        """Open the store and the probe listener off the UI thread, then start the program (or listen)."""
        self.prices.warm_in_background()  # off the first frame, and before any cost is drawn
        if self.replaying:
            self.call_from_thread(self.query_one(ConsoleView).note, f"replay of session {self.session_id}")
            self.play(self.replay)
            return
        lower_this_thread()  # the session writer this thread starts yields the CPU to the program
        if self.listen:
            from flowertui.trace.listen import WatchedRuns

            self.watched = WatchedRuns([self.inbox, *self.sinks], writer=self.open_writer, ledger=self.ledger)
            self.session_id, self.writer = self.watched.session_id, self.watched.session.writer
            self.call_from_thread(self.query_one(ConsoleView).note,
                                  "listening: programs that call flowertui.watch() report here")
            return
        from flowertui.trace.program import ProgramConsole
        from flowertui.trace.tracer import Tracer

        env = None
        if self.offline:  # its own process: it outlives flowertui while the program runs
            from flowertui.serve.process import ServerProcess

            try:
                self.server = ServerProcess(speed=OFFLINE_PACE)
                self.server.start()
            except (OSError, RuntimeError) as exc:
                self.post_message(EngineProblem(f"the offline server did not start: {exc}"))
                return
            env = {**os.environ, **self.server.child_env()}
            self.call_from_thread(self.query_one(ConsoleView).note,
                                  f"offline: the program talks to flowertui's offline server at {self.server.base_url}")
        if self.lesson is not None:
            from flowertui.lesson.runner import lesson_env

            env = lesson_env(os.environ if env is None else env)
        keep = self.server.keep() if self.server is not None else {}
        if self.audit:  # its own process too, in front of whatever the program would call
            from flowertui.trace.audit.process import AuditProxy, merged_keep, upstream_of

            base = env if env is not None else dict(os.environ)
            try:
                self.proxy = AuditProxy(upstream_of(base))
                self.proxy.start()
            except OSError as exc:
                self.post_message(EngineProblem(f"the audit proxy did not start: {exc}"))
                return
            env, keep = self.proxy.child_env(base), merged_keep(keep, self.proxy.keep())
            self.call_from_thread(self.query_one(ConsoleView).note,
                                  f"audit: the program's calls to {Redactor()(self.proxy.upstream)} go through "
                                  f"{self.proxy.base_url} "
                                  "(a shows them)")
        tracer = Tracer(self.command or [], [self.audit_ledger, self.inbox, *self.sinks], writer=self.open_writer,
                        ledger=self.ledger, env=env, cwd=self.cwd, server=self.server)
        if self.proxy is not None:
            tracer.audit = self.proxy
            self.proxy.attach(tracer.bus)
        tracer.start_session()
        self.tracer, self.session_id, self.writer = tracer, tracer.session_id, tracer.session.writer
        self.program = ProgramConsole(tracer, self._console_wake, lambda code: self.post_message(ProgramExited(code)))
        self.program.keep = keep
        self.call_from_thread(self._start_run)

    def _start_run(self) -> None:
        try:
            pid = self.program.start()
        except LaunchError as exc:
            self.notify(str(exc), title="Cannot start", severity="error", markup=False)
            return
        self.query_one(ConsoleView).note(f"run {self.tracer.bus.turn}: {self.tracer.command} (pid {pid})")
        self.refresh_bindings()

    def _console_wake(self) -> None:
        with self._console_lock:
            if self._console_posted:
                return
            self._console_posted = True
        self.post_message(ConsolePending())

    def on_console_pending(self, _: ConsolePending) -> None:
        with self._console_lock:
            self._console_posted = False
        lines, skipped = self.program.drain()
        with suppress(NoMatches):
            self.query_one(ConsoleView).add(lines, skipped)

    def on_program_exited(self, message: ProgramExited) -> None:
        self.returncode = message.returncode
        with suppress(NoMatches):
            self.query_one(ConsoleView).note(f"{self.tracer.command} {describe_exit(message.returncode)}")
            if self.tracer.coverage is not None and self.tracer.coverage.line():
                self.query_one(ConsoleView).note(self.tracer.coverage.line())
        if self._restart_pending:
            self._restart_pending = False
            self._start_run()

    def stop_work(self) -> None:
        """The program stops first, so its run's end is recorded before the session writer closes."""
        if self.program is not None:
            self.program.stop(wait=True)
        for owner in (self.tracer, self.watched):
            if owner is not None:
                owner.close()
        for process in (self.server, self.proxy):
            if process is not None:
                process.stop()

    @on(Input.Submitted, "#message")
    def send_line(self, message: Input.Submitted) -> None:
        """A line for the program's stdin (an empty one too: programs wait for Enter)."""
        box = self.query_one(HistoryInput)
        text = strip_escapes(message.value)  # the box has emptied itself already
        if self.program is None or not self.program.send(text):
            self.notify("The program is not running, or no longer reads its input.", markup=False)
            return
        if text:
            box.remember(text)

    def on_events_pane_selected(self, message: EventsPane.Selected) -> None:
        event = message.event
        callbacks = {f"on_{event.kind}"} | ({"on_llm_start"} if event.kind == "chat_model_start" else set())
        errors = [e for e in self.handler_errors.get(event.run_id or "", []) if e.payload.callback in callbacks]
        self.push_screen(TraceEventDetail(event, errors))

    # actions --------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Restart and stop need a program (a listener has none); the source needs a lesson."""
        if action in ("restart", "stop"):
            return self.program is not None
        if action == "toggle_source":
            return self.lesson is not None
        if action == "audit":
            return self.audit or self.audit_ledger.calls > 0
        return super().check_action(action, parameters)

    def action_restart(self) -> None:
        """A new run of the program in the same session (the running one is stopped first)."""
        if self.program.running:
            self._restart_pending = True
            self.query_one(TraceStatus).set_state("stopping…")
            self.program.stop()
        elif not self._restart_pending:
            self._start_run()

    def action_stop(self) -> None:
        if self.program.running:
            self.query_one(TraceStatus).set_state("stopping…")
            self.query_one(ConsoleView).note("stopping: SIGINT, then SIGTERM if it does not end")
            self.program.stop()

    def action_interrupt(self) -> None:
        """ctrl+c: SIGINT to the running program; with none running, or a second time within QUIT_WINDOW, quit."""
        now = time.monotonic()
        if now - self._interrupted_at < QUIT_WINDOW or self.program is None or not self.program.interrupt():
            self.action_quit()
            return
        self._interrupted_at = now
        self.query_one(ConsoleView).note(f"ctrl+c: SIGINT sent to the program (ctrl+c again within "
                                         f"{QUIT_WINDOW:g} s quits flowertui)")

    def action_audit(self) -> None:
        """The audit's detail: every call at the wire, its run, the findings (computed once, by the audit ledger)."""
        from flowertui.app.screens.audit import AuditScreen

        self.push_screen(AuditScreen(self.audit_ledger.report()))

    def _recorded_event(self, event: Event) -> None:
        """A replay feeds the audit ledger as a live run does."""
        self.audit_ledger(event)
        super()._recorded_event(event)

    def action_toggle_source(self) -> None:
        self.query_one(LessonSource).toggle_class("shown")

    def export_session(self) -> str | None:
        return self.session_id

    def action_quit(self) -> None:
        """Quitting stops the program first (SIGINT, then SIGTERM) and says so once the screen is gone."""
        if self.program is None or not self.program.running:
            self.exit()
            return
        pid = self.program.process.pid
        self.stopped_on_quit = f"stopped {self.tracer.command} (pid {pid}) because flowertui quit"
        self.query_one(TraceStatus).set_state("stopping…")
        self.query_one(ConsoleView).note("quitting: stopping the program first")
        self._stop_then_exit()

    @work(thread=True, group="quit", exit_on_error=False)
    def _stop_then_exit(self) -> None:
        self.program.stop(wait=True)
        self.call_from_thread(self.exit)

    async def action_clear(self) -> None:
        await super().action_clear()
        self.query_one(ConsoleView).clear()
