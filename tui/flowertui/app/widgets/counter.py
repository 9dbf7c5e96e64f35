"""Token counter per memory kind: last turn's numbers, cumulative total, cost, and the growth plot.

It draws the session's one ledger (owned by the engine, or rebuilt from a recording's
events); it never counts anything itself, so clearing the panes changes no number.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.color import Color
from textual.content import Content
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from flowertui.app.themes import kind_variable
from flowertui.app.widgets.row_table import RowTable
from flowertui.engine.events import Event
from flowertui.engine.kinds import KINDS
from flowertui.engine.ledger import LEGEND, KindTotals, Ledger
from flowertui.engine.prices import format_cost

REFRESH_ON = frozenset({"turn_start", "llm_end", "memory_estimate", "memory_switch", "turn_end", "turn_error",
                        "turn_cancelled", "session_start", "compare_mode", "memory_catchup_end"})
# (header, key, width): cells are padded by hand, the table itself has no cell padding.
COLUMNS = (("memory kind", "kind", 15), ("Σ turns", "turns", 10), ("prompt", "prompt", 7), ("compl", "completion", 7),
           ("maint", "maintenance", 6), ("turn", "turn", 6), ("Σ tok", "total", 8), ("Σ cost", "cost", 12))
WIDTH = {key: width for _, key, width in COLUMNS}
PLOT_MIN_HEIGHT = 6  # rows below which a plot is unreadable: hidden, with a note
TABLE_MIN_HEIGHT = 3  # the header and two kinds: below this the table keeps this height and the pane clips
NO_DATA = "The plot of cumulative tokens per turn appears after the first counted turn."


class KindTable(RowTable):
    """The kinds' rows; a table shorter than its rows keeps the active kind's row in view, also once resized.

    A turn changes the active kind's row three or four times (running, counted, its estimate, ended): only a row
    whose cells changed is drawn again (every row was, each time: ≈ 7 ms)."""

    wanted = 0

    def reveal(self, row: int) -> None:
        self.wanted = row
        self._reveal()

    def on_resize(self) -> None:
        self._reveal()

    def _reveal(self) -> None:
        shown = self.scrollable_content_region.height - 1  # rows under the header
        if shown > 0 and not self.scroll_y <= self.wanted < self.scroll_y + shown:
            self.scroll_to(y=max(0, self.wanted - shown + 1), animate=False)


class TokenCounter(Vertical):
    """Draws the session's ledger: one row per memory kind, the marks legend, the plot and its legend."""

    def __init__(self, ledger: Ledger, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ledger = ledger
        self._plot_due = False  # the plot is mounted with the first events (`add`)
        self._shown: dict[str, list[tuple]] = {}  # each kind's cells as drawn (see `_same`)
        self._plotted: tuple = ()  # the theme and the lines (kind, points, colour) the plot was last drawn with

    def compose(self) -> ComposeResult:
        table = KindTable(id="counter-table", cursor_type="none", zebra_stripes=True, cell_padding=0)
        for label, key, width in COLUMNS:
            table.add_column(_pad(label, width, key != "kind"), key=key, width=width)
        yield table
        yield Static(LEGEND, id="counter-legend", markup=False)
        yield Static("", id="counter-prices", markup=False)  # shown once a counted model has a price source
        yield Static("", id="counter-plot-legend", markup=False)
        yield Static(NO_DATA, id="counter-note", markup=False)

    def on_mount(self) -> None:
        if not self.children:  # the app closed as the pane was mounting (base.py mounts it after the first frame)
            return
        table = self.query_one(DataTable)
        for kind in KINDS:
            cells = self._cells(self.ledger.totals(kind))
            table.add_row(*cells, key=kind)
            self._shown[kind] = _same(cells)

    async def _mount_plot(self) -> None:
        """The plot comes with the session's first events (its start, once the engine is ready): importing plotext
        (≈ 14 ms of CPU) and mounting it would otherwise share the CPU with LangChain's import before that."""
        from textual_plotext import PlotextPlot

        if not self.is_attached:  # due as the app closes (a quit just after the first events): its screen is emptied
            return
        await self.mount(PlotextPlot(id="counter-plot"), before="#counter-plot-legend")
        self._plot()

    def on_resize(self) -> None:
        self._fit_table()
        self._plot()

    def on_show(self) -> None:
        """A tab shown again (below 120 columns): a table scrolled while hidden did not move."""
        self._fit_table()

    def _fit_table(self) -> None:
        """Every kind's row when the pane has room; else as many as fit above the marks line, scrolled so
        that the active kind's row shows (the table scrolls: wheel or drag)."""
        table = self.query_one(DataTable)
        prices = 1 if self.query_one("#counter-prices", Static).display else 0
        note = self.query_one("#counter-note", Static)
        said = len(Content(str(note.render())).wrap(max(self.size.width, 1))) if note.display else 0
        room = self.size.height - 1 - prices - said  # the marks, prices and note lines stay in view
        height = max(TABLE_MIN_HEIGHT, min(len(KINDS) + 1, room)) if room > 0 else len(KINDS) + 1
        if table.styles.height is None or table.styles.height.value != height:
            table.styles.height = height
        table.reveal(KINDS.index(self.ledger.mode.kind) if self.ledger.mode.kind in KINDS else 0)

    def add(self, events: list[Event]) -> None:
        if not self._plot_due:
            self._plot_due = True
            self.call_after_refresh(self._mount_plot)
        if any(event.kind in REFRESH_ON for event in events):
            self.redraw()

    def redraw(self) -> None:
        table = self.query_one(KindTable)
        for kind in KINDS:
            cells = self._cells(self.ledger.totals(kind))
            drawn = _same(cells)
            if drawn != self._shown.get(kind):
                table.update_row(kind, {key: cell for (_, key, _), cell in zip(COLUMNS, cells, strict=True)})
                self._shown[kind] = drawn
        line = self._price_line()
        self.query_one("#counter-prices", Static).update(line)
        self.query_one("#counter-prices", Static).display = bool(line)
        self._fit_table()
        self._plot()

    def _cells(self, totals: KindTotals) -> list[Text]:
        """One row: the last turn's numbers, then what the kind's Σ counts; marks as in the legend."""
        kind = totals.kind
        active = kind == self.ledger.mode.kind
        name = Text(("▶" if active else " ") + kind.ljust(WIDTH["kind"] - 1), no_wrap=True)
        if active:
            name.stylize(f"bold {self.app.theme_variables.get('accent', '')}")
        last = totals.last
        if last is None:
            recent = ["—"] * 4
        elif last.status == "running":
            recent = ["…"] * 4
        elif last.status == "failed" and not last.total_tokens:
            recent = ["✗"] * 4
        else:
            missing = last.usage_missing or last.maintenance_usage_missing
            recent = [_number(last.prompt_tokens, last.estimated, last.usage_missing),
                      _number(last.completion_tokens, last.estimated, last.usage_missing),
                      _number(last.maintenance_tokens, False, last.maintenance_usage_missing),
                      _number(last.total_tokens, last.estimated, missing)]
        counted = bool(totals.coverage)
        coverage = totals.coverage or "—"
        if len(coverage) > WIDTH["turns"] - 1:  # the latest turns matter most: keep the tail
            coverage = "…" + coverage[-(WIDTH["turns"] - 2):]
        cells = [(coverage, "dim"), *((text, "dim" if text in ("—", "…", "✗") else "") for text in recent),
                 (f"{totals.total_tokens}{totals.marks}" if counted else "—", "bold" if counted else "dim"),
                 (_cost(totals) if counted else "—", "dim" if totals.cost is None or not counted else "")]
        return [name, *(_pad(text, width, True, style) for (text, style), (_, _, width) in zip(cells, COLUMNS[1:],
                                                                                             strict=True))]

    def _price_line(self) -> str:
        """Where each counted model's price comes from (prices.toml, genai-prices, or none)."""
        models = dict.fromkeys(row.model for kind in self.ledger.kinds() for row in self.ledger.turns(kind)
                               if row.model and row.counted)
        return ("prices: " + "; ".join(self.ledger.prices.lookup(model).describe(model) for model in models)
                if models else "")

    def _plot(self) -> None:
        """Cumulative tokens per counted turn, a line per kind in the theme's kind colour; legend below."""
        plot = next(iter(self.query("#counter-plot")), None)
        if plot is None:  # not mounted yet: it draws the whole ledger when it is
            return
        series = [(kind, self.ledger.totals(kind).points) for kind in KINDS]
        series = [(kind, points) for kind, points in series if points]
        legend = Text()
        for n, (kind, points) in enumerate(series):
            same = [other for other, drawn in series[:n] if drawn == points]  # now hidden under this line
            legend.append("━━ ", style=self._colour(kind).hex)
            legend.append(f"{kind}{f' (= {same[0]})' if same else ''}  ")
        legend.rstrip()
        legend_line = self.query_one("#counter-plot-legend", Static)
        legend_line.update(legend)
        legend_rows = len(legend.wrap(self.app.console, max(self.size.width, 1)))
        note = self.query_one("#counter-note", Static)
        room = self._plot_room(legend_rows)
        if not series or room < PLOT_MIN_HEIGHT:
            plot.display = legend_line.display = False
            note.update(NO_DATA if not series else
                        f"Plot hidden: it needs {PLOT_MIN_HEIGHT - room} more rows (a taller terminal shows it).")
            note.display = True
            return
        note.display = False
        plot.display = legend_line.display = True
        lines = tuple((kind, points, self._colour(kind).rgb) for kind, points in series)
        if (self.app.theme, lines) == self._plotted:  # a turn redraws the counter 3–4 times; its points change once
            return
        self._plotted = (self.app.theme, lines)
        plt = plot.plt
        plt.clear_data()
        plt.title("cumulative tokens per turn")
        first_turn = min(points[0][0] for _, points in series)
        last_turn = max(points[-1][0] for _, points in series)
        plt.xticks(range(first_turn, last_turn + 1))
        plt.xlim(first_turn, max(last_turn, first_turn + 1))
        ticks = integer_ticks(max(total for _, points in series for _, total in points))
        plt.yticks(ticks, [str(tick) for tick in ticks])
        plt.ylim(0, ticks[-1])
        for kind, points, colour in lines:
            plt.plot([turn for turn, _ in points], [total for _, total in points], marker="braille", color=colour)
        plot.refresh()

    def _colour(self, kind: str) -> Color:
        return Color.parse(self.app.theme_variables.get(kind_variable(kind), "#888888"))

    def _plot_room(self, legend_rows: int) -> int:
        """Rows left for the plot once the table, the marks and price lines and the plot's legend are drawn."""
        table = self.query_one(DataTable)
        prices = 1 if self.query_one("#counter-prices", Static).display else 0
        return self.size.height - (table.outer_size.height or 7) - 1 - prices - legend_rows


def integer_ticks(top: int, most: int = 5) -> list[int]:
    """0 up to at least `top` in at most `most` round integer steps (token counts have no decimals)."""
    top, step = max(top, 1), 1
    while top / step > most - 1:
        for factor in (2, 2.5, 2):  # 1, 2, 5, 10, 20, 50…
            step = int(step * factor)
            if top / step <= most - 1:
                break
    return list(range(0, -(-top // step) * step + 1, step))


def _cost(totals: KindTotals) -> str:
    """The engine's cost; "no price" (for "price unknown") fits the column."""
    return "no price" if totals.cost is None else format_cost(totals.cost, totals.currency)


def _number(value: int, estimated: bool, missing: bool) -> str:
    return ("~" if estimated else "") + str(value) + ("?" if missing else "")


def _same(cells: list[Text]) -> list[tuple]:
    """What a row's cells draw: two lists are equal when the row would look the same (a Rich `Text` compares its
    characters and spans only, not its own style)."""
    return [(cell.plain, str(cell.style), cell.spans, cell.no_wrap) for cell in cells]


def _pad(text: str, width: int, right: bool, style: str = "") -> Text:
    """A cell exactly `width` wide with one space of gutter, numbers aligned right."""
    body = text[: width - 1]
    return Text(body.rjust(width - 1) + " " if right else " " + body.ljust(width - 1), style=style, no_wrap=True)
