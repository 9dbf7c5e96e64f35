"""The flowertui App: layout, keys, themes, and the wiring from engine events to panes.

LangChain is imported in a worker after the first frame. Every engine call runs
in a thread worker under one lock (turns, memory switches and compare mode never
overlap); the engine talks back only through events, which the inbox batches.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import MountError
from textual.widgets import DataTable, Footer, Input, Tab, Tabs
from textual.worker import Worker, WorkerState

from flowertui.app import themes
from flowertui.app.bridge import EventInbox
from flowertui.app.messages import EngineProblem, EngineReady, EventsPending
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
from flowertui.engine.prices import PriceTableError, configured_prices, load_prices
from flowertui.engine.resume import Resume
from flowertui.engine.sanitize import strip_escapes
from flowertui.paths import data_dir

if TYPE_CHECKING:  # the screens and the session layer are imported when first used, after the first frame
    from flowertui.session.export import SessionData

BOOT_DELAY = 0.1  # seconds after the first frame before the engine starts loading
SIDE_TABS = {"tab-events": "show-events", "tab-tokens": "show-tokens", "tab-counter": "show-counter"}


class FlowerApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "flowertui"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        *(Binding(str(n), f"memory('{kind}')", "memory kind" if n == 1 else f"memory {kind}", show=n == 1,
                  key_display="1-5" if n == 1 else None, id=f"memory.{kind}") for n, kind in enumerate(KINDS, start=1)),
        Binding("m", "cycle_memory", "next memory", id="memory.cycle"),
        Binding("c", "compare", "compare", id="compare"),
        Binding("escape", "cancel", "cancel / leave input", id="cancel"),
        Binding("e", "export", "export", id="export"),
        Binding("t", "next_theme", "theme", id="theme.next"),
        Binding("f", "cycle_filter", "filter", id="events.filter"),
        Binding("k", "toggle_tokens", "tokens", id="events.tokens"),
        Binding("ctrl+l", "clear", "clear panes", id="clear"),
        Binding("question_mark", "help", "help", id="help"),
        Binding("ctrl+q", "quit", "quit", id="quit", priority=True),
    ]

    def __init__(self, settings: Settings, *, memory_kind: str | None = None, compare: bool = False,
                 theme: str | None = None, keymap: dict[str, str] | None = None, config_theme: str | None = None,
                 session_id: str | None = None, history: SessionData | None = None,
                 replay_speed: float | None = None) -> None:
        """`history` with `replay_speed` replays a recorded session; without it, resumes the session."""
        super().__init__()
        self.history = history
        self.replay_speed = replay_speed
        self.recorded: list[Event] = []  # what `e` exports when there is no database to read it from
        self.drawn = 0  # events handed to the panes
        self.writer = None  # the SessionWriter, once the boot worker opened the database
        self._stop_replay = threading.Event()
        self.settings = settings
        self.start_kind = memory_kind
        self.start_compare = compare
        self.asked_theme = theme
        self.config_theme = config_theme
        self.start_keymap = keymap or {}
        self.session_id = session_id
        self.inbox = EventInbox(self)
        self.live = None
        self._engine_lock = threading.Lock()
        self.mode = MemoryMode(memory_kind or "buffer", compare)  # as the engine reports it
        self.flower_themes: list[str] = []
        self._themes_pending = True  # theme files not read yet (all but the starting one are read after the first frame)
        self.price_problem = ""
        try:
            self.prices = configured_prices()
        except PriceTableError as exc:  # told on mount; the shipped prices still count
            self.prices, self.price_problem = load_prices(), str(exc)
        self._load_themes()  # before the app runs: a theme set on mount would restyle every widget a second time

    # layout -----------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ConversationView(id="conversation")
                yield StatusLine(id="status")
                yield HistoryInput(placeholder="Ask the flower shop…  (Enter to send, Esc for keys, ? for help)",
                                   id="message")
            with Vertical(id="side", classes="show-events"):
                yield Tabs(Tab("Events", id="tab-events"), Tab("Tokens", id="tab-tokens"),
                           Tab("Counter", id="tab-counter"), id="side-tabs")
                yield EventsPane(id="events-pane", classes="pane")
                yield TokenStream(id="token-pane", classes="pane")
                yield TokenCounter(self.prices, id="counter-pane", classes="pane")
        yield Footer()

    def on_mount(self) -> None:
        titles = {"conversation": "Conversation", "events-pane": "Callback events", "token-pane": "Token stream",
                  "counter-pane": "Tokens per memory kind"}
        for widget_id, title in titles.items():
            self.query_one(f"#{widget_id}").border_title = title
        if self.price_problem:
            self.notify(f"Your prices file was skipped: {self.price_problem}", severity="warning", timeout=12,
                        markup=False)
        if self.start_keymap:
            self.set_keymap(self.start_keymap)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        box = self.query_one(HistoryInput)
        if self.replaying:
            box.disabled = True
            box.placeholder = f"Replay of session {self.history.header.get('session_id')}: no model is called"
            self.query_one(StatusLine).replay = True
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
        """Start with the wanted theme, read alone; every other theme file is read after the first frame."""
        wanted = [name for name in (self.asked_theme, load_state().get("theme"), self.config_theme) if name]
        for name in wanted or [themes.DEFAULT_THEME]:
            theme = themes.load_named(name, themes.shipped_themes_dir(), themes.user_themes_dir())
            if theme is not None:
                self.register_theme(theme)
            if name in self.available_themes:
                self.flower_themes = [name]  # until the rest are read
                self._choose_theme([name])
                return
        self._register_themes()  # a theme that is unknown or broken: read all now, to say why
        self._choose_theme(wanted)

    def _register_themes(self) -> None:
        loaded, problems = themes.load_themes(themes.shipped_themes_dir(), themes.user_themes_dir())
        for theme in loaded:
            self.register_theme(theme)
        self.flower_themes, self._themes_pending = [theme.name for theme in loaded], False
        if problems:
            self.notify(themes.problems_message(problems), title="Theme files skipped", severity="warning",
                        timeout=12, markup=False)

    def _choose_theme(self, wanted: list[str]) -> None:
        for name in wanted:
            if name in self.available_themes:
                self._start_theme(name)
                save_state({"theme": name})  # remembered, as a later change is (the app is not running yet)
                return
        if self.asked_theme:
            self.notify(f"Unknown theme {self.asked_theme!r}; using {themes.DEFAULT_THEME}. "
                        f"Themes: {', '.join(sorted(self.available_themes))}", severity="warning", markup=False)
        self._start_theme(themes.DEFAULT_THEME)

    def _start_theme(self, name: str) -> None:
        """What setting `theme` does, minus the full restyle it schedules: nothing is styled yet (~30 ms saved)."""
        self.set_reactive(App.theme, name)
        self.stylesheet.set_variables(self.get_css_variables())
        dark = self.current_theme.dark
        self.update_classes({f"-theme-{name}": True, "-dark-mode": dark, "-light-mode": not dark}, update=False)
        self._refresh_truecolor_filter(self.ansi_theme)

    def _theme_changed(self, theme) -> None:
        save_state({"theme": theme.name})
        self.query_one(TokenStream).reshade()
        self.query_one(EventsPane).rebuild()
        self.query_one(TokenCounter).redraw()

    # engine -------------------------------------------------------------
    @property
    def replaying(self) -> bool:
        return self.replay_speed is not None

    @work(thread=True, group="engine", exit_on_error=False)
    def boot(self) -> None:
        """Replay a recording, or import LangChain and build the conversation, off the UI thread."""
        from flowertui.session.replay import play, resume_point

        if self.replaying:
            play(self.history.events, self.inbox, self.replay_speed, self._stop_replay)
            return
        from flowertui.engine.assembly import assemble
        from flowertui.session.store import DB_NAME, SessionWriter, StoreError

        resume = Resume()
        if self.history is not None:  # show the recorded session first, then carry on recording it
            play(self.history.events, self.inbox, 0, self._stop_replay)
            resume = resume_point(self.history)
        try:
            self.writer = SessionWriter(data_dir() / DB_NAME, self.prices,
                                        on_error=lambda text: self.post_message(EngineProblem(text)))
        except StoreError as exc:
            self.post_message(EngineProblem(f"{exc}; this session will not be saved"))
        sinks = [self.inbox] + ([self.writer] if self.writer else [])
        session = self.history.header.get("session_id") if self.history else self.session_id
        try:
            live = assemble(self.settings.provider, self.settings.memory, sinks=sinks, session_id=session,
                            memory_kind=self.start_kind or resume.memory_kind,  # flags given now win
                            compare=self.start_compare or resume.compare, resume=resume, prices=self.prices)
        except Exception as exc:  # a provider that cannot even be built is reported, not raised
            self.post_message(EngineProblem(f"could not start the engine: {exc}"))
            return
        from textual.widgets import Markdown  # noqa: F401  the first reply's widget, imported here off the UI thread

        self.post_message(EngineReady(live))

    def on_unmount(self) -> None:
        self._stop_replay.set()
        if self.live is not None:  # a reply in flight: its worker must not keep the process alive until it ends
            self.live.conversation.cancel()
        if self.writer is not None:
            self.writer.close()

    def on_engine_ready(self, message: EngineReady) -> None:
        self.live = message.live

    def on_engine_problem(self, message: EngineProblem) -> None:
        self.notify(message.text, title="Engine", severity="error", timeout=10, markup=False)
        with suppress(NoMatches):  # the app may be closing while a thread still reports
            self.query_one(StatusLine).set_state("error", message.text)

    def _engine(self, job: Callable[[], Any], group: str = "engine") -> None:
        """Run one engine call in a thread, after any call still in progress."""
        def locked() -> None:
            from flowertui.engine.runner import TurnFailed

            with self._engine_lock:
                try:
                    job()
                except TurnFailed:
                    pass  # the turn_error event already told every pane
                except Exception as exc:
                    self.post_message(EngineProblem(f"{type(exc).__name__}: {exc}"))

        self.run_worker(locked, thread=True, group=group, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.on_engine_problem(EngineProblem(f"{type(event.worker.error).__name__}: {event.worker.error}"))

    @property
    def turn_running(self) -> bool:
        return any(w.group == "turn" and not w.is_finished for w in self.workers)

    async def on_events_pending(self, _: EventsPending) -> None:
        batch = self.inbox.drain()
        if not batch:
            return
        self.drawn += len(batch)
        if self.writer is None:  # a replay, or a session the database refused: export from memory
            self.recorded.extend(batch)
        for event in batch:
            self.mode.follow(event)
        with suppress(NoMatches, MountError):  # the app may be closing while an abandoned call still reports
            self.query_one(StatusLine).add(batch)
            self.query_one(EventsPane).add(batch)
            self.query_one(TokenStream).add(batch)
            self.query_one(TokenCounter).add(batch)
            await self.query_one(ConversationView).add(batch)

    # input ----------------------------------------------------------------
    def on_input_submitted(self, message: Input.Submitted) -> None:
        box = self.query_one(HistoryInput)
        text = strip_escapes(message.value).strip()
        if not text:
            box.value = ""
            return
        if self.live is None:
            self.notify("LangChain is still loading; send again in a moment.", markup=False)
            return
        if self.turn_running:
            self.notify("A reply is still streaming: wait for it, or press Esc to cancel it.", markup=False)
            return
        box.remember(text)
        box.value = ""
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

    # actions ----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A replay calls no model, so the keys that drive one are hidden."""
        return not (self.replaying and action in ("memory", "cycle_memory", "compare"))

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
        elif isinstance(self.focused, Input):
            self.query_one("#events-table", DataTable).focus()

    def session_data(self) -> SessionData:
        """Everything recorded this session: from the database when it is kept there, else from memory."""
        from flowertui.session.export import SessionData
        from flowertui.session.store import SessionStore, session_header

        if self.writer is None or self.writer.error:
            return SessionData(session_header(self.recorded), list(self.recorded))
        self.writer.flush()
        store = SessionStore(self.writer.path)
        try:
            events = store.events(self.live.bus.session_id)
        finally:
            store.close()
        return SessionData(session_header(events), events)

    def action_export(self) -> None:
        session = self.live.bus.session_id if self.live else (self.recorded[0].session_id if self.recorded else None)
        if session is None:
            self.notify("Nothing to export yet.", markup=False)
            return
        from flowertui.app.screens.export_dialog import ExportDialog

        self.push_screen(ExportDialog(session), self._exported)

    def _exported(self, outcome: tuple[str, Path] | None) -> None:
        if outcome is None:
            return
        from flowertui.session.export import ExportError, export
        from flowertui.session.store import StoreError

        fmt, path = outcome
        try:
            data = self.session_data()
            written = export(data, fmt, path, self.prices)
        except (ExportError, StoreError) as exc:
            self.notify(str(exc), title="Export failed", severity="error", timeout=10, markup=False)
            return
        self.notify(f"{len(data.events)} events written to {written.resolve()}", title=f"Exported {fmt}",
                    timeout=8, markup=False)

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
        self.query_one(TokenCounter).clear()
        await self.query_one(ConversationView).clear()

    def action_help(self) -> None:
        from flowertui.app.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.key_table()))

    def key_table(self) -> list[tuple[str, str]]:
        """Each binding's current key (after the user's keymap) and what it does."""
        rows = []
        for binding in self.BINDINGS:
            key = self.start_keymap.get(binding.id, binding.key) if binding.id else binding.key
            rows.append((self.get_key_display(Binding(key, binding.action)), binding.description))
        return rows

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for kind in KINDS:
            yield SystemCommand(f"Memory: {kind}", f"Make {kind} the active memory kind",
                                lambda kind=kind: self.action_memory(kind))
        yield SystemCommand("Compare mode", "Feed all five memory kinds every turn", self.action_compare)
        yield SystemCommand("Events filter", "all / no tokens / errors / maintenance", self.action_cycle_filter)
        yield SystemCommand("Every token event", "Show or fold per-token events", self.action_toggle_tokens)
        yield SystemCommand("Clear panes", "Clear what the panes show (the session keeps its data)",
                            self.action_clear)
        yield SystemCommand("Help", "What each pane shows and the keys", self.action_help)
