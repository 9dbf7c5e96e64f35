"""One line naming provider, model, memory kind, session and state, with a spinner while waiting.

The memory kind and compare mode are the session ledger's: the app sets `mode` before each batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from flowertui.engine.kinds import MemoryMode

if TYPE_CHECKING:  # the events and the prices are imported after the first frame (docs/PERFORMANCE.md)
    from flowertui.engine.events import Event

NO_PRICE = "no price"  # the counter's word for a model missing from the price table

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
BUSY = ("starting", "waiting for first token", "updating memory")


class StatusLine(Static):
    def __init__(self, mode: MemoryMode, *, replay: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mode = mode  # the memory kind and compare mode, as the session's ledger follows them
        self.replay = replay
        self.provider = self.model = self.session = "…"
        self.state = "starting"
        self.detail = ""
        self.short = ""  # the detail in few words, so that the session id keeps its place (a catch-up's cost)
        self._frame = 0

    def add(self, events: list[Event]) -> None:
        for event in events:
            self._take(event)
        self._draw()

    def _take(self, event: Event) -> None:
        p = event.payload
        if event.kind == "session_start":
            self.provider, self.model, self.session = p.provider, p.model, event.session_id
            self.set_state("idle")
        elif event.kind == "turn_start":
            self.set_state("waiting for first token")
        elif event.counted_token and not event.maintenance and self.state == "waiting for first token":
            self.set_state("streaming")
        elif event.kind == "memory_catchup_start":
            self.set_state("updating memory", f"{event.memory_kind}: catching up on {p.turns} turns")
        elif event.kind == "memory_catchup_end":
            tokens = f"{p.total_tokens or 0:,}{'?' if p.usage_missing else ''}"
            cost = cost_words(p.cost, p.currency)
            if p.error:
                self.set_state("error", p.error)
            elif p.cancelled:  # stopped by Esc (or a quit): what it read until then is kept, and counted
                self.set_state("cancelled", f"{event.memory_kind} catch-up cancelled: {tokens} tokens, {cost}",
                               short=f"↻ {tokens} tok, {cost}")
            else:  # the work is over: idle, saying what the catch-up cost
                self.set_state("idle", f"{event.memory_kind} caught up: {tokens} tokens, {cost}",
                               short=f"↻ {tokens} tok, {cost}")
        elif event.kind == "chat_model_start" and event.maintenance:
            self.set_state("updating memory", event.memory_kind or "")
        elif event.kind == "turn_end":
            self.set_state("idle")
        elif event.kind == "turn_cancelled":
            self.set_state("cancelled")
        elif event.kind == "turn_error":
            self.set_state("error", p.error or "")

    def set_state(self, state: str, detail: str = "", short: str = "") -> None:
        self.state, self.detail, self.short = state, detail, short
        self._draw()

    def on_mount(self) -> None:
        self.set_interval(0.1, self._spin)
        self._draw()

    def _spin(self) -> None:
        if self.state in BUSY:
            self._frame = (self._frame + 1) % len(SPINNER)
            self._draw()

    def _draw(self) -> None:
        """State, provider/model and memory always fit. What gives way first: the session id, the wide separators,
        the state's detail, the word "memory", then the model name is shortened. An error's words are in the
        conversation, so here it is just the state."""
        width = max(self.size.width, 20)
        colour = {"error": "bold red", "streaming": "bold green", "idle": "green"}.get(self.state, "bold yellow")
        mark = SPINNER[self._frame] if self.state in BUSY else "●"
        state = Text.assemble(("▶ REPLAY ", "bold reverse") if self.replay else "", " " if self.replay else "",
                              (f"{mark} {self.state}", colour))
        detailed = state.copy()
        if self.detail and self.state != "error":
            detailed.append(f" {self.detail}", "dim")
        memory = self.mode.kind + (" +compare" if self.mode.compare else "")
        wide, tight = "  │  ", " │ "
        brief = state.copy()
        if self.short and self.state != "error":
            brief.append(f" {self.short}", "dim")
        # (head, separator, memory label, session label or None, with the provider)
        tiers = [(detailed, wide, "memory ", "session ", True), (detailed, tight, "memory ", "session ", True)]
        if self.short:  # a catch-up's cost and the session id both stay, in fewer words
            tiers += [(brief, tight, "", "session ", True), (brief, tight, "", "", True), (brief, tight, "", "", False)]
        tiers += [(detailed, tight, "memory ", None, True), (state, tight, "memory ", None, True),
                  (state, tight, "", None, True)]
        for head, sep, label, session, with_provider in tiers:
            line = Text.assemble(head, (sep, "dim"), *((self.provider, (" · ", "dim")) if with_provider else ()),
                                 self.model, (sep, "dim"), (label, "dim"), (memory, "bold"))
            if session is not None:
                line.append_text(Text.assemble((f"{sep}{session}", "dim"), self.session[:8]))
            if line.cell_len <= width:
                break
        else:  # still too long: shorten the model name, never the state or the memory kind
            tail = Text.assemble((tight, "dim"), (memory, "bold"))
            line = Text.assemble(state, (tight, "dim"), self.provider, (" · ", "dim"), self.model)
            line.truncate(max(width - tail.cell_len, 1), overflow="ellipsis")
            line.append_text(tail)
        line.truncate(width, overflow="ellipsis")
        self.update(line, layout=False)  # one line (app.tcss) whatever it says: no layout of the screen for it


def cost_words(cost: float | None, currency: str | None) -> str:
    """A cost as the panes say it: "free" for nothing to pay, "no price" for a model the price table lacks."""
    if cost is None or currency is None:
        return NO_PRICE
    from flowertui.engine.prices import format_cost  # not before the first frame, which shows no cost

    return "free" if cost == 0 else format_cost(cost, currency)
