"""`flowertui diff A B` on screen: the totals, the aligned rows, and the selected row in full with its word diff.

It only draws a `Diff` (flowertui.session.diff); every number comes from the sessions' ledgers. Text from the
sessions (replies, run outputs, labels) is drawn as `Text`, never parsed as markup.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from flowertui.engine.sanitize import strip_escapes
from flowertui.engine.session_ledger import Spend
from flowertui.session.diff import Diff, Row, delta_pcts, deltas
from flowertui.session.diff_table import cost, ms, pct, signed, tokens

LABEL_WIDTH = 30  # characters of a row's label in the table (indented by depth); the detail shows it whole
LEGEND = "~ estimate  ? no usage reported  — unknown"


def _delta_text(value: float | int | None, digits: int = 0) -> Text:
    """More spent in red, less in green."""
    return Text(signed(value, digits), style="red" if value and value > 0 else "green" if value else "")


class DiffScreen(Screen):
    """Totals on top, the aligned rows, and the selected row's figures and word diff below."""

    DEFAULT_CSS = """
    DiffScreen { layout: vertical; }
    #diff-heading { height: auto; padding: 0 1; background: $panel; }
    #diff-totals { height: auto; padding: 0 1; }
    #diff-rows { height: auto; max-height: 40%; min-height: 4; border-top: solid $primary; }
    #diff-detail { height: 1fr; min-height: 4; border-top: solid $primary; padding: 0 1; }
    """

    BINDINGS = [
        Binding("n", "next_change", "next change", id="diff.next_change"),
        Binding("N,p", "previous_change", "previous change", key_display="N", id="diff.previous_change"),
        Binding("q,escape", "app.quit", "quit", key_display="q", id="diff.quit"),
    ]

    def __init__(self, diff: Diff) -> None:
        super().__init__()
        self.diff = diff

    def compose(self) -> ComposeResult:
        yield Static(self._heading(), id="diff-heading")
        yield Static(self._totals(), id="diff-totals")
        yield DataTable(id="diff-rows", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="diff-detail"):
            yield Static(id="diff-detail-text")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._fill(table)
        table.focus()
        self._show(0)

    def on_resize(self) -> None:
        self._fill(self.query_one(DataTable))

    # the parts ------------------------------------------------------------------
    def _heading(self) -> Text:
        text = Text()
        for name, side in (("A", self.diff.a), ("B", self.diff.b)):
            if name == "B":
                text.append("\n")
            text.append(f"{name} ", style="bold")
            text.append(strip_escapes(side.label))
        alone = {name: len(self.diff.unmatched(name.lower())) for name in ("A", "B")}
        if any(alone.values()):
            text.append("\nunmatched: " + ", ".join(f"{count} row{'s' * (count != 1)} only in {name}"
                                                     for name, count in alone.items() if count), style="italic")
        return text

    def _totals(self) -> Table:
        a, b = self.diff.a.spend, self.diff.b.spend
        delta, delta_pct = deltas(a, b), delta_pcts(a, b)
        table = Table(box=None, padding=(0, 1), show_edge=False, expand=False)
        for title in ("", "A", "B", "Δ", "Δ%"):
            table.add_column(title, justify="right" if title else "left", header_style="bold")
        for name, show in (("tokens", tokens), ("cost", cost), ("latency ms", ms)):
            key = "latency_ms" if name == "latency ms" else name
            table.add_row(name, show(a), show(b), _delta_text(delta[key]), pct(delta_pct[key]))
        return table

    def _fill(self, table: DataTable) -> None:
        """The rows; below 100 columns the two latencies make way for their difference."""
        wide = self.size.width >= 100
        if getattr(self, "_wide", None) == wide and table.row_count:
            return
        self._wide = wide
        cursor = table.cursor_row if table.row_count else 0
        table.clear(columns=True)
        columns = ["row", "A tok", "B tok", "Δ tok"] + (["A ms", "B ms"] if wide else ["Δ ms"]) + ["events"]
        for column in columns:
            table.add_column(column, key=column)
        for index, row in enumerate(self.diff.rows):
            table.add_row(*self._cells(row, wide), key=str(index))
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

    def _cells(self, row: Row, wide: bool) -> list[Text]:
        unit = row.unit
        label = "  " * unit.depth + strip_escapes(row.label)
        if len(label) > LABEL_WIDTH:
            label = label[: LABEL_WIDTH - 1] + "…"
        sa = row.a.spend if row.a else None
        sb = row.b.spend if row.b else None
        style = "" if row.matched else "italic dim"
        if sa and sb:
            delta = deltas(sa, sb)
            change = _delta_text(delta["tokens"])
            latency = _delta_text(delta["latency_ms"])
        else:
            change, latency = Text("only A" if sa else "only B", style="italic"), Text("—", justify="right")
        marker = " " if not row.changed else "•"
        cells = [Text(f"{marker} {label}", style=style), Text(tokens(sa), justify="right"),
                 Text(tokens(sb), justify="right"), change]
        cells += [Text(ms(sa), justify="right"), Text(ms(sb), justify="right")] if wide else [latency]
        events = lambda s: "—" if s is None else str(sum(s.handlers.values()))  # noqa: E731
        cells.append(Text(f"{events(sa)}→{events(sb)}", justify="right"))
        return cells

    # moving -------------------------------------------------------------------
    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        self._show(message.cursor_row)

    def _show(self, index: int) -> None:
        if not self.diff.rows:
            self.query_one("#diff-detail-text", Static).update(Text("nothing to compare: neither side has a turn"))
            return
        self.query_one("#diff-detail-text", Static).update(detail(self.diff.rows[index]))
        self.query_one("#diff-detail", VerticalScroll).scroll_home(animate=False)

    def _jump(self, step: int) -> None:
        table = self.query_one(DataTable)
        rows = self.diff.rows
        index = table.cursor_row
        for _ in range(len(rows)):
            index += step
            if not 0 <= index < len(rows):
                self.notify("no further change", timeout=2)
                return
            if rows[index].changed:
                table.move_cursor(row=index)
                return

    def action_next_change(self) -> None:
        self._jump(1)

    def action_previous_change(self) -> None:
        self._jump(-1)


