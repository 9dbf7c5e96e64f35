"""The app's trace mode: another program's console on the left, its LangChain runs in the live panes.

The same panes, inbox, store, exports, themes and help as a chat session; what
differs: the conversation pane is the program's console (the message box writes
to its stdin), the counter groups per model and per top-level run, the memory
keys are gone, and `r` / `s` restart and stop the program.

Textual calls a message handler of every class up the MRO, so the handlers that
replace FlowerApp's call `prevent_default()`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from contextlib import suppress
from functools import partial
from pathlib import Path

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Footer, Input

from flowertui.app.app import FlowerApp
from flowertui.app.keys import TRACE_BINDINGS, TRACE_COMMANDS
from flowertui.app.messages import EngineProblem, EventsPending
from flowertui.app.screens.export_dialog import ExportDialog
from flowertui.app.screens.help import TRACE_PANES, HelpScreen
from flowertui.app.screens.trace_detail import TraceEventDetail
from flowertui.app.widgets.console import ConsoleView
from flowertui.app.widgets.events_pane import EventsPane
from flowertui.app.widgets.history_input import HistoryInput
from flowertui.app.widgets.lesson_source import LessonSource
from flowertui.app.widgets.token_stream import TokenStream
from flowertui.app.widgets.trace_counter import TraceCounter
from flowertui.app.widgets.trace_status import TraceStatus
from flowertui.config import Settings
from flowertui.engine.events import Event
from flowertui.engine.trace_ledger import TraceLedger
from flowertui.engine.sanitize import strip_escapes
from flowertui.lesson.catalog import Example
from flowertui.paths import data_dir, save_dir
from flowertui.session.model import SessionData
from flowertui.session.replay import Replay, play
from flowertui.session.store import DB_NAME, SessionWriter, StoreError
from flowertui.trace.launcher import LaunchError, describe_exit
from flowertui.trace.priority import lower_this_thread


OFFLINE_PACE = 100.0  # tokens/s of the offline server in the app: tokens arrive visibly, a lesson stays short


class ConsolePending(Message):
    """Console lines wait in the program console; one of these is in flight at a time."""


class ProgramExited(Message):
    def __init__(self, returncode: int) -> None:
        super().__init__()
        self.returncode = returncode


class TraceApp(FlowerApp, inherit_bindings=False):  # no memory-kind or compare keys
    CSS_PATH = [Path(__file__).parent / "app.tcss", Path(__file__).parent / "trace.tcss"]  # subclasses too
    TITLE = "flowertui trace"
    BINDINGS = TRACE_BINDINGS
    COMMANDS_SHOWN = TRACE_COMMANDS

    def __init__(self, settings: Settings, command: list[str] | None, *, listen: bool = False,
                 theme: str | None = None, history: SessionData | None = None, replay: Replay | None = None,
                 offline: bool = False, cwd: Path | None = None, lesson: Example | None = None) -> None:
        """`command` is the program to run; with `listen` (and no command) programs calling watch() report here;
        with `history` and `replay`, a recorded traced session plays back (its output was not recorded).

        `offline` starts the offline server (in the boot worker) and points the program at it; `cwd` is the
        program's working folder; `lesson` is the lesson example being run (its note, its source on `v`).
        """
        super().__init__(settings, theme=theme, history=history, replay=replay)
        self.command = command
        self.listen = listen
        self.offline = offline
        self.cwd = cwd
        self.lesson = lesson
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
        self.trace_ledger = TraceLedger(self.prices)  # the session's numbers: the bus feeds it, the counter reads it
        self.session_id: str | None = None  # known once the tracer (or the listener, or the recording) is there

    # layout -----------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with Horizontal(id="console-row"):
                    yield ConsoleView(id="console")
                    if self.lesson is not None:
                        yield LessonSource(self.lesson.source(), id="source")
                yield TraceStatus(id="status")
                yield HistoryInput(placeholder="A line for the program's stdin  (Enter to send, Esc for keys, "
                                               "? for help)", id="message")
            yield from self.side(TraceCounter(self.trace_ledger, id="counter-pane", classes="pane"))
        yield Footer()

    def on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # FlowerApp's mount handler looks for the chat panes
        titles = {"console": "Program console", "events-pane": "Callback events", "token-pane": "Token stream",
                  "counter-pane": "Tokens per model and per top-level run"}
        if self.lesson is not None:
            titles["source"] = self.lesson.file
            console = self.query_one(ConsoleView)
            console.note(f"lesson {self.lesson.number}: {self.lesson.title_zh} / {self.lesson.title_en}")
            console.note(f"watch: {self.lesson.watch}")
            console.note(self.lesson.note)
            console.note("v shows the example's source beside this console")
            if self.cwd is not None:
                console.note(f"working folder (files the example writes): {self.cwd}")
        self.set_up(titles, f"Replay at {self.replay.describe()}: no program runs" if self.replaying else "")

    def _theme_changed(self, theme) -> None:
        self.run_worker(partial(self._remember, {"theme": theme.name}), thread=True, group="state",
                        exit_on_error=False)
        self.query_one(TokenStream).reshade()
        self.query_one(EventsPane).rebuild()
        self.query_one(TraceCounter).redraw()

    # the program --------------------------------------------------------
    @work(thread=True, group="engine", exit_on_error=False)
    def boot(self) -> None:
        """Open the store and the probe listener off the UI thread, then start the program (or listen)."""
        if self.replaying:
            self.session_id = self.history.header.get("session_id")
            self.call_from_thread(self.query_one(ConsoleView).note,
                                  f"replay of session {self.session_id}: the program's output was not recorded")
            play(self.history.events, self._recorded_event, self.replay, self._stop_replay)
            return
        lower_this_thread()  # the session writer this thread starts yields the CPU to the program
        if self.listen:
            from flowertui.trace.listen import WatchedRuns

            self.watched = WatchedRuns([self.inbox], writer=self._open_writer, ledger=self.trace_ledger)
            self.session_id, self.writer = self.watched.session_id, self.watched.session.writer
            self.call_from_thread(self.query_one(ConsoleView).note,
                                  "listening: programs that call flowertui.watch() report here")
            return
        from flowertui.trace.program import ProgramConsole
        from flowertui.trace.tracer import Tracer

        env = None
        if self.offline:
            from flowertui.serve.server import ServeError, ShopServer

            try:
                self.server = ShopServer(speed=OFFLINE_PACE)
                self.server.start()
            except (ServeError, RuntimeError) as exc:
                self.post_message(EngineProblem(f"the offline server did not start: {exc}"))
                return
            env = {**os.environ, **self.server.child_env()}
            self.call_from_thread(self.query_one(ConsoleView).note,
                                  f"offline: the program talks to flowertui's offline server at {self.server.base_url}")
        tracer = Tracer(self.command or [], [self.inbox], writer=self._open_writer, ledger=self.trace_ledger, env=env,
                        cwd=self.cwd)
        tracer.start_session()
        self.tracer, self.session_id, self.writer = tracer, tracer.session_id, tracer.session.writer
        self.program = ProgramConsole(tracer, self._console_wake, lambda code: self.post_message(ProgramExited(code)))
        self.call_from_thread(self._start_run)

    def _open_writer(self, ledger: TraceLedger) -> SessionWriter | None:
        """The session writer; None when the database cannot be opened (the session runs unsaved, and says so)."""
        try:
            return SessionWriter(data_dir() / DB_NAME, ledger,
                                 on_error=lambda text: self.post_message(EngineProblem(text)))
        except StoreError as exc:
            self.post_message(EngineProblem(f"{exc}; this session will not be saved"))
            return None

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
        if self._restart_pending:
            self._restart_pending = False
            self._start_run()

    async def on_events_pending(self, message: EventsPending) -> None:
        message.prevent_default()
        batch = self.take_batch()
        if not batch:
            return
        for event in batch:
            if event.kind == "handler_error" and event.payload.get("of_run"):
                self.handler_errors.setdefault(event.payload["of_run"], []).append(event)
        with suppress(NoMatches):  # the app may be closing while the program still reports
            self.query_one(TraceStatus).add(batch)
            self.query_one(EventsPane).add(batch)
            self.query_one(TokenStream).add(batch)
            self.query_one(TraceCounter).add(batch)

    async def on_engine_problem(self, message: EngineProblem) -> None:
        message.prevent_default()
        self.notify(message.text, title="Trace", severity="error", timeout=10, markup=False)

    @on(Input.Submitted, "#message")
    def send_line(self, message: Input.Submitted) -> None:
        """A line for the program's stdin (an empty one too: programs wait for Enter)."""
        message.prevent_default()
        box = self.query_one(HistoryInput)
        text = strip_escapes(message.value)
        box.value = ""
        if self.program is None or not self.program.send(text):
            self.notify("The program is not running, or no longer reads its input.", markup=False)
            return
        if text:
            box.remember(text)

    def on_events_pane_selected(self, message: EventsPane.Selected) -> None:
        message.prevent_default()
        event = message.event
        callbacks = {f"on_{event.kind}"} | ({"on_llm_start"} if event.kind == "chat_model_start" else set())
        errors = [e for e in self.handler_errors.get(event.run_id or "", []) if e.payload.get("callback") in callbacks]
        self.push_screen(TraceEventDetail(event, errors))

    # actions --------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Restart and stop need a program (a listener has none); `p` only when the side panes are tabs."""
        if action in ("restart", "stop"):
            return self.program is not None
        if action == "toggle_source":
            return self.lesson is not None
        return self.narrow if action == "next_pane" else True

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

    def action_toggle_source(self) -> None:
        self.query_one(LessonSource).toggle_class("shown")

    def action_cancel(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#events-table").focus()

    async def action_export(self) -> None:
        if self.session_id is None:
            self.notify("Nothing to export yet.", markup=False)
            return
        folder = await asyncio.to_thread(save_dir)
        self.push_screen(ExportDialog(self.session_id, folder), partial(self._exported, self.session_id))

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

    def on_unmount(self, event: events.Unmount) -> None:
        """FlowerApp's handler runs after this one and closes the session writer."""
        if self.program is not None:
            self.program.stop(wait=True)  # the run's end is recorded before FlowerApp's handler closes the writer
        for owner in (self.tracer, self.watched):
            if owner is not None:
                owner.close()
        if self.server is not None:
            self.server.stop()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_table(), TRACE_PANES))

    def _recorded_event(self, event: Event) -> None:
        """A recorded event goes to the session's trace ledger, as a live one would, then to the panes."""
        self.trace_ledger(event)
        self.inbox(event)

    async def action_clear(self) -> None:
        """Clear the panes; the numbers stay (they are the session's, not the screen's)."""
        self.query_one(EventsPane).clear()
        self.query_one(TokenStream).clear()
        self.query_one(ConsoleView).clear()
