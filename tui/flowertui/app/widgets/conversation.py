"""The conversation: user turns shown literally, replies streamed in as Markdown.

Replies are written to the Markdown stream once per batch of tokens, and the
finished reply replaces the streamed text in one update, as oterm does.

Textual re-wraps a Markdown block whole whenever it changes, so one block that
grows without end (a 200 KB paragraph) would cost more every frame until the UI
froze. A block in progress longer than LONG_BLOCK is therefore shown as plain
text, only its last TAIL_CHARS, until it ends or the reply does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from flowertui.engine.sanitize import strip_escapes

if TYPE_CHECKING:  # Markdown (with markdown-it) with the first reply, the events' module too: after the first frame
    from textual.widgets.markdown import MarkdownStream

    from flowertui.engine.events import Event

SHOWN_TURNS = 30
LONG_BLOCK = 2_000  # characters of an unfinished block still streamed as Markdown
TAIL_CHARS = 1_000  # characters of a longer one shown, as plain text, while it streams
WELCOME = (
    "Welcome to the flower shop. Ask for flowers (in Chinese or English) and watch LangChain work: "
    "callback events on the right, the raw token stream under them, and what each memory kind costs "
    "at the bottom. Press ? for help."
)


class AssistantTurn(Vertical):
    """One reply: a Markdown body and a note line (waiting, cancelled, failed, usage)."""

    def __init__(self, turn: int) -> None:
        super().__init__(classes="assistant-turn")
        self.turn = turn
        self.text = ""
        self.finished = False
        from textual.widgets import Markdown

        self._stream: MarkdownStream | None = None
        self._sent = 0  # characters of `text` handed to the Markdown stream
        self._block = 0  # where in `text` the block in progress starts
        self._body = Markdown("", open_links=False)
        self._tail = Static("", classes="turn-tail", markup=False)
        self._tail.display = False
        self._note = Static(Text("waiting for the first token…", style="italic"), classes="turn-note")

    def compose(self) -> ComposeResult:
        yield self._body
        yield self._tail
        yield self._note

    async def write(self, fragment: str) -> None:
        if self.finished:  # a token that was in flight when the turn was cancelled
            return
        if self._stream is None:
            self._stream = self._body.get_stream(self._body)
            self.note("")
        seen = len(self.text)
        self.text += fragment
        end = self.text.rfind("\n\n", max(0, seen - 1))
        if end >= 0:
            self._block = end + 2  # where the block in progress starts
        upto = len(self.text) if len(self.text) - self._block <= LONG_BLOCK else max(self._sent, self._block)
        if upto > self._sent:  # the finished blocks, and a block in progress while it is short
            pending, self._sent = self.text[self._sent:upto], upto
            await self._stream.write(pending)
        self._show_tail(self.text[self._sent:])

    def _show_tail(self, tail: str) -> None:
        if tail:
            shown = tail if len(tail) <= TAIL_CHARS else "… " + tail[-TAIL_CHARS:]
            self._tail.update(Text(shown))
        self._tail.display = bool(tail)

    async def _stop_stream(self) -> None:
        """Textual's `MarkdownStream.stop` cancels its task and awaits it: a task cancelled before it first ran (a
        reply that began and ended in one batch) raises CancelledError into the caller, here the app's message loop,
        which then ends without a word. Only a cancel of our own task goes on."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            await stream.stop()
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise

    async def finish(self, reply: str, note: str = "") -> None:
        """Stop streaming and show the whole reply: in one update, unless the stream already shows all of it.

        That update re-wraps the whole reply, so it comes after the frame that shows the note (a cancel
        is seen at once, however long the reply).
        """
        await self._stop_stream()
        shown = reply == self.text and self._sent == len(self.text)
        self.text, self._sent = reply, len(reply)
        self.finished = True
        self.note(note)
        if not shown:
            self.call_after_refresh(self._show_whole)

    async def _show_whole(self) -> None:
        await self._body.update(self.text)
        self._show_tail("")

    def note(self, text: str, style: str = "italic") -> None:
        self._note.update(Text(text, style=style))
        self._note.display = bool(text)