def _figures_table(row: Row) -> Table:
    table = Table(box=None, padding=(0, 1), show_edge=False)
    for title in ("", "prompt", "completion", "maint.", "total", "cost", "ms"):
        table.add_column(title, justify="right" if title else "left", header_style="bold")

    def line(name: str, spend: Spend | None) -> None:
        if spend is None:
            table.add_row(name, Text("not in this side", style="italic"), "", "", "", "", "")
            return
        mark = "~" if spend.estimated else ""
        table.add_row(name, f"{mark}{spend.prompt_tokens}", f"{mark}{spend.completion_tokens}",
                      str(spend.maintenance_tokens), tokens(spend), cost(spend), ms(spend))

    line("A", row.a.spend if row.a else None)
    line("B", row.b.spend if row.b else None)
    if row.matched:
        delta = deltas(row.a.spend, row.b.spend)
        table.add_row("Δ", "", "", "", _delta_text(delta["tokens"]), _delta_text(delta["cost"], 6)
                      if delta["cost"] else Text(signed(delta["cost"])), _delta_text(delta["latency_ms"]))
    return table


def detail(row: Row) -> Group:
    """The selected row in full: its label, both sides' figures, events by handler, and the output's word diff."""
    unit = row.unit
    head = Text()
    head.append(strip_escapes(row.label), style="bold")
    if unit.run_type:
        head.append(f" · {unit.run_type}")
    for name, side in (("A", row.a), ("B", row.b)):
        if side is not None and side.status:
            head.append(f"  {name}: {side.status}")
    events = Text()
    for name, side in (("A", row.a), ("B", row.b)):
        counts = side.spend.handlers if side else {}
        events.append(f"events {name}: ", style="bold")
        events.append(", ".join(f"{strip_escapes(handler)} {count}" for handler, count in counts.items()) or "—")
        events.append("\n")
    return Group(head, _figures_table(row), events, word_diff_text(row), Text(LEGEND, style="dim"))


def word_diff_text(row: Row) -> Text:
    """A's output against B's: removed words struck through in red, added words in green, the rest plain."""
    text = Text()
    text.append("output ", style="bold")
    text.append("(", style="dim")
    text.append("only A", style="red strike")
    text.append(" · ", style="dim")
    text.append("only B", style="green underline")
    text.append(")\n", style="dim")
    for name, side in (("A", row.a), ("B", row.b)):
        if side is None or side.output is None:
            note = "not in this side" if side is None else side.note or "no output"
            text.append(f"{name}: {note}\n", style="italic")
    if row.a is None or row.b is None or row.a.output is None or row.b.output is None:
        for name, side in (("A", row.a), ("B", row.b)):
            if side is not None and side.output is not None:
                text.append(f"{name}: ", style="bold")
                text.append(strip_escapes(side.output))
        return text
    if row.a.output == row.b.output:
        text.append("(the same)\n", style="dim")
    for op, piece in row.word_diff():
        piece = strip_escapes(piece)
        text.append(piece, style="" if op == "=" else "red strike" if op == "-" else "green underline")
    for name, side in (("A", row.a), ("B", row.b)):
        if side.output_cut:
            text.append(f"\n({name}: {side.output_cut} more characters not compared)", style="dim")
    return text
