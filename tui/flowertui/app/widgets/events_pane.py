"""Callback events, one row per event as it happens, token events folded per run by default."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from flowertui.app.widgets.row_table import RowTable
from flowertui.app.widgets.status import cost_words
from flowertui.engine.events import (AuditCall, Callback, ChainStart, ChatModelStart, Embeddings, Event, HandlerError,
                                     LlmEnd, LlmNewToken, MemoryCatchupEnd, MemoryCatchupStart, MemoryEstimate, Receiver)
from flowertui.engine.langchain_handlers import by

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
KIND_WIDTH = 22  # the event column: indent, name and a fold's count (`llm_new_token ×3,003`)
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


def gist_of(event: Event) -> str:
    """A one-line gist of the payload; the detail screen shows all of it."""
    p = event.payload
    if isinstance(p, LlmNewToken):
        return repr(p.token)
    if isinstance(p, ChatModelStart):
        return f"{p.model} · ~{p.prompt_tokens_estimate} prompt tokens"
    if isinstance(p, LlmEnd):
        used = f"{p.usage.input_tokens}+{p.usage.output_tokens} tokens" if p.usage else "usage missing"
        return f"{used} · {p.text}"
    if event.kind in ("chain_start", "chain_end"):
        values = (p.inputs if isinstance(p, ChainStart) else p.outputs) or {}
        return " · ".join(f"{k}={v}" for k, v in values.items() if k != "history")
    if isinstance(p, HandlerError):
        return f"{p.callback}: {p.error}"
    if isinstance(p, Embeddings):  # told by the offline server: LangChain has no callback for them
        return f"{p.inputs} inputs · {p.prompt_tokens} tokens · {p.dimensions} dimensions"
    if isinstance(p, MemoryEstimate):
        return f"would send {p.prompt_tokens} prompt tokens"
    if isinstance(p, MemoryCatchupStart):
        return f"the summariser reads the {p.turns} earlier turns"
    if isinstance(p, MemoryCatchupEnd) and not p.error:
        missing = "?" if p.usage_missing else ""
        return (f"caught up: {p.calls or 0} calls · {p.total_tokens or 0}{missing} tokens · "
                f"{cost_words(p.cost, p.currency)}")
    if isinstance(p, AuditCall):  # the wire, as the audit proxy saw it
        wire = p.provider_usage
        used = f"{wire.prompt}+{wire.completion} tokens" if wire else "no usage"
        return f"{p.endpoint} {p.status} · {p.model_answered or p.model_asked or '?'} · {used} · {p.latency_ms:.0f} ms"
    data = p.to_dict()  # any other payload: its first telling field, or all of it
    for key in ("error", "user", "reply", "text", "to", "query", "input", "output"):
        if data.get(key):
            return str(data[key])
    return ", ".join(f"{k}={v}" for k, v in data.items())


def receivers_of(event: Event) -> list[Receiver] | None:
    """The traced program's handlers that received the event (None: not a traced program's callback)."""
    return event.payload.handlers if isinstance(event.payload, Callback) else None


def _token(event: Event) -> str:
    return event.payload.token if isinstance(event.payload, LlmNewToken) else ""


@dataclass
class _Row:
    event: Event
    count: int = 1  # token events folded into this row
    last_text: str = ""  # the last token that carried text
    since: str = ""  # time since the turn started, of the row's first event


class EventsTable(RowTable):
    """The events table: while a reply streams, its folded token row changes in every frame, alone."""


class EventsPane(Vertical):
    """Events table; Enter or a click on a row asks the app to show the full event.

    `fold_every`: seconds between redraws of a folded token row that only counted more tokens (0: every `add`).
    Any change to a table cell makes Textual's DataTable render every visible row again, so a stream drawn batch
    by batch re-rendered the whole table per token; the token stream pane shows each token as it comes.
    """

    fold_every = 0.0

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
        self._open: dict[str, dict[str, None]] = {}  # parent run (or "" at the top) → its children now running
        self._branch: dict[str, str] = {}  # run → its branch tag, when it ran beside a sibling (A, B, …; B.A below)
        self._letters: dict[str, int] = {}  # parent → branch tags given out
        self._turn_start: dict[int, float] = {}
        self._folds_due: dict[str, None] = {}  # folded token rows counted but not redrawn yet (see fold_every)
        self._folds_drawn = 0.0
        self._fold_timer = None

    def compose(self) -> ComposeResult:
        yield Static(id="events-header")
        table = EventsTable(id="events-table", cursor_type="row", zebra_stripes=False)
        table.add_column("t+", key="time", width=6)
        table.add_column("event", key="kind", width=KIND_WIDTH)
        table.add_column("scope", key="scope", width=5)
        table.add_column("detail", key="payload", width=PAYLOAD_WIDTH)
        yield table

    def on_mount(self) -> None:
        if self.children:  # none when the app closed as the pane was mounting (base.py mounts it after the first frame)
            self._update_header()

    @property
    def table(self) -> EventsTable:
        return self.query_one(EventsTable)

    def add(self, events: list[Event]) -> None:
        """Show new events (already in sequence order): one table change per row, however many events fold into it."""
        table = self.table
        follow = table.cursor_row >= table.row_count - 1
        changed: dict[str, None] = {}  # row keys in order, new and updated alike
        for event in events:
            if event.kind == "program_output":  # the console's, saved for replay and exports: not a row
                continue
            self.events.append(event)
            key = self._place(event)
            if key is not None:
                changed[key] = None
        fresh, updated = [], False
        for key in changed:
            row = self._rows.get(key)
            if row is None:
                continue
            if key not in table.rows:
                fresh.append(key)
            elif key.startswith("tokens:"):
                self._folds_due[key] = None
            else:
                self._update_row(key)
                updated = True
        self._drop_oldest()
        self._add_rows(key for key in fresh if key in self._rows)
        if self._folds_due:
            wait = self._folds_drawn + self.fold_every - time.monotonic()
            if fresh or updated or wait <= 0:  # the table is redrawn anyway, or it is time
                self._draw_folds()
            elif self._fold_timer is None:
                self._fold_timer = self.set_timer(wait, self._draw_folds)
        if follow and table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)

    def _update_row(self, key: str) -> None:
        row = self._rows[key]
        self.table.update_row(key, {"kind": self._kind_cell(row.event, row.count), "payload": self._payload_cell(row)})

    def _draw_folds(self) -> None:
        if self._fold_timer is not None:
            self._fold_timer.stop()
            self._fold_timer = None
        self._folds_drawn = time.monotonic()
        table = self.table
        for key in self._folds_due:
            if key in self._rows and key in table.rows:
                self._update_row(key)
        self._folds_due.clear()

    def _place(self, event: Event) -> str | None:
        """Fold the event into the row bookkeeping; the key of the row it made or changed, if shown."""
        if event.kind == "turn_start":
            self._turn_start[event.turn] = event.mono
        if event.run_id and event.kind.endswith("_start"):
            self._depth[event.run_id] = self._depth.get(event.parent_run_id or "", -1) + 1
            self._follow_branches(event)
        elif event.run_id and event.kind.endswith(("_end", "_error")):
            self._open.get(event.parent_run_id or "", {}).pop(event.run_id, None)
        if not passes(event, self.mode):
            return None
        key = self._key(event)
        row = self._rows.get(key)
        if row is not None:
            row.count += 1
            row.event = event
            row.last_text = _token(event) or row.last_text
        else:
            self._rows[key] = _Row(event, last_text=_token(event), since=self._since_turn(event))
        return key

    def _follow_branches(self, event: Event) -> None:
        """Runs of one parent that run at the same time (parallel branches, gathered calls) get a tag each, so their
        interleaved rows can be told apart; a run's children carry its tag."""
        parent = event.parent_run_id or ""
        inherited = self._branch.get(parent, "")
        if inherited:
            self._branch[event.run_id] = inherited
        siblings = self._open.setdefault(parent, {})
        if siblings:
            for run in (*siblings, event.run_id):
                if self._branch.get(run, "") == inherited:  # not tagged at this level yet
                    number = self._letters[parent] = self._letters.get(parent, 0) + 1
                    letter = chr(ord("A") + (number - 1) % 26)
                    self._branch[run] = f"{inherited}.{letter}" if inherited else letter
        siblings[event.run_id] = None

    def _key(self, event: Event) -> str:
        folded = event.kind == "llm_new_token" and not self.every_token
        return f"tokens:{event.run_id}" if folded else f"event:{event.seq}"

    def _drop_oldest(self) -> None:
        """Keep SHOWN_ROWS rows, so a long session does not grow without end; rows not yet drawn go first."""
        table = self.table
        for key in list(self._rows)[: max(0, len(self._rows) - SHOWN_ROWS)]:
            del self._rows[key]
            if key in table.rows:
                table.remove_row(key)

    def _add_rows(self, keys) -> None:
        table = self.table
        for key in keys:
            row = self._rows[key]
            table.append_row(Text(row.since, style="dim"), self._kind_cell(row.event, row.count),
                             self._scope_cell(row.event), self._payload_cell(row), key=key)

    def _since_turn(self, event: Event) -> str:
        start = self._turn_start.get(event.turn)
        return "" if start is None or event.kind == "session_start" else f"{event.mono - start:6.2f}"

    def _colour(self, name: str) -> str:
        return self.app.theme_variables.get(name, "")

    def _kind_cell(self, event: Event, count: int) -> Text:
        """Indented by run depth; a fold's count is never cut: the indent, then the name, give way first."""
        depth = self._depth.get(event.run_id or "", 0)
        count_label = "" if count == 1 or self.every_token else f" ×{count:,}"
        name = ("⚙ " if event.maintenance else "") + event.kind
        room = KIND_WIDTH - len(count_label)
        indent = " " * min(2 * depth, max(0, room - len(name)))
        head = Text(indent + name, no_wrap=True, overflow="ellipsis")
        head.truncate(room, overflow="ellipsis")
        text = head + Text(count_label)
        text.no_wrap, text.overflow = True, "ellipsis"
        text.stylize(self._colour(FAMILY_VARIABLE.get(event.family, "ft-app")))
        return text

    def _scope_cell(self, event: Event) -> Text:
        receivers = receivers_of(event)
        if receivers is not None:  # a traced program's event: the scopes of the handlers that received it
            text = Text()
            for scope in dict.fromkeys(h.scope for h in receivers):
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
            gist = gist_of(event)
        text = Text(no_wrap=True, overflow="ellipsis")
        if branch := self._branch.get(event.run_id or ""):
            text.append(f"‖{branch} ", style="bold reverse")
        text.append(f"{event.name} ", style="bold")
        receivers = receivers_of(event) or ()
        for receiver in receivers:  # who received it, badged by how it was attached; LangChain's own after, dim
            if by(receiver.name) == "program":
                colour = self._colour(f"ft-scope-{receiver.scope}") or self._colour("ft-app")
                text.append(f"{SCOPE_BADGE.get(receiver.scope, receiver.scope)}:{receiver.name} ", style=colour or "")
        for receiver in receivers:
            if by(receiver.name) == "langchain":
                text.append(f"lc:{receiver.name} ", style="dim")
        text.append(" ".join(gist.split())[:PAYLOAD_WIDTH])
        return text

    def rebuild(self) -> None:
        """Redraw every stored event under the current filter and token mode, keeping the selected event.

        The rows are worked out first and only the last SHOWN_ROWS are drawn: adding thousands of rows
        and removing most of them again froze the UI for seconds.
        """
        table = self.table
        follow = table.cursor_row >= table.row_count - 1
        selected = self._selected_event() if not follow else None
        table.clear()
        self._rows.clear()
        self._folds_due.clear()  # every row is drawn afresh
        for event in self.events:
            self._place(event)
        self._drop_oldest()
        self._add_rows(list(self._rows))
        if table.row_count:
            target = self._row_of(selected) if selected is not None else None
            row = table.get_row_index(target) if target is not None else table.row_count - 1
            table.move_cursor(row=row, animate=False)
        self._update_header()

    def _selected_event(self) -> Event | None:
        table = self.table
        if not table.row_count:
            return None
        return self.shown_event(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))

    def shown_event(self, key: str) -> Event | None:
        """The event the row with this key shows (a folded run's row: its latest token)."""
        row = self._rows.get(key)
        return row.event if row is not None else None

    def _row_of(self, event: Event) -> str | None:
        """The row showing this event now (a folded token shows in its run's row), else the nearest later one."""
        key = self._key(event) if passes(event, self.mode) else None
        if key in self._rows:
            return key
        later = [k for k, row in self._rows.items() if row.event.seq >= event.seq]
        return later[0] if later else None

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
