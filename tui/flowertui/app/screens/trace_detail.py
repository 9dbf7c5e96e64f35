"""An event of a traced program in full: who received it, how each was attached, and handler errors."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from flowertui.app.screens.event_detail import EventDetail
from flowertui.app.widgets.events_pane import receivers_of
from flowertui.engine.events import Event, LlmEnd
from flowertui.engine.langchain_handlers import by


def receivers_text(event: Event, errors: list[Event]) -> Text:
    """Plain lines (no markup): each receiving handler with its scope, then the errors, then usage advice."""
    text = Text()
    handlers = receivers_of(event)
    if handlers is not None:
        text.append("received by: ", style="bold")
        own = [h for h in handlers if by(h.name) == "program"]
        text.append(", ".join(f"{h.name} ({h.scope}{'' if h.acts else ', no-op'})" for h in own)
                    or "no handler of the program")
        langchains = [h for h in handlers if by(h.name) == "langchain"]
        if langchains:
            text.append("\nand LangChain's own: ", style="bold")
            text.append(", ".join(f"{h.name} ({h.scope})" for h in langchains))
    for error in errors:
        text.append("\nhandler error: ", style="bold red")
        text.append(f"{error.payload.handler}.{error.payload.callback}: {error.payload.error}")
    if isinstance(event.payload, LlmEnd) and event.payload.usage_missing:
        text.append("\nusage missing: ", style="bold yellow")
        text.append(str(event.payload.usage_missing))
    return text


class TraceEventDetail(EventDetail):
    def __init__(self, event: Event, errors: list[Event]) -> None:
        super().__init__(event)
        self.errors = errors

    def on_mount(self) -> None:
        info = Static(receivers_text(self.event, self.errors), id="detail-receivers")
        self.query_one("#detail-box").mount(info, after="#detail-title")
