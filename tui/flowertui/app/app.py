"""The chat app: the flower-shop conversation with its memory kinds, compare mode, resume and replay.

LangChain is imported in a worker after the first frame. Every engine call runs
in a thread worker under one lock (turns, memory switches and compare mode never
overlap); the engine talks back only through events, which the inbox batches.
What it shares with the trace app (themes, side panes, batching, writer, export) is in base.py.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Input

from flowertui.app import heap
from flowertui.app.base import AppBase, titled
from flowertui.app.messages import CatchUpQuestion, EngineProblem, EngineReady
from flowertui.app.widgets.conversation import ConversationView
from flowertui.app.widgets.history_input import HistoryInput
from flowertui.app.widgets.status import StatusLine
from flowertui.config import Settings
from flowertui.engine.kinds import KINDS, MemoryMode
from flowertui.engine.sanitize import strip_escapes

if TYPE_CHECKING:  # the side panes, the events, the ledger and the session layer are imported after the first frame
    from flowertui.app.widgets.events_pane import EventsPane
    from flowertui.engine.events import Event
    from flowertui.engine.ledger import Ledger
    from flowertui.session.model import SessionData
    from flowertui.session.replay import Replay

QUIT_WAIT = 0.5  # seconds a quit waits for the engine call in flight to record its cancel
REPLAY_HIDDEN = ("memory", "cycle_memory", "compare")  # a replay calls no model


class ChatApp(AppBase):
    TITLE = "flowertui"
    SESSION_KIND = "chat"
    PROBLEM_TITLE = "Engine"
    COUNTER_TITLE = "Tokens per memory kind"
    NOTHING_TO_EXPORT = "Nothing to export yet: a session is recorded from its first turn."
    DRAW_INTERVAL = 0.1  # a streamed reply is drawn 10 times a second (the trace app draws every batch at once)
    SIDE_AFTER_FIRST_EVENTS = True  # ready to send first: the side panes mount once the status line says idle

    def __init__(self, settings: Settings, *, memory_kind: str | None = None, compare: bool = False,
                 theme: str | None = None, history: SessionData | None = None,
                 replay: Replay | None = None) -> None:
        """`history` with `replay` replays a recorded session; without it, resumes the session."""
        super().__init__(settings, theme=theme, history=history, replay=replay)
        self.start_kind = memory_kind
        self.start_compare = compare
        # Messages sent before the engine was ready, in order: asked one after another once it is. Until the last
        # has started, a message sent joins them (`draining`); the lock keeps that check and the worker's in step.
        self.waiting: deque[str] = deque()
        self.draining = False
        self._waiting_lock = threading.Lock()
        self.live = None
        self._engine_lock = threading.Lock()
        self._stopped = False  # stop_work has run: the heap is released for good

    # layout -----------------------------------------------------------
    def left(self) -> ComposeResult:
        yield titled(ConversationView(id="conversation"), "Conversation")
        yield StatusLine(self.asked_mode(), replay=self.replaying, id="status")
        yield HistoryInput(placeholder=f"Ask the flower shop…  ({self.key_hint()})", id="message")

    def counter(self) -> Widget:
        from flowertui.app.widgets.counter import TokenCounter

        return titled(TokenCounter(self.ledger, id="counter-pane", classes="pane"), self.COUNTER_TITLE)

    @cached_property
    def ledger(self) -> Ledger:
        """The session's one ledger: the engine feeds it (a recording's events first, on replay or resume).

        Made on the UI thread just before the boot worker starts (base.py, `_boot_after_first_frame`), as the worker
        and a key pressed meanwhile both read it; not before the first frame, which shows none of its numbers: its
        module and the events' cost that frame ≈ 25 ms."""
        from flowertui.engine.ledger import Ledger

        ledger = Ledger(self.prices)
        ledger.mode = self.asked_mode()  # until the engine reports it
        return ledger

    def asked_mode(self) -> MemoryMode:
        """The memory kind and compare mode asked for (the buffer by default), until the engine reports its own."""
        return MemoryMode(self.start_kind or "buffer", self.start_compare)

    def replay_note(self) -> str:
        return f"Replay of {self.history.header.get('session_id')}, {self.replay.describe()}: no model is called"

    async def draw(self, batch: list[Event]) -> None:
        status = self.query_one(StatusLine)
        status.mode = replace(self.mode)  # attributes down: the ledger's mode as of this batch
        status.add(batch)
        self.draw_side(batch)
        await self.query_one(ConversationView).add(batch)

    # engine -------------------------------------------------------------
    @property
    def mode(self) -> MemoryMode:
        """The active memory kind and compare mode, as the ledger follows them from the engine's events."""
        return self.ledger.mode

    @work(thread=True, group="engine", exit_on_error=False)
    def boot(self) -> None:
        """Replay a recording, or import LangChain and build the conversation, off the UI thread."""
        if self.history is not None:  # a recording's costs are drawn at once
            self.prices.warm_in_background()
        if self.replaying:
            self.play(self.replay)
            return
        with heap.importing():
            from flowertui.engine.assembly import assemble
        from flowertui.engine.resume import Resume

        resume = Resume()
        if self.history is not None:  # show the recorded session first, then carry on recording it
            from flowertui.session.replay import Replay, resume_point  # with its export reader: a resume's only

            self.play(Replay(time_scale=0))
            resume = resume_point(self.history, self.ledger)
        self.open_writer(self.ledger, recorded=self.history is not None)  # a resumed session's catch-up is saved
        session = self.history.header.get("session_id") if self.history else None
        try:
            live = assemble(self.settings.provider, self.settings.memory, sinks=self.sinks(), session_id=session,
                            memory_kind=self.start_kind or resume.memory_kind,  # flags given now win
                            compare=self.start_compare or resume.compare, resume=resume, prices=self.prices,
                            ledger=self.ledger)
        except Exception as exc:  # a provider that cannot even be built is reported, not raised
            self.post_message(EngineProblem(f"could not start the engine: {exc}"))
            return
        self.post_message(EngineReady(live))  # ready to send: what follows is not needed before the first reply
        if self.history is None:  # not beside LangChain's import: both hold the GIL (the offline model's price is
            self.prices.warm_in_background()  # in prices.toml; the database is for other models' first cost)
        from textual.widgets import Markdown  # noqa: F401  imported here, off the UI thread
        self.call_later(self._hold_heap)

    def _hold_heap(self) -> None:
        """What exists now lives as long as the app: the collector skips it from now on. On the UI thread, as
        `stop_work` is: a quit before the engine was ready releases first, and nothing holds the heap after."""
        if not self._stopped:
            heap.hold()

    def stop_work(self) -> None:
        self._stopped = True
        heap.release()
        self._take_back_waiting()
        if self.live is not None:  # a reply or catch-up in flight: its worker must not keep the process alive
            self.live.conversation.close()
            if self._engine_lock.acquire(timeout=QUIT_WAIT):  # the cancelled turn is recorded before the writer closes
                self._engine_lock.release()

    def on_engine_ready(self, message: EngineReady) -> None:
        self.live = message.live
        conversation = self.live.conversation
        conversation.consent = self._consent
        if self.history is not None:  # a resumed summary memory reads the turns it has no recorded state for
            self._engine(conversation.catch_up)
        with self._waiting_lock:
            self.draining = bool(self.waiting)
        if self.draining:
            self.query_one(ConversationView).held_sent = True
            conversation = self.live.conversation
            self._engine(lambda: self._ask_waiting(conversation), group="turn")

    def _ask_waiting(self, conversation) -> None:
        """Ask each waiting message in turn (in the engine's worker); a failed turn does not stop the next."""
        from flowertui.engine.runner import TurnFailed

        while True:
            with self._waiting_lock:
                if not self.waiting:
                    self.draining = False
                    return
                text = self.waiting.popleft()
            try:
                conversation.ask(text)
            except TurnFailed:
                continue  # the turn_error event already told every pane
            except BaseException:
                self._take_back_waiting()
                raise

    def _take_back_waiting(self) -> bool:
        """Drop the messages still waiting (the conversation says they were not sent); True if there were any."""
        with self._waiting_lock:
            had, self.draining = bool(self.waiting), False
            self.waiting.clear()
        return had

    async def problem(self, text: str) -> None:
        self.query_one(StatusLine).set_state("error", text)
        view = self.query_one(ConversationView)
        await view.problem(text)
        if self.live is None and self._take_back_waiting():  # the engine will not come: say so by the messages
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

    @property
    def turn_running(self) -> bool:
        return any(w.group == "turn" and not w.is_finished for w in self.workers)

    # input ----------------------------------------------------------------
    @on(Input.Submitted, "#message")
    async def send_message(self, message: Input.Submitted) -> None:
        """Only the message box starts a turn. Sent before the engine is ready, it waits in the conversation."""
        box = self.query_one(HistoryInput)
        text = strip_escapes(message.value).strip()  # the box has emptied itself already
        if not text:
            return
        with self._waiting_lock:  # before the engine is ready, and until what waited has started: one more waits
            waits = self.live is None or self.draining
            if waits:
                self.waiting.append(text)
        if not waits and self.turn_running:
            self.notify(f"A reply is still streaming: wait for it, or press {self.keys.display('cancel')} to cancel it.",
                        markup=False)
            box.give_back(message.value)
            return
        box.remember(text)
        if waits:
            await self.query_one(ConversationView).hold(text)
            return
        self._send(text)

    def _send(self, text: str) -> None:
        conversation = self.live.conversation
        self._engine(lambda: conversation.ask(text), group="turn")

    def on_events_pane_selected(self, message: EventsPane.Selected) -> None:
        from flowertui.app.screens.event_detail import EventDetail

        self.push_screen(EventDetail(message.event))

    # actions ----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A replay calls no model: its memory and compare keys are hidden."""
        if self.replaying and action in REPLAY_HIDDEN:
            return False
        return super().check_action(action, parameters)

    def action_memory(self, kind: str) -> None:
        if self.live is None or (kind == self.mode.kind and not self.turn_running):
            return
        if self.turn_running:
            self.notify(f"Memory: {kind} from the next turn (this reply goes on with {self.mode.kind}).",
                        markup=False)
        conversation = self.live.conversation
        self._engine(lambda: conversation.switch(kind))

    def action_cycle_memory(self) -> None:
        self.action_memory(KINDS[(KINDS.index(self.mode.kind) + 1) % len(KINDS)])

    def action_compare(self) -> None:
        if self.live is not None:
            conversation, on = self.live.conversation, not self.mode.compare
            if self.turn_running:
                self.notify(f"Compare mode {'on' if on else 'off'} from the next turn.", markup=False)
            self._engine(lambda: conversation.set_compare(on))

    def action_cancel(self) -> None:
        """Cancel the reply or catch-up in flight and take back the messages still waiting; else leave the box.

        A catch-up (a resume's, a switch's, compare mode's) runs outside any turn: the engine lock says a step is
        in flight. Cancelled, it records what it spent, as a cancelled reply does."""
        took_back = self._take_back_waiting()
        if took_back:
            self.query_one(ConversationView).drop_hold("cancelled")
        if self.live is not None and (self.turn_running or self._engine_lock.locked()):
            self.live.conversation.cancel()
        elif not took_back:
            super().action_cancel()

    def export_session(self) -> str | None:
        session = self.live.bus.session_id if self.live else (self.recorded[0].session_id if self.recorded else None)
        return None if self.live is not None and self.live.bus.turn == 0 else session

    def export_ledger(self, data: SessionData) -> Ledger:
        """The live ledger, unless a replay has not fed it every event yet."""
        return super().export_ledger(data) if self.replaying else self.ledger

    async def action_clear(self) -> None:
        await super().action_clear()
        await self.query_one(ConversationView).clear()
