"""Callback events, one row per event as it happens, token events folded per run by default."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from flowertui.engine.events import Event
from flowertui.engine.prices import format_cost

FILTERS = ("all", "no tokens", "errors", "maintenance")
FAMILY_VARIABLE = {
    "chain": "ft-chain",
    "chat_model": "ft-chat-model",
    "llm": "ft-llm",
    "tool": "ft-tool",
    "retriever": "ft-retriever",
    "error": "ft-error",
    "app": "ft-app",
}
SCOPE_BADGE = {"constructor": "ctor", "request": "req", "context": "ctx", "app": "app"}
SCOPE_LETTER = {"constructor": "c", "request": "r", "context": "x"}  # a traced event's receivers, one letter each
PAYLOAD_WIDTH = 120
KEPT_EVENTS = 3_000  # events the pane can redraw under another filter; the session keeps them all
SHOWN_ROWS = 1_000  # rows in the table; the oldest go first


def passes(event: Event, mode: str) -> bool:
    """Whether the filter mode shows this event."""
    if mode == "no tokens":
        return event.kind != "llm_new_token"
    if mode == "errors":
        return event.family == "error"
    if mode == "maintenance":
        return event.maintenance
    return True


def summary(event: Event) -> str:
    """A one-line gist of the payload; the detail screen shows all of it."""
    p = event.payload
    if event.kind == "llm_new_token":
        return repr(p.get("token", ""))
    if event.kind == "chat_model_start":
        return f"{p.get('model')} · ~{p.get('prompt_tokens_estimate')} prompt tokens"
    if event.kind == "llm_end":
        usage = p.get("usage")
        used = f"{usage['input_tokens']}+{usage['output_tokens']} tokens" if usage else "usage missing"
        return f"{used} · {p.get('text', '')}"
    if event.kind in ("chain_start", "chain_end"):
        values = p.get("inputs") or p.get("outputs") or {}
        return " · ".join(f"{k}={v}" for k, v in values.items() if k != "history")
    if event.kind == "handler_error":
        return f"{p.get('callback')}: {p.get('error')}"
    if event.kind == "memory_estimate":
        return f"would send {p.get('prompt_tokens')} prompt tokens"
    if event.kind == "memory_catchup_start":
        return f"the summariser reads the {p.get('turns')} earlier turns"
    if event.kind == "memory_catchup_end" and not p.get("error"):
        missing = "?" if p.get("usage_missing") else ""
        return (f"caught up: {p.get('calls', 0)} calls · {p.get('total_tokens', 0)}{missing} tokens · "
                f"{format_cost(p.get('cost'), p.get('currency'))}")
    for key in ("error", "user", "reply", "text", "to", "query", "input", "output"):
        if p.get(key):
            return str(p[key])
    return ", ".join(f"{k}={v}" for k, v in p.items())


@dataclass
class _Row:
    event: Event
    count: int = 1  # token events folded into this row
    last_text: str = ""  # the last token that carried text


class EventsPane(Vertical):
    """Events table; Enter or a click on a row asks the app to show the full event."""

    class Selected(Message):
        def __init__(self, event: Event) -> None:
            super().__init__()
            self.event = event

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.events: deque[Event] = deque(maxlen=KEPT_EVENTS)
        self.mode = FILTERS[0]
        self.every_token = False
        self._rows: dict[str, _Row] = {}
        self._depth: dict[str, int] = {}
        self._turn_start: dict[int, float] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="events-header")
        table = DataTable(id="events-table", cursor_type="row", zebra_stripes=False)
        table.add_column("t+", key="time", width=6)
        table.add_column("event", key="kind", width=22)
        table.add_column("scope", key="scope", width=5)
        table.add_column("detail", key="payload", width=PAYLOAD_WIDTH)
        yield table

    def on_mount(self) -> None:
        self._update_header()

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def add(self, events: list[Event]) -> None:
        """Show new events (already in sequence order)."""
        table = self.table
        follow = table.cursor_row >= table.row_count - 1
        for event in events:
            self.events.append(event)
            self._place(event)
        self._trim()
        if follow and table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)

    def _place(self, event: Event) -> None:
        if event.kind == "turn_start":
            self._turn_start[event.turn] = event.mono
        if event.run_id and event.kind.endswith("_start"):
            self._depth[event.run_id] = self._depth.get(event.parent_run_id or "", -1) + 1
        if not passes(event, self.mode):
            return
        folded = event.kind == "llm_new_token" and not self.every_token
        key = f"tokens:{event.run_id}" if folded else f"event:{event.seq}"
        row = self._rows.get(key)
        if row is not None:
            row.count += 1
            row.event = event
            row.last_text = event.payload.get("token") or row.last_text
            self.table.update_cell(key, "kind", self._kind_cell(event, row.count))
            self.table.update_cell(key, "payload", self._payload_cell(row))
            return
        row = self._rows[key] = _Row(event, last_text=event.payload.get("token", ""))
        self.table.add_row(
            Text(self._since_turn(event), style="dim"),
            self._kind_cell(event, 1),
            self._scope_cell(event),
            self._payload_cell(row),
            key=key,
        )

    def _trim(self) -> None:
        """Drop the oldest rows past SHOWN_ROWS, so a long session does not grow without end."""
        excess = self.table.row_count - SHOWN_ROWS
        for key in list(self._rows)[: max(0, excess)]:
            del self._rows[key]
            self.table.remove_row(key)

    def _since_turn(self, event: Event) -> str:
        start = self._turn_start.get(event.turn)
        return "" if start is None or event.kind == "session_start" else f"{event.mono - start:6.2f}"

    def _colour(self, name: str) -> str:
        return self.app.theme_variables.get(name, "")

    def _kind_cell(self, event: Event, count: int) -> Text:
        depth = self._depth.get(event.run_id or "", 0)
        label = event.kind if count == 1 or self.every_token else f"{event.kind} ×{count}"
        text = Text("  " * depth + ("⚙ " if event.maintenance else "") + label, no_wrap=True, overflow="ellipsis")
        text.stylize(self._colour(FAMILY_VARIABLE.get(event.family, "ft-app")))
        return text

    def _scope_cell(self, event: Event) -> Text:
        receivers = event.payload.get("handlers")
        if receivers is not None:  # a traced program's event: the scopes of the handlers that received it
            text = Text()
            for scope in dict.fromkeys(h["scope"] for h in receivers):
                colour = self._colour(f"ft-scope-{scope}") or self._colour("ft-app")
                text.append(SCOPE_LETTER.get(scope, "?"), style=f"bold {colour}" if colour else "bold")
            return text or Text("–", style="dim")
        badge = SCOPE_BADGE.get(event.scope, event.scope)
        colour = self._colour(f"ft-scope-{event.scope}") or self._colour("ft-app")
        return Text(badge, style=f"bold {colour}" if colour else "bold")

    def _payload_cell(self, row: _Row) -> Text:
        event = row.event
        if event.kind == "llm_new_token" and not self.every_token and row.count > 1:
            gist = f"{row.count} token events · last {row.last_text!r}"
        else:
            gist = summary(event)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{event.name} ", style="bold")
        for receiver in event.payload.get("handlers") or ():  # who received it, badged by how it was attached
            colour = self._colour(f"ft-scope-{receiver['scope']}") or self._colour("ft-app")
            text.append(f"{SCOPE_BADGE.get(receiver['scope'], receiver['scope'])}:{receiver['name']} ",
                        style=colour or "")
        text.append(" ".join(gist.split())[:PAYLOAD_WIDTH])
        return text

    def rebuild(self) -> None:
        """Redraw every stored event under the current filter and token mode."""
        self.table.clear()
        self._rows.clear()
        for event in self.events:
            self._place(event)
        self._trim()
        if self.table.row_count:
            self.table.move_cursor(row=self.table.row_count - 1, animate=False)
        self._update_header()

    def cycle_filter(self) -> str:
        self.mode = FILTERS[(FILTERS.index(self.mode) + 1) % len(FILTERS)]
        self.rebuild()
        return self.mode

    def toggle_tokens(self) -> bool:
        self.every_token = not self.every_token
        self.rebuild()
        return self.every_token

    def clear(self) -> None:
        self.events.clear()
        self.rebuild()

    def _update_header(self) -> None:
        tokens = "every token" if self.every_token else "tokens folded per run"
        header = Text.assemble(("filter: ", "dim"), (self.mode, "bold"), ("  ·  ", "dim"), (tokens, "bold"),
                               ("  ·  f filter · k tokens · ⏎ details", "dim"))
        self.query_one("#events-header", Static).update(header)

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        row = self._rows.get(str(message.row_key.value))
        if row is not None:
            self.post_message(self.Selected(row.event))
