"""The flowertui App: layout, keys, themes, and the wiring from engine events to panes.

LangChain is imported in a worker after the first frame. Every engine call runs
in a thread worker under one lock (turns, memory switches and compare mode never
overlap); the engine talks back only through events, which the inbox batches.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import MountError, Widget
from textual.widgets import DataTable, Footer, Input, Tab, Tabs
from textual.worker import Worker, WorkerState

from flowertui.app import themes
from flowertui.app.bridge import EventInbox
from flowertui.app.keys import BINDINGS, COMMANDS
from flowertui.app.messages import CatchUpQuestion, EngineProblem, EngineReady, EventsPending, Notice
from flowertui.app.state import load_state, save_state
from flowertui.app.widgets.conversation import ConversationView
from flowertui.app.widgets.counter import TokenCounter
from flowertui.app.widgets.events_pane import EventsPane
from flowertui.app.widgets.history_input import HistoryInput
from flowertui.app.widgets.status import StatusLine
from flowertui.app.widgets.token_stream import TokenStream
from flowertui.config import Settings
from flowertui.engine.events import Event, MemoryMode
from flowertui.engine.kinds import KINDS
from flowertui.engine.ledger import Ledger
from flowertui.engine.prices import PriceTableError, configured_prices, load_prices
from flowertui.engine.resume import Resume
from flowertui.engine.sanitize import strip_escapes
from flowertui.paths import data_dir, save_dir

if TYPE_CHECKING:  # the screens and the session layer are imported when first used, after the first frame
    from flowertui.session.model import SessionData
    from flowertui.session.replay import Replay

BOOT_DELAY = 0.1  # seconds after the first frame before the engine starts loading
QUIT_WAIT = 0.5  # seconds a quit waits for the engine call in flight to record its cancel
SIDE_TABS = {"tab-events": "show-events", "tab-tokens": "show-tokens", "tab-counter": "show-counter"}
REPLAY_HIDDEN = ("memory", "cycle_memory", "compare")  # a replay calls no model


class FlowerApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "flowertui"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = BINDINGS
    COMMANDS_SHOWN = COMMANDS  # what the help table and the palette list (trace mode has its own)

    def __init__(self, settings: Settings, *, memory_kind: str | None = None, compare: bool = False,
                 theme: str | None = None, history: SessionData | None = None,
                 replay: Replay | None = None) -> None:
        """`history` with `replay` replays a recorded session; without it, resumes the session.

        `theme` is the one asked for on the command line; the config's theme and keymap come with `settings`.
        """
        super().__init__()
        self.history = history
        self.replay = replay
        # Events drawn but not yet known to be in the database (every event when there is none): with the
        # database's, they make the export, even after the database failed mid-session.
        self.recorded: deque[Event] = deque()
        self.pending: str | None = None  # a message sent before the engine was ready
        self.writer = None  # the SessionWriter, once the boot worker opened the database
        self._stop_replay = threading.Event()
        self.settings = settings
        self.start_kind = memory_kind
        self.start_compare = compare
        self.asked_theme = theme
        self.inbox = EventInbox(self)
        self.live = None
        self._engine_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self.flower_themes: list[str] = []
        self._themes_pending = True  # theme files not read yet (all but the starting one are read after the first frame)
        self.price_problem = ""
        try:
            self.prices = configured_prices()
        except PriceTableError as exc:  # told on mount; the shipped prices still count
            self.prices, self.price_problem = load_prices(), str(exc)
        # The session's one ledger: the engine feeds it (a recording's events first, on replay or resume).
        self.ledger = Ledger(self.prices)
        self.ledger.mode = MemoryMode(memory_kind or "buffer", compare)  # until the engine reports it
        self._load_themes()  # before the app runs: a theme set on mount would restyle every widget a second time

    # layout -----------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ConversationView(id="conversation")
                yield StatusLine(id="status")
                yield HistoryInput(placeholder="Ask the flower shop…  (Enter to send, Esc for keys, ? for help)",
                                   id="message")
            yield from self.side(TokenCounter(self.ledger, id="counter-pane", classes="pane"))
        yield Footer()

    @staticmethod
    def side(counter: Widget) -> ComposeResult:
        """The right-hand panes (tabs below 120 columns), with the mode's counter."""
        with Vertical(id="side", classes="show-events"):
            yield Tabs(Tab("Events", id="tab-events"), Tab("Tokens", id="tab-tokens"),
                       Tab("Counter", id="tab-counter"), id="side-tabs")
            yield EventsPane(id="events-pane", classes="pane")
            yield TokenStream(id="token-pane", classes="pane")
            yield counter

    def on_mount(self) -> None:
        self.set_up({"conversation": "Conversation", "events-pane": "Callback events", "token-pane": "Token stream",
                     "counter-pane": "Tokens per memory kind"},
                    f"Replay of {self.history.header.get('session_id')} at {self.replay.describe()}: no model is called"
                    if self.replaying else "")
        if self.replaying:
            self.query_one(StatusLine).replay = True

    def set_up(self, titles: dict[str, str], replay_note: str) -> None:
        """What every mode of the app does on mount; the engine and the other themes come after the first frame."""
        for widget_id, title in titles.items():
            self.query_one(f"#{widget_id}").border_title = title
        if self.price_problem:
            self.notify(f"Your prices file was skipped: {self.price_problem}", severity="warning", timeout=12,
                        markup=False)
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        box = self.query_one(HistoryInput)
        if self.replaying:
            box.disabled = True
            box.placeholder = replay_note
            self.query_one("#events-table").focus()
        else:
            box.focus()
        if self._themes_pending:
            self.call_after_refresh(self._register_themes)
        # Importing LangChain holds the GIL for about a second: it starts once the first frame is out.
        self.call_after_refresh(self.set_timer, BOOT_DELAY, self.boot)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """App variables for themes that do not set them (Textual's built-in ones)."""
        return themes.default_variables(self.current_theme.dark)

    def _load_themes(self) -> None:
        """Start with the wanted theme, read alone; every other theme file is read after the first frame.

        A theme named by --theme or the config file that cannot be read makes every file be read now, to say why.
        """
        named = {"--theme": self.asked_theme, "the config file's theme": self.settings.theme}
        wanted = [name for name in (self.asked_theme, load_state().get("theme"), self.settings.theme) if name]
        chosen = None
        for name in wanted or [themes.DEFAULT_THEME]:
            theme = themes.load_named(name, themes.shipped_themes_dir(), themes.user_themes_dir())
            if theme is not None:
                self.register_theme(theme)
            if name in self.available_themes:
                chosen = name
                break
        unknown = []
        for source, name in named.items():  # a named theme not tried above is checked too: it is one small file
            theme = None if not name or name in self.available_themes else themes.load_named(
                name, themes.shipped_themes_dir(), themes.user_themes_dir())
            if theme is not None:
                self.register_theme(theme)
            elif name and name not in self.available_themes:
                unknown.append((source, name))
        if chosen is None or unknown:
            self._register_themes()
        else:
            self.flower_themes = [chosen]  # until the rest are read
        self._start_theme(chosen or themes.DEFAULT_THEME)
        if chosen in wanted:
            save_state({"theme": chosen})  # remembered, as a later change is (the app is not running yet)
        for source, name in unknown:
            self.notify(f"Unknown theme {name!r} ({source}); using {self.theme}. "
                        f"Themes: {', '.join(sorted(self.available_themes))}", severity="warning", markup=False)

    def _register_themes(self) -> None:
        loaded, problems = themes.load_themes(themes.shipped_themes_dir(), themes.user_themes_dir())
        for theme in loaded:
            self.register_theme(theme)
        self.flower_themes, self._themes_pending = [theme.name for theme in loaded], False
        if problems:
            self.notify(themes.problems_message(problems), title="Theme files skipped", severity="warning",
                        timeout=12, markup=False)

    def _start_theme(self, name: str) -> None:
        """What setting `theme` does, minus the full restyle it schedules: nothing is styled yet (~30 ms saved)."""
        self.set_reactive(App.theme, name)
        self.stylesheet.set_variables(self.get_css_variables())
        dark = self.current_theme.dark
        self.update_classes({f"-theme-{name}": True, "-dark-mode": dark, "-light-mode": not dark}, update=False)
        self._refresh_truecolor_filter(self.ansi_theme)

    def _remember(self, changes: dict[str, Any]) -> None:
        """Write the remembered state off the event loop, one write at a time."""
        with self._state_lock:
            save_state(changes)

    def _theme_changed(self, theme) -> None:
        self.run_worker(partial(self._remember, {"theme": theme.name}), thread=True, group="state",
                        exit_on_error=False)
        self.query_one(TokenStream).reshade()
        self.query_one(EventsPane).rebuild()
        self.query_one(TokenCounter).redraw()

    # engine -------------------------------------------------------------
    @property
    def mode(self) -> MemoryMode:
        """The active memory kind and compare mode, as the ledger follows them from the engine's events."""
        return self.ledger.mode

    @property
    def replaying(self) -> bool:
        return self.replay is not None

    @work(thread=True, group="engine", exit_on_error=False)
    def boot(self) -> None:
        """Replay a recording, or import LangChain and build the conversation, off the UI thread."""
        from flowertui.session.replay import Replay, play, resume_point

        if self.replaying:
            play(self.history.events, self._recorded_event, self.replay, self._stop_replay)
            return
        from flowertui.engine.assembly import assemble
        from flowertui.session.store import DB_NAME, SessionWriter, StoreError

        resume = Resume()
        if self.history is not None:  # show the recorded session first, then carry on recording it
            play(self.history.events, self._recorded_event, Replay(time_scale=0), self._stop_replay)
            resume = resume_point(self.history, self.ledger)
        try:
            self.writer = SessionWriter(data_dir() / DB_NAME, self.ledger,  # a resumed session is recorded already:
                                        on_error=lambda text: self.post_message(EngineProblem(text)),
                                        recorded=self.history is not None)  # its catch-up is saved, turn or not
        except StoreError as exc:
            self.post_message(EngineProblem(f"{exc}; this session will not be saved"))
        sinks = [self.inbox] + ([self.writer] if self.writer else [])
        session = self.history.header.get("session_id") if self.history else None
        try:
            live = assemble(self.settings.provider, self.settings.memory, sinks=sinks, session_id=session,
                            memory_kind=self.start_kind or resume.memory_kind,  # flags given now win
                            compare=self.start_compare or resume.compare, resume=resume, prices=self.prices,
                            ledger=self.ledger)
        except Exception as exc:  # a provider that cannot even be built is reported, not raised
            self.post_message(EngineProblem(f"could not start the engine: {exc}"))
            return
        from textual.widgets import Markdown  # noqa: F401  the first reply's widget, imported here off the UI thread

        self.post_message(EngineReady(live))

    def _recorded_event(self, event: Event) -> None:
        """A recorded event goes to the ledger, as a live one would, then to the panes."""
        self.ledger(event)
        self.inbox(event)

    def on_unmount(self) -> None:
        self._stop_replay.set()
        if self.live is not None:  # a reply or catch-up in flight: its worker must not keep the process alive
            self.live.conversation.close()
            if self._engine_lock.acquire(timeout=QUIT_WAIT):  # the cancelled turn is recorded before the writer closes
                self._engine_lock.release()
        if self.writer is not None:
            self.writer.close()

    def on_engine_ready(self, message: EngineReady) -> None:
        self.live = message.live
        conversation = self.live.conversation
        conversation.consent = self._consent
        if self.history is not None:  # a resumed summary memory reads the turns it has no recorded state for
            self._engine(conversation.catch_up)
        if self.pending is not None:
            text, self.pending = self.pending, None
            self.query_one(ConversationView).held_sent = True
            self._send(text)

    async def on_engine_problem(self, message: EngineProblem) -> None:
        self.notify(message.text, title="Engine", severity="error", timeout=10, markup=False)
        with suppress(NoMatches):  # the app may be closing while a thread still reports
            self.query_one(StatusLine).set_state("error", message.text)
            view = self.query_one(ConversationView)
            await view.problem(message.text)
            if self.live is None and self.pending is not None:  # the engine will not come: say so by the message
                self.pending = None
                view.drop_hold("the engine could not start")

    def _consent(self, plan) -> bool:
        """On the engine's thread: ask the user before a costly catch-up and wait for the answer (no on quit)."""
        if not self.settings.confirm_catch_up:
            return True
        answered, answer = threading.Event(), [False]

        def take(yes: bool | None) -> None:
            answer[0] = bool(yes)
            answered.set()

        self.post_message(CatchUpQuestion(plan, take))
        while not answered.wait(0.05):
            if self.live is None or self.live.conversation.closed:
                return False
        return answer[0]

    def on_catch_up_question(self, message: CatchUpQuestion) -> None:
        from flowertui.app.screens.catch_up_dialog import CatchUpDialog

        self.push_screen(CatchUpDialog(message.plan), message.answer)

    def on_notice(self, message: Notice) -> None:
        self.notify(message.text, title=message.title, severity=message.severity, timeout=8, markup=False)

    def _engine(self, job: Callable[[], Any], group: str = "engine") -> None:
        """Run one engine call in a thread, after any call still in progress."""
        def locked() -> None:
            from flowertui.engine.runner import Cancelled, TurnFailed

            with self._engine_lock:
                try:
                    job()
                except (TurnFailed, Cancelled):
                    pass  # the turn_error or memory_catchup_end event already told every pane
                except Exception as exc:
                    self.post_message(EngineProblem(f"{type(exc).__name__}: {exc}"))

        self.run_worker(locked, thread=True, group=group, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.post_message(EngineProblem(f"{type(event.worker.error).__name__}: {event.worker.error}"))

    @property
    def turn_running(self) -> bool:
        return any(w.group == "turn" and not w.is_finished for w in self.workers)

    def take_batch(self) -> list[Event]:
        """The events queued for the panes; those the database does not hold yet are kept for the export."""
        batch = self.inbox.drain()
        self.recorded.extend(batch)
        writer = self.writer
        if writer is not None and not writer.error:  # what the database holds need not be kept here too
            while self.recorded and self.recorded[0].seq <= writer.saved_seq:
                self.recorded.popleft()
        return batch

    async def on_events_pending(self, _: EventsPending) -> None:
        batch = self.take_batch()
        if not batch:
            return
        with suppress(NoMatches, MountError):  # the app may be closing while an abandoned call still reports
            self.query_one(StatusLine).add(batch)
            self.query_one(EventsPane).add(batch)
            self.query_one(TokenStream).add(batch)
            self.query_one(TokenCounter).add(batch)
            await self.query_one(ConversationView).add(batch)

    # input ----------------------------------------------------------------
    @on(Input.Submitted, "#message")
    async def send_message(self, message: Input.Submitted) -> None:
        """Only the message box starts a turn. Sent before the engine is ready, it waits in the conversation."""
        box = self.query_one(HistoryInput)
        text = strip_escapes(message.value).strip()
        if not text:
            box.value = ""
            return
        if self.turn_running or self.pending is not None:
            busy = "A reply is still streaming" if self.live else "Your first message waits for LangChain to load"
            self.notify(f"{busy}: wait for it, or press Esc to cancel it.", markup=False)
            return
        box.remember(text)
        box.value = ""
        if self.live is None:
            self.pending = text
            await self.query_one(ConversationView).hold(text)
            return
        self._send(text)

    def _send(self, text: str) -> None:
        conversation = self.live.conversation
        self._engine(lambda: conversation.ask(text), group="turn")

    def on_key(self, event: events.Key) -> None:
        """Typing anywhere on the main screen goes to the message box (bound keys excepted).

        A printable key reaches the app only when the box did not take it, even if the box
        got the focus in the meantime: keys typed fast were already on their way elsewhere.
        """
        if (event.is_printable and event.character and self.screen is self.screen_stack[0]
                and event.key not in self.active_bindings):
            box = self.query_one(HistoryInput)
            self.set_focus(box)  # at once: the keys typed right after this one must land in the box too
            box.insert_text_at_cursor(event.character)
            event.stop()

    def on_events_pane_selected(self, message: EventsPane.Selected) -> None:
        from flowertui.app.screens.event_detail import EventDetail

        self.push_screen(EventDetail(message.event))

    def on_tabs_tab_activated(self, message: Tabs.TabActivated) -> None:
        side, shown = self.query_one("#side"), SIDE_TABS[message.tab.id]
        if not side.has_class(shown):  # restyling the side costs ~40 ms: not for the tab it already shows
            side.remove_class(*SIDE_TABS.values())
            side.add_class(shown)

    def on_resize(self, _: events.Resize) -> None:
        """Below 120 columns `p` joins the footer, which packs its keys closer so every shown one fits."""
        self.call_after_refresh(self._fit_footer)  # once the screen has taken its breakpoint class

    def _fit_footer(self) -> None:
        self.refresh_bindings()
        with suppress(NoMatches):
            self.screen_stack[0].query_one(Footer).compact = self.narrow

    # actions ----------------------------------------------------------------
    @property
    def narrow(self) -> bool:
        return self.screen_stack[0].has_class("-narrow")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the keys that cannot act: a replay calls no model; wide, every side pane shows already."""
        if self.replaying and action in REPLAY_HIDDEN:
            return False
        return self.narrow if action == "next_pane" else True

    def action_next_pane(self) -> None:
        tabs = self.query_one("#side-tabs", Tabs)
        ids = list(SIDE_TABS)
        tabs.active = ids[(ids.index(tabs.active) + 1) % len(ids)] if tabs.active in ids else ids[0]

    def action_memory(self, kind: str) -> None:
        if self.live is None or (kind == self.mode.kind and not self.turn_running):
            return
        if self.turn_running:
            self.notify(f"Memory switches to {kind} after this reply.", markup=False)
        conversation = self.live.conversation
        self._engine(lambda: conversation.switch(kind))

    def action_cycle_memory(self) -> None:
        self.action_memory(KINDS[(KINDS.index(self.mode.kind) + 1) % len(KINDS)])

    def action_compare(self) -> None:
        if self.live is not None:
            conversation, on = self.live.conversation, not self.mode.compare
            self._engine(lambda: conversation.set_compare(on))

    def action_cancel(self) -> None:
        if self.turn_running and self.live is not None:
            self.live.conversation.cancel()
        elif self.pending is not None:  # a message still waiting for the engine is taken back
            self.pending = None
            self.query_one(ConversationView).drop_hold("cancelled")
        elif isinstance(self.focused, Input):
            self.query_one("#events-table", DataTable).focus()

    def session_data(self, session_id: str, unsaved: list[Event]) -> SessionData:
        """Everything recorded this session, read in a worker: the database's events, then the ones it lacks."""
        from flowertui.session.model import SessionData
        from flowertui.session.store import SessionStore

        writer = self.writer
        events: list[Event] = []
        if writer is not None:
            writer.flush()
            store = SessionStore(writer.path)
            try:
                events = store.events(session_id)
            finally:
                store.close()
        last = events[-1].seq if events else 0
        events += [event for event in unsaved if event.seq > last]
        return SessionData.of(events)

    async def action_export(self) -> None:
        session = self.live.bus.session_id if self.live else (self.recorded[0].session_id if self.recorded else None)
        if session is None or (self.live is not None and self.live.bus.turn == 0):
            self.notify("Nothing to export yet: a session is recorded from its first turn.", markup=False)
            return
        from flowertui.app.screens.export_dialog import ExportDialog

        folder = await asyncio.to_thread(save_dir)
        self.push_screen(ExportDialog(session, folder), partial(self._exported, session))

    def _exported(self, session_id: str, outcome: tuple[str, Path, bool] | None) -> None:
        if outcome is not None:
            self.run_worker(partial(self._write_export, session_id, *outcome, list(self.recorded)), thread=True,
                            group="export", exit_on_error=False)

    def _write_export(self, session_id: str, fmt: str, path: Path, force: bool, unsaved: list[Event]) -> None:
        """Read the session and write the file off the event loop; the result comes back as a notice."""
        from flowertui.session.export import ExportError, export
        from flowertui.session.store import StoreError

        try:
            data = self.session_data(session_id, unsaved)
            # the live ledger, unless a replay has not fed it every event yet
            ledger = Ledger.of(data.events, self.prices) if self.replaying else self.ledger
            written = export(data, fmt, path, ledger, force=force)
        except (ExportError, StoreError) as exc:
            self.post_message(Notice(str(exc), "Export failed", "error"))
            return
        count = len(data.events)
        self.post_message(Notice(f"{count} event{'s' * (count != 1)} written to {written.resolve()}",
                                 f"Exported {fmt}"))

    def action_next_theme(self) -> None:
        names = self.flower_themes
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2, markup=False)

    def action_cycle_filter(self) -> None:
        self.notify(f"Events: {self.query_one(EventsPane).cycle_filter()}", timeout=2, markup=False)

    def action_toggle_tokens(self) -> None:
        every = self.query_one(EventsPane).toggle_tokens()
        self.notify("Every token event shown" if every else "Token events folded per run", timeout=2, markup=False)

    async def action_clear(self) -> None:
        self.query_one(EventsPane).clear()
        self.query_one(TokenStream).clear()
        await self.query_one(ConversationView).clear()

    def action_help(self) -> None:
        from flowertui.app.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.key_table()))

    def key_table(self) -> list[tuple[str, str]]:
        """Each command's current key (after the user's keymap) and what it does."""
        keymap = self.settings.keymap
        return [(self.get_key_display(Binding(keymap.get(c.id, c.key), c.action)), c.help)
                for c in self.COMMANDS_SHOWN]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands (Theme, Keys…), then one per binding; the screenshot goes where exports go."""
        ours = {c.title for c in self.COMMANDS_SHOWN} | {"Screenshot"}
        yield from (command for command in super().get_system_commands(screen) if command.title not in ours)
        for c in self.COMMANDS_SHOWN:
            action = c.action.split("(")[0]
            if self.check_action(action, ()):
                yield SystemCommand(c.title, c.help[:1].upper() + c.help[1:], partial(self.run_action, c.action))
        yield SystemCommand("Screenshot", "Save an SVG screenshot in the folder exports go to", self.take_screenshot)

    def take_screenshot(self) -> None:
        self.set_timer(0.1, self._shoot)  # once the palette has closed, as Textual's own command does

    def _shoot(self) -> None:
        svg = self.export_screenshot()
        self.run_worker(partial(self._save_screenshot, svg), thread=True, group="export", exit_on_error=False)

    def _save_screenshot(self, svg: str) -> None:
        path = save_dir() / f"flowertui-{datetime.now():%Y%m%d-%H%M%S}.svg"
        try:
            path.write_text(svg, "utf-8")
        except OSError as exc:
            self.post_message(Notice(f"cannot write {path}: {exc.strerror or exc}", "Screenshot failed", "error"))
            return
        self.post_message(Notice(f"Saved to {path}", "Screenshot"))