class ConversationView(VerticalScroll):
    """Builds itself from events, so a live session and a replay look the same."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.turns: dict[int, AssistantTurn] = {}
        self._groups: deque[list[Widget]] = deque()  # the widgets of each shown turn, oldest first
        self.hidden = 0
        self._welcome = Static(Text(WELCOME, style="dim"), id="welcome")
        self._held: list[tuple[Static, Static]] = []  # messages sent before the engine was ready: (user line, note)
        self.held_sent = False  # set by the app once it hands the held messages to the engine, in order

    def compose(self) -> ComposeResult:
        yield self._welcome

    def on_mount(self) -> None:
        self.anchor()

    async def hold(self, text: str) -> None:
        """Show a message at once, marked waiting, after any still waiting; the turn that sends it takes it over."""
        note = Static(Text("waiting: sent as soon as LangChain has loaded" if not self._held else
                           "waiting: sent after the message above", style="italic"), classes="turn-note waiting")
        held = (Static(Text(text), classes="user-turn"), note)
        self._held.append(held)
        await self.mount_all(held)

    def drop_hold(self, reason: str) -> None:
        """The held messages cannot be sent: say so where each stands."""
        for _, note in self._held:
            note.update(Text(f"not sent: {reason}", style="bold"))
        self._held = []

    @property
    def _first_held(self) -> Static | None:
        """What is drawn while messages wait goes above them."""
        return self._held[0][0] if self._held else None

    async def problem(self, text: str) -> None:
        """A problem outside any turn (the engine, the store): kept here in full; the status line only says error."""
        note = Static(Text(f"⚠ {text}"), classes="mode-note problem")
        self._groups.append([note])
        await self.mount(note, before=self._first_held)

    async def add(self, events: list[Event]) -> None:
        pending: dict[int, list[str]] = {}
        for event in events:
            if event.counted_token and not event.maintenance:
                pending.setdefault(event.turn, []).append(event.payload.token)
                continue
            await self._flush(pending)
            await self._take(event)
        await self._flush(pending)

    async def _flush(self, pending: dict[int, list[str]]) -> None:
        for turn, pieces in pending.items():
            if turn in self.turns:
                await self.turns[turn].write("".join(pieces))
        pending.clear()

    async def _take(self, event: Event) -> None:
        turn = self.turns.get(event.turn)
        held = self._first_held  # what is drawn before the held messages stays above them
        if event.kind == "turn_start":
            reply = AssistantTurn(event.turn)
            self.turns[event.turn] = reply
            if held is not None and self.held_sent:  # the first held message's own turn: it stops waiting
                user, note = self._held.pop(0)
                await note.remove()
                await self.mount(reply, after=user)
            else:
                user = Static(Text(strip_escapes(event.payload.user or "")), classes="user-turn")
                await self.mount_all([user, reply], before=held)
            self._groups.append([user, reply])
            await self._trim()
        elif event.kind in ("memory_switch", "compare_mode"):
            note = Static(Text(_mode_note(event), style="italic"), classes="mode-note")
            self._groups.append([note])
            await self.mount(note, before=held)
        elif turn is None:
            return
        elif event.kind == "turn_end":
            await turn.finish(event.payload.reply or "")
        elif event.kind == "turn_cancelled":
            await turn.finish(event.payload.reply or "", "cancelled: kept here, not stored in memory")
            turn.add_class("cancelled")
        elif event.kind == "turn_error":
            await turn.finish(turn.text, "")
            turn.note(f"⚠ {event.payload.error or 'the provider failed'} (this turn is not stored in memory)",
                      "bold")
            turn.add_class("failed")

    async def _trim(self) -> None:
        """Keep the last SHOWN_TURNS turns as widgets, so a long session does not grow without end."""
        while sum(isinstance(group[-1], AssistantTurn) for group in self._groups) > SHOWN_TURNS:
            group = self._groups.popleft()
            if isinstance(group[-1], AssistantTurn):
                self.turns.pop(group[-1].turn, None)
                self.hidden += 1
            await self.remove_children(group)
        if self.hidden:
            self._welcome.update(Text(f"… {self.hidden} earlier turns are kept in the session: e exports them, "
                                      "`flowertui replay` plays them back.", style="dim"))

    async def clear(self) -> None:
        """Clear what is shown; a reply still streaming goes on in a fresh widget (whole once it ends)."""
        streaming = [turn for turn, reply in self.turns.items() if not reply.finished]
        self.turns.clear()
        self._groups.clear()
        self.hidden = 0
        held = [widget for pair in self._held for widget in pair]
        await self.remove_children([child for child in self.children if child not in held])
        for turn in streaming:
            reply = AssistantTurn(turn)
            reply.note("cleared: the reply goes on…")
            self.turns[turn] = reply
            self._groups.append([reply])
            await self.mount(reply, before=self._first_held)


def _mode_note(event: Event) -> str:
    p = event.payload
    if event.kind == "memory_switch":
        return f"memory: {p.from_} → {p.to}, from turn {p.from_turn}"
    return "compare mode on: every memory kind gets every turn" if p.on else "compare mode off"
