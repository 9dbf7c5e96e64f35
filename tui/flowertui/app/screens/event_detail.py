"""The full payload of one event, as JSON, shown literally in a read-only text area."""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TextArea

from flowertui.engine.events import Event


class EventDetail(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "close", id="detail.close")]

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        with Vertical(id="detail-box"):
            yield Static(f"event #{self.event.seq} · {self.event.kind} · {self.event.scope} scope", id="detail-title",
                         markup=False)
            yield TextArea(json.dumps(self.event.to_dict(), indent=2, ensure_ascii=False), read_only=True,
                           show_line_numbers=False, soft_wrap=True, id="detail-json")
        yield Footer()
