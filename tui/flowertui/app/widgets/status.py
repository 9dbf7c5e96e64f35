"""One line naming provider, model, memory kind, session and state, with a spinner while waiting."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from flowertui.engine.events import Event, MemoryMode
from flowertui.engine.prices import format_cost

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
BUSY = ("starting", "waiting for first token", "updating memory")


class StatusLine(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.provider = self.model = self.session = "…"
        self.state = "starting"
        self.detail = ""
        self.replay = False
        self._frame = 0

    @property
    def mode(self) -> MemoryMode:
        """The memory kind and compare mode, as the session's ledger follows them."""
        return self.app.ledger.mode

    def on_mount(self) -> None:
        self.set_interval(0.1, self._spin)
        self._draw()

    def add(self, events: list[Event]) -> None:
        for event in events:
            self._take(event)
        self._draw()

    def _take(self, event: Event) -> None:
        p = event.payload
        if event.kind == "session_start":
            self.provider, self.model, self.session = p["provider"], p["model"], event.session_id
            self.set_state("idle")
        elif event.kind == "turn_start":
            self.set_state("waiting for first token")
        elif event.counted_token and not event.maintenance and self.state == "waiting for first token":
            self.set_state("streaming")
        elif event.kind == "memory_catchup_start":
            self.set_state("updating memory", f"{event.memory_kind}: catching up on {p.get('turns', 0)} turns")
        elif event.kind == "memory_catchup_end":
            if p.get("error"):
                self.set_state("error", p["error"])
            else:  # the work is over: idle, saying what the catch-up cost
                spent = f"{p.get('total_tokens', 0)}{'?' if p.get('usage_missing') else ''} tokens"
                self.set_state("idle", f"{event.memory_kind} caught up: {spent}, "
                                       f"{format_cost(p.get('cost'), p.get('currency'))}")
        elif event.kind == "chat_model_start" and event.maintenance:
            self.set_state("updating memory", event.memory_kind or "")
        elif event.kind == "turn_end":
            self.set_state("idle")
        elif event.kind == "turn_cancelled":
            self.set_state("cancelled")
        elif event.kind == "turn_error":
            self.set_state("error", p.get("error", ""))

    def set_state(self, state: str, detail: str = "") -> None:
        self.state, self.detail = state, detail
        self._draw()

    def _spin(self) -> None:
        if self.state in BUSY:
            self._frame = (self._frame + 1) % len(SPINNER)
            self._draw()

    def _draw(self) -> None:
        colour = {"error": "bold red", "streaming": "bold green", "idle": "green"}.get(self.state, "bold yellow")
        mark = SPINNER[self._frame] if self.state in BUSY else "●"
        memory = f"{self.mode.kind} (compare all)" if self.mode.compare else self.mode.kind
        line = Text.assemble(
            ("▶ REPLAY  ", "bold reverse") if self.replay else "",
            (f"{mark} {self.state}", colour), (f" {self.detail}" if self.detail else "", "dim"),
            ("  │  ", "dim"), self.provider, (" · ", "dim"), self.model,
            ("  │  memory ", "dim"), (memory, "bold"), ("  │  session ", "dim"), self.session,
        )
        line.truncate(max(self.size.width, 20), overflow="ellipsis")
        self.update(line)
