"""What the chat app and the trace app share: themes, the side panes, per-frame batching, the session writer,
export, help, the palette, screenshots and the footer.

`ChatApp` (app.py) and `TraceApp` (trace_app.py) are siblings deriving from `AppBase`. Textual calls a message
handler of every class up the MRO, so each handler is defined in one class only: the base handles the shared
messages and asks its app through plain methods (`left`, `counter`, `draw`, `problem`, `stop_work`, …).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import MountError, Widget
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from flowertui.app import startup, themes
from flowertui.app.bridge import EventInbox
from flowertui.app.keys import Command, commands, resolve_keymap
from flowertui.app.messages import EngineProblem, EventsPending, Notice
from flowertui.app.state import load_state, save_state
from flowertui.app.terminal_keys import free_alt_keys
from flowertui.app.widgets.history_input import HistoryInput
from flowertui.config import Settings
from flowertui.paths import data_dir, save_dir

if TYPE_CHECKING:  # the side panes, the events, the screens and the session layer are imported after the first frame
    from textual.widgets import Tabs

    from flowertui.app.widgets.events_pane import EventsPane
    from flowertui.engine.events import Event
    from flowertui.engine.prices import PriceBook
    from flowertui.engine.session_ledger import SessionLedger
    from flowertui.session.model import SessionData
    from flowertui.session.replay import Replay
    from flowertui.session.store import SessionWriter

HERE = Path(__file__).parent
FOOTER_FULL = 100  # columns from which the footer shows every main key; below, those marked `tight` in keys.py
FOOTER_PALETTE = 110  # columns from which it names the palette's key too (ctrl+p works at any width)
BOOT_DELAY = 0.03  # seconds after the side panes' mount before the trace app's boot worker starts (heavy imports)
# The chat app's boot worker starts this long after its first frame is drawn: time for the output thread to write it
# out, not more (nothing else runs meanwhile: the side panes wait for the engine's first events).
FIRST_FRAME_OUT = 0.005
SIDE_AFTER_EVENTS = 0.03  # seconds from the engine's first events to the side panes' mount: two frames at 60 fps
SIDE_PANES = (("events-pane", "Callback events"), ("token-pane", "Token stream"))  # then the app's counter
SIDE_TABS = {"tab-events": "show-events", "tab-tokens": "show-tokens", "tab-counter": "show-counter"}


class AppBase(App[None]):
    CSS_PATH: ClassVar = [HERE / "app.tcss"]  # absolute: an app subclassed in another folder (the benches) finds it
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    SESSION_KIND: ClassVar[str]  # "chat" or "trace": the app's commands (keys.py) and its help text
    COMMANDS_SHOWN: ClassVar[tuple[Command, ...]]  # its set from keys.py: its bindings, help table and palette
    PROBLEM_TITLE: ClassVar[str]  # the title of an EngineProblem's notification
    COUNTER_TITLE: ClassVar[str]  # the counter pane's border title (its placeholder's in the first frame)
    NOTHING_TO_EXPORT: ClassVar[str]  # said by `e` before the session has anything recorded
    # Seconds between two draws while events keep coming (a batch after a quiet spell is drawn at once). Each draw
    # re-renders every pane that changed, whatever the number of events it brings: fewer draws, less CPU per token.
    DRAW_INTERVAL: ClassVar[float] = 0.0
    # The side panes take their placeholders' places just after the first frame, then the boot worker starts; or
    # (the chat app, whose engine import is what it waits for) the boot worker starts just after the first frame
    # and the panes come once its first events are drawn, with those events (see `_mount_side`).
    SIDE_AFTER_FIRST_EVENTS: ClassVar[bool] = False
    ledger: Callable[[Event], None]  # the session's ledger, set by each app: the engine or the bus feeds it
    events_pane: EventsPane  # built with the other side panes, after the first frame (`side_panes`)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """An app that names its session kind takes its commands from keys.py (before Textual reads BINDINGS)."""
        if "SESSION_KIND" in cls.__dict__:
            cls.COMMANDS_SHOWN = commands(cls.SESSION_KIND)
            cls.BINDINGS = [command.binding() for command in cls.COMMANDS_SHOWN]
        super().__init_subclass__(**kwargs)

    def __init__(self, settings: Settings, *, theme: str | None = None, history: SessionData | None = None,
                 replay: Replay | None = None) -> None:
        """`history` with `replay` plays a recorded session back; `theme` is the one asked for on the command line
        (the config's theme and keymap come with `settings`)."""
        super().__init__()
        # Focused from the first frame: keys typed ahead of it go straight to the message box (Enter included, which
        # a terminal still in line mode sends as ctrl+j), not to whatever Textual would focus first.
        self.AUTO_FOCUS = "#events-table" if replay is not None else "#message"
        self.settings = settings
        self.keys = resolve_keymap(self.SESSION_KIND, settings.keymap)  # the keys in force, shown wherever keys are
        self._bind_keys()
        free_alt_keys(key for keys in self.keys.keys.values() for key in keys)  # alt+2 as xterm and tmux send it
        self.asked_theme = theme
        self.history = history
        self.replay = replay
        # Events drawn but not yet known to be in the database (every event when there is none): with the
        # database's, they make the export, even after the database failed mid-session.
        self.recorded: deque[Event] = deque()
        self.writer = None  # the SessionWriter, once the boot worker opened the database
        self.export_format = "jsonl"  # the export dialog offers the format used last
        self.inbox = EventInbox(self)
        self.side_mounted = False  # the side panes are placeholders until they are mounted (`_mount_side`)
        self._side_due = False  # their mount is asked for
        self._side_backlog: list[Event] = []  # events drawn before they were mounted, for them
        self._last_draw, self._draw_due = 0.0, False  # see DRAW_INTERVAL
        self._stop_replay = threading.Event()
        self._told_replay = False  # a key typed in a replay is answered once with the replay's keys
        self._state_lock = threading.Lock()
        self.flower_themes: list[str] = []
        self._themes_pending = True  # theme files not read yet (all but the starting one are read after the first frame)
        self.price_problem = ""  # why the user's prices file was skipped, told with the side panes
        self._load_themes()  # before the app runs: a theme set on mount would restyle every widget a second time

    @cached_property
    def prices(self) -> PriceBook:
        """The price table: the user's prices file over the shipped one (a file that cannot be read is skipped, the
        shipped prices still count). Read when first needed: the chat app's first frame shows no cost."""
        from flowertui.engine.prices import PriceTableError, configured_prices, load_prices

        try:
            return configured_prices()
        except PriceTableError as exc:
            self.price_problem = str(exc)
            return load_prices()

    @property
    def replaying(self) -> bool:
        return self.replay is not None

    # what each app provides -----------------------------------------------
    def left(self) -> ComposeResult:
        """The left column: the app's main pane, its status line and the message box (id `message`)."""
        raise NotImplementedError

    def counter(self) -> Widget:
        """The app's counter pane (id `counter-pane`, titled COUNTER_TITLE; `add(batch)` and `redraw()`), reading
        the session's ledger. Built after the first frame."""
        raise NotImplementedError

    def replay_note(self) -> str:
        """What the disabled message box says during a replay."""
        raise NotImplementedError

    def mounted(self) -> None:
        """Anything the app adds once its panes are mounted."""

    def boot(self) -> None:
        """The app's worker, started after the first frame: play the recording back, or start what the app shows."""
        raise NotImplementedError

    async def draw(self, batch: list[Event]) -> None:
        """Show a batch of events: the app's own panes, and the side panes through `draw_side`."""
        raise NotImplementedError

    async def problem(self, text: str) -> None:
        """Show an engine problem in the app's own panes too (the notification is already up)."""

    def stop_work(self) -> None:
        """Stop what the app runs (a reply in flight, a program) before the session writer closes."""

    def export_session(self) -> str | None:
        """The session `e` exports, None while there is nothing to export yet."""
        raise NotImplementedError

    def export_ledger(self, data: SessionData) -> SessionLedger:
        """The ledger an export reads: the one of the session's kind, counted from its recorded events."""
        from flowertui.engine.session_kinds import ledger_of

        return ledger_of(data.kind, data.events, self.prices)

    # layout -----------------------------------------------------------
    def compose(self) -> ComposeResult:
        """The side column's panes come after the first frame: it shows their placeholders (see `_mount_side`)."""
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield from self.left()
            with Vertical(id="side", classes="show-events"):
                yield Static(id="side-tabs")  # tabs below 120 columns
                for pane_id, title in (*SIDE_PANES, ("counter-pane", self.COUNTER_TITLE)):
                    yield titled(Static(id=pane_id, classes="pane"), title)
        yield Static(id="footer-placeholder")  # the footer's row, empty until its keys come with the side panes

    def side_panes(self) -> list[Widget]:
        """The side column's panes (events, tokens, the app's counter), built once the first frame is out."""
        from flowertui.app.widgets.events_pane import EventsPane
        from flowertui.app.widgets.token_stream import TokenStream

        self.events_pane = EventsPane(id="events-pane", classes="pane")
        return [titled(self.events_pane, SIDE_PANES[0][1]),
                titled(TokenStream(id="token-pane", classes="pane"), SIDE_PANES[1][1]), self.counter()]

    def on_mount(self) -> None:
        """The engine (or program) and the other themes come after the first frame."""
        self._take_breakpoint()
        self.mounted()
        if self.keys.dialogs:
            self.set_keymap(self.keys.dialogs)
        if self.keys.problems:
            self.notify("\n".join(self.keys.problems), title="Keymap entries skipped", severity="warning", timeout=15,
                        markup=False)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        box = self.query_one(HistoryInput)
        box.keys_when_empty = set(self.keys.keys["help"])  # "? for help": in an empty box it is help's
        if self.replaying:
            box.disabled = True
            box.placeholder = self.replay_note()
        else:
            box.focus()
        if self._themes_pending:
            self.call_after_refresh(self._register_themes)
        if self.SIDE_AFTER_FIRST_EVENTS:
            self.call_after_refresh(self.set_timer, FIRST_FRAME_OUT, self._boot_after_first_frame)
        else:
            self._mount_side_soon()

    def _boot_after_first_frame(self) -> None:
        """The start's interpreter settings (startup.py) are for the first frame: undone before the engine's import,
        which a short GIL switch interval would slow."""
        startup.end()
        self.ledger  # noqa: B018  made now, on the UI thread: the worker and a key pressed meanwhile both read it
        self.boot()

    def _mount_side_soon(self, after: float = 0.0) -> None:
        """Mount the side panes once the frame being drawn is out (once, however often asked); or `after` seconds
        from now, for a change that is not in the frame yet (a widget's repaint reaches the screen at its own idle,
        and a callback after the refresh can run before it: the panes' ≈ 60 ms mount then held that frame back)."""
        if not self._side_due:
            self._side_due = True
            if after:
                self.set_timer(after, self._mount_side)
            else:
                self.call_after_refresh(self._mount_side)

    def _take_breakpoint(self) -> None:
        """The screen's width class (HORIZONTAL_BREAKPOINTS), as Textual gives it on the Resize that follows the
        first frame. Given now, the first frame is drawn in the layout of its width (at 80 columns, the tabs), and
        that Resize restyles nothing (restyling every widget, ≈ 5 ms, kept the first frame from the terminal)."""
        width = self.size.width
        wide = max((b for b in self.HORIZONTAL_BREAKPOINTS if width >= b[0]), default=None)
        self.screen.update_classes({name: (at, name) == wide for at, name in self.HORIZONTAL_BREAKPOINTS},
                                   update=False)

    async def _mount_side(self) -> None:
        """The side panes and their tabs take their placeholders' places, in one frame.

        Building and drawing them (and importing their modules: the tables, the ledger) would cost the first frame
        ≈ 45 ms of CPU; the placeholders have the same ids, so the same size and border, and the layout does not
        move. Mounting them, with the relayout and the footer's keys, costs ≈ 70 ms more: the chat app does that
        after its engine's first events are drawn (the status line says idle), not beside LangChain's import. The
        events drawn before are drawn in them now; the trace app's boot worker starts after them.
        """
        from textual.widgets import Tab, Tabs

        from flowertui.app.widgets.app_footer import AppFooter

        if not self.is_running:  # due as the app closes (a quit, a test's end): its screen is being emptied
            return
        side = self.query_one("#side")
        tabs = Tabs(Tab("Events", id="tab-events"), Tab("Tokens", id="tab-tokens"), Tab("Counter", id="tab-counter"),
                    id="side-tabs")
        panes = self.side_panes()
        placeholder, footer = self.screen_stack[0].query_one("#footer-placeholder"), AppFooter()
        with self.batch_update():
            await side.remove_children()
            await side.mount_all([tabs, *panes])
            await placeholder.parent.mount(footer, after=placeholder)
            await placeholder.remove()
        self.side_mounted = True
        if not self.is_running:  # the app closed as they mounted: Textual composed them partly, if at all
            return
        self._fit_footer()
        if self.price_problem:  # the counter has read the prices by now
            self.notify(f"Your prices file was skipped: {self.price_problem}", severity="warning", timeout=12,
                        markup=False)
        footer.release()
        if self.replaying:
            self.query_one("#events-table").focus()
        if not self.SIDE_AFTER_FIRST_EVENTS:  # the boot worker's heavy imports start once the first frame is out
            self.set_timer(BOOT_DELAY, self.boot)
        backlog, self._side_backlog = self._side_backlog, []
        if backlog:
            self.draw_side(backlog)

    def on_unmount(self) -> None:
        self._stop_replay.set()
        self.stop_work()
        if self.writer is not None:
            self.writer.close()

    # themes -----------------------------------------------------------
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
        """What setting `theme` does, minus the full restyle Textual's watcher schedules: nothing is styled yet.

        Setting `self.theme` here (before the app runs) makes Textual re-parse the whole stylesheet a second time
        (~16 ms of CPU before the first frame, measured 2026-12-05 with Textual 8.2.8). Textual has no public way to
        set the starting theme without that, and the ANSI-to-truecolor filter it built in `App.__init__` for its
        default dark theme must follow a light one: that one call is Textual's private `_refresh_truecolor_filter`.
        tests/app/test_themes_in_app.py fails if Textual renames it or the starting theme's ANSI colours are wrong.
        """
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
        if not self.side_mounted:  # the panes are shaded for the theme in force when they mount
            return
        self.query_one("#token-pane").reshade()
        self.query_one("#events-pane").rebuild()
        self.query_one("#counter-pane").redraw()

    def action_next_theme(self) -> None:
        names = self.flower_themes
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2, markup=False)

    # the session ------------------------------------------------------
    def open_writer(self, ledger: SessionLedger, **kwargs: Any) -> SessionWriter | None:
        """Open the session's database writer (in the boot worker); if it cannot open, say the session is not saved."""
        from flowertui.session.store import DB_NAME, SessionWriter, StoreError

        try:
            self.writer = SessionWriter(data_dir() / DB_NAME, ledger,
                                        on_error=lambda text: self.post_message(EngineProblem(text)), **kwargs)
        except StoreError as exc:
            self.post_message(EngineProblem(f"{exc}; this session will not be saved"))
        return self.writer

    def sinks(self, *first: Any) -> list[Any]:
        """Where the session's events go: `first` (a ledger), the panes' inbox, then the writer if it opened."""
        return [*first, self.inbox, *([self.writer] if self.writer else [])]

    def play(self, replay: Replay) -> None:
        """Play the recorded session's events at `replay`'s pace, as `_recorded_event`s (in the boot worker)."""
        from flowertui.session.replay import play

        play(self.history.events, self._recorded_event, replay, self._stop_replay)

    def _recorded_event(self, event: Event) -> None:
        """A recorded event goes to the session's ledger, as a live one would, then to the panes."""
        self.ledger(event)
        self.inbox(event)

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
        wait = self._last_draw + self.DRAW_INTERVAL - time.monotonic()
        if wait > 0:  # drawn not long ago: the events wait in the inbox (which posts no new wake-up meanwhile)
            if not self._draw_due:
                self._draw_due = True
                self.set_timer(wait, self._draw_due_batch)
            return
        await self._draw_batch()

    async def _draw_due_batch(self) -> None:
        self._draw_due = False
        await self._draw_batch()

    async def _draw_batch(self) -> None:
        self._last_draw = time.monotonic()
        batch = self.take_batch()
        if not batch:
            return
        with suppress(NoMatches, MountError):  # the app may be closing while a thread still reports
            await self.draw(batch)

    def draw_side(self, batch: list[Event]) -> None:
        if not self.side_mounted:  # they come after the frame that shows these events (the status line says idle)
            self._side_backlog.extend(batch)
            self._mount_side_soon(after=SIDE_AFTER_EVENTS)
            return
        self.query_one("#events-pane").add(batch)
        self.query_one("#token-pane").add(batch)
        self.query_one("#counter-pane").add(batch)

    async def on_engine_problem(self, message: EngineProblem) -> None:
        self.notify(message.text, title=self.PROBLEM_TITLE, severity="error", timeout=10, markup=False)
        self._mount_side_soon()  # an engine that does not start brings no events to mount them with
        with suppress(NoMatches):  # the app may be closing while a thread still reports
            await self.problem(message.text)

    def on_notice(self, message: Notice) -> None:
        self.notify(message.text, title=message.title, severity=message.severity, timeout=8, markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.post_message(EngineProblem(f"{type(event.worker.error).__name__}: {event.worker.error}"))

    # input and panes --------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        """Typing anywhere on the main screen goes to the message box (bound keys excepted).

        A printable key reaches the app only when the box did not take it, even if the box
        got the focus in the meantime: keys typed fast were already on their way elsewhere.
        """
        if (event.is_printable and event.character and self.screen is self.screen_stack[0]
                and event.key not in self.active_bindings):
            if self.replaying:  # the box is inert: a replay sends nothing, its keys are commands
                event.stop()
                if not self._told_replay:
                    self._told_replay = True
                    self.notify(f"A replay sends nothing; its keys: {self.replay_keys()}.", timeout=6, markup=False)
                return
            box = self.query_one(HistoryInput)
            self.set_focus(box)  # at once: the keys typed right after this one must land in the box too
            box.insert_text_at_cursor(event.character)
            event.stop()

    def replay_keys(self) -> str:
        """The keys a replay answers to, in force, as the replay's note names them."""
        shown = [c for c in self.COMMANDS_SHOWN if c.show and self.check_action(c.action.split("(")[0], ())]
        return ", ".join(f"{self.keys.display(c.id)} {c.footer}" for c in shown)

    def on_tabs_tab_activated(self, message: Tabs.TabActivated) -> None:
        try:
            side, shown = self.query_one("#side"), SIDE_TABS[message.tab.id]
        except NoMatches:  # the tabs were mounted as the app was closing
            return
        if not side.has_class(shown):  # restyling the side costs ~40 ms: not for the tab it already shows
            side.remove_class(*SIDE_TABS.values())
            side.add_class(shown)

    def on_resize(self, _: events.Resize) -> None:
        """Below 120 columns `p` joins the footer, which packs its keys closer so every shown one fits."""
        self.call_after_refresh(self._fit_footer)  # once the screen has taken its breakpoint class

    def _fit_footer(self) -> None:
        """Below FOOTER_FULL columns the footer shows the keys marked `tight` (help always); the palette's from
        FOOTER_PALETTE."""
        if not self.is_running:  # due as the app closes (a resize as the user quits): no screen to fit it to
            return
        full = self.size.width >= FOOTER_FULL
        shown = {c.id: c.show and (c.tight or full) for c in self.COMMANDS_SHOWN}
        table = self._bindings.key_to_bindings  # see _bind_keys
        for key, bound in table.items():
            table[key] = [replace(b, show=shown[b.id]) if b.id in shown else b for b in bound]
        self.refresh_bindings()
        with suppress(NoMatches):
            footer = self.screen_stack[0].query_one("AppFooter")  # mounted with the side panes
            footer.compact, footer.show_command_palette = self.narrow, self.size.width >= FOOTER_PALETTE

    @property
    def narrow(self) -> bool:
        return self.screen_stack[0].has_class("-narrow")

    # actions ----------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`p` only when the side panes are tabs: wide, every side pane shows already."""
        return self.narrow if action == "next_pane" else True

    def action_next_pane(self) -> None:
        if not self.side_mounted:  # a key typed ahead of the side panes: they show the first one
            return
        tabs = self.query_one("#side-tabs")
        ids = list(SIDE_TABS)
        tabs.active = ids[(ids.index(tabs.active) + 1) % len(ids)] if tabs.active in ids else ids[0]

    def action_cancel(self) -> None:
        """Leave the message box, so the single-letter keys work."""
        if isinstance(self.focused, Input):
            if self.side_mounted:
                self.query_one("#events-table").focus()
            else:  # the events table comes just after the first frame: the keys work meanwhile
                self.set_focus(None)

    def action_cycle_filter(self) -> None:
        if not self.side_mounted:
            return
        self.notify(f"Events: {self.events_pane.cycle_filter()}", timeout=2, markup=False)

    def action_toggle_tokens(self) -> None:
        if not self.side_mounted:
            return
        every = self.events_pane.toggle_tokens()
        self.notify("Every token event shown" if every else "Token events folded per run", timeout=2, markup=False)

    async def action_clear(self) -> None:
        """Clear the side panes; the numbers stay (they are the session's, not the screen's)."""
        if not self.side_mounted:  # nothing drawn in them yet
            return
        self.events_pane.clear()
        self.query_one("#token-pane").clear()

    def action_help(self) -> None:
        from flowertui.app.screens.help import PANES, HelpScreen

        self.push_screen(HelpScreen(self.key_table(), PANES[self.SESSION_KIND]))

    def key_table(self) -> list[tuple[str, str]]:
        """Each command's keys in force (after the user's keymap) and what it does."""
        return [(self.keys.both(c.id), c.help) for c in self.COMMANDS_SHOWN]

    def _bind_keys(self) -> None:
        """Bind each remapped command to its keys in force, in the app's own bindings.

        Not through Textual's keymap: Textual applies it after dropping the keys a focused Input takes, so a command
        whose default key the message box takes (`?`, `e`) would lose its remapped key (`f1`) while typing. Textual 8
        has no public way to rebind an app's key, hence its `_bindings` here (tests/app/test_chat_keys.py fails if
        that changes).
        """
        table = self._bindings.key_to_bindings
        for command in self.COMMANDS_SHOWN:
            if command.id in self.keys.changed:
                for key in [key for key, bound in table.items() if any(b.id == command.id for b in bound)]:
                    table[key] = [b for b in table[key] if b.id != command.id]
                    if not table[key]:
                        del table[key]
                for key in self.keys.changed[command.id].split(","):
                    table.setdefault(key, []).append(replace(command.binding(), key=key, key_display=None))

    def key_hint(self) -> str:
        """The message box's hint, with the keys in force."""
        return f"Enter to send, {self.keys.display('cancel')} for keys, {self.keys.display('help')} for help"

    def get_key_display(self, binding: Binding) -> str:
        """The footer's key for a command: the one in force, its alt form first (it works while typing too)."""
        if binding.id in self.keys.keys:
            return self.keys.display(binding.id)
        return super().get_key_display(binding)

    # export -----------------------------------------------------------
    async def action_export(self) -> None:
        session = self.export_session()
        if session is None:
            self.notify(self.NOTHING_TO_EXPORT, markup=False)
            return
        from flowertui.app.screens.export_dialog import ExportDialog

        folder = await asyncio.to_thread(save_dir)
        self.push_screen(ExportDialog(session, folder, self.export_format), partial(self._exported, session))

    def _exported(self, session_id: str, outcome: tuple[str, Path, bool] | None) -> None:
        if outcome is not None:
            self.export_format = outcome[0]
            self.run_worker(partial(self._write_export, session_id, *outcome, list(self.recorded)), thread=True,
                            group="export", exit_on_error=False)

    def _write_export(self, session_id: str, fmt: str, path: Path, force: bool, unsaved: list[Event]) -> None:
        """Read the session and write the file off the event loop; the result comes back as a notice."""
        from flowertui.session.export import ExportError, export
        from flowertui.session.store import StoreError

        try:
            data = self.session_data(session_id, unsaved)
            written = export(data, fmt, path, self.export_ledger(data), force=force)
        except (ExportError, StoreError) as exc:
            self.post_message(Notice(str(exc), "Export failed", "error"))
            return
        count = len(data.events)
        self.post_message(Notice(f"{count} event{'s' * (count != 1)} written to {written.resolve()}",
                                 f"Exported {fmt}"))

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

    # palette and screenshot -------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands (Theme, Keys…), then one per binding; the screenshot goes where exports go."""
        ours = {c.title for c in self.COMMANDS_SHOWN} | {"Screenshot"}
        yield from (command for command in super().get_system_commands(screen) if command.title not in ours)
        for c in self.COMMANDS_SHOWN:
            action = c.action.split("(")[0]
            if self.check_action(action, ()):
                yield SystemCommand(c.title, f"{c.help[:1].upper()}{c.help[1:]} (key: {self.keys.both(c.id)})",
                                    partial(self.run_action, c.action))
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


def titled(widget: Widget, title: str) -> Widget:
    """The widget with its border title (shown once it is mounted)."""
    widget.border_title = title
    return widget
