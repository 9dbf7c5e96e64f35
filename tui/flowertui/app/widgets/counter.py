"""Token counter per memory kind: last turn's numbers, cumulative total, cost, and the growth plot."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from flowertui.engine.events import Event, MemoryMode
from flowertui.engine.kinds import KINDS
from flowertui.engine.ledger import Ledger
from flowertui.engine.prices import Price, format_cost

REFRESH_ON = frozenset({"turn_start", "llm_end", "memory_estimate", "memory_switch", "turn_end", "turn_error",
                        "turn_cancelled", "session_start"})
PLOT_COLOURS = {"buffer": "red", "window": "green", "summary": "blue", "summary_buffer": "magenta",
                "token_buffer": "cyan"}
# (header, key, width): cells are padded by hand, the table itself has no cell padding.
COLUMNS = (("memory kind", "kind", 16), ("from", "from", 5), ("prompt", "prompt", 7), ("compl", "completion", 7),
           ("maint", "maintenance", 7), ("turn", "turn", 7), ("Σ tok", "total", 8), ("Σ cost", "cost", 14))
WIDTH = {key: width for _, key, width in COLUMNS}
LEGEND = "~ estimate (compare mode)  ? usage not reported  … reply in progress"


class TokenCounter(Vertical):
    """Keeps its own ledger from the events it is shown, so a replay draws the same numbers."""

    def __init__(self, prices: dict[str, Price], **kwargs) -> None:
        super().__init__(**kwargs)
        self.ledger = Ledger(prices)
        self.mode = MemoryMode()
        self.applies_from: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        table = DataTable(id="counter-table", cursor_type="none", zebra_stripes=True, cell_padding=0)
        for label, key, width in COLUMNS:
            table.add_column(_pad(label, width, key != "kind"), key=key, width=width)
        yield table
        yield Static(LEGEND, id="counter-legend")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for kind in KINDS:
            table.add_row(*self._cells(kind), key=kind)
        self.call_after_refresh(self._mount_plot)

    async def _mount_plot(self) -> None:
        """The plot comes after the first frame: plotext alone takes longer to import than Textual draws it."""
        from textual_plotext import PlotextPlot

        await self.mount(PlotextPlot(id="counter-plot"))
        self._plot()

    def add(self, events: list[Event]) -> None:
        refresh = False
        for event in events:
            self.ledger(event)
            self.mode.follow(event)
            if event.kind == "session_start":
                self.applies_from.setdefault(self.mode.kind, 1)
            elif event.kind == "memory_switch":
                self.applies_from[self.mode.kind] = event.payload["from_turn"]
            elif event.kind == "turn_start":
                for kind in event.payload.get("kinds", ()):
                    self.applies_from.setdefault(kind, event.turn)
            refresh |= event.kind in REFRESH_ON
        if refresh:
            self.redraw()

    def redraw(self) -> None:
        table = self.query_one(DataTable)
        for kind in KINDS:
            for (_, key, _), cell in zip(COLUMNS, self._cells(kind), strict=True):
                table.update_cell(kind, key, cell)
        self._plot()

    def _cells(self, kind: str) -> list[Text]:
        """One row: the last turn's numbers, then the cumulative ones; `~` estimate, `?` usage missing."""
        rows = self.ledger.turns(kind)
        active = kind == self.mode.kind
        name = Text(("▶" if active else " ") + kind.ljust(WIDTH["kind"] - 1), no_wrap=True)
        if active:
            name.stylize(f"bold {self.app.theme_variables.get('accent', '')}")
        if not rows:
            return [name, *(_pad("—", width, True, "dim") for _, _, width in COLUMNS[1:])]
        last = rows[-1]
        if last.model is None and not last.estimated:  # the turn's first call has not ended yet
            done = rows[:-1]
            return [name, _pad(str(self.applies_from.get(kind, last.turn)), WIDTH["from"], True, "dim"),
                    *(_pad("…", width, True, "dim") for _, _, width in COLUMNS[2:6]),
                    _pad(str(sum(r.total_tokens for r in done)), WIDTH["total"], True, "bold"),
                    _pad("", WIDTH["cost"], True)]
        cost, currency = self.ledger.cost(kind)
        missing = last.usage_missing or last.maintenance_usage_missing
        cells = [
            (str(self.applies_from.get(kind, rows[0].turn)), "dim"),
            (_number(last.prompt_tokens, last.estimated, last.usage_missing), ""),
            (_number(last.completion_tokens, last.estimated, last.usage_missing), ""),
            (_number(last.maintenance_tokens, False, last.maintenance_usage_missing), ""),
            (_number(last.total_tokens, last.estimated, missing), ""),
            (_number(sum(r.total_tokens for r in rows), any(r.estimated for r in rows),
                     any(r.usage_missing or r.maintenance_usage_missing for r in rows)), "bold"),
            (format_cost(cost, currency), "dim" if cost is None else ""),
        ]
        return [name, *(_pad(text, width, True, style) for (text, style), (_, _, width) in zip(cells, COLUMNS[1:],
                                                                                             strict=True))]

    def _plot(self) -> None:
        plot = next(iter(self.query("#counter-plot")), None)
        if plot is None:  # not mounted yet: it draws the whole ledger when it is
            return
        plt = plot.plt
        plt.clear_data()
        plt.title("cumulative tokens per turn")
        last_turn = max((rows[-1].turn for rows in map(self.ledger.turns, KINDS) if rows), default=1)
        plt.xticks(range(1, last_turn + 1))
        for kind in KINDS:
            rows = self.ledger.turns(kind)
            if rows:
                totals, running = [], 0
                for row in rows:
                    running += row.total_tokens
                    totals.append(running)
                plt.plot([r.turn for r in rows], totals, label=kind, marker="braille", color=PLOT_COLOURS[kind])
        plot.refresh()

    def clear(self) -> None:
        """Forget what is drawn; the next events draw afresh (the session keeps its data)."""
        self.ledger = Ledger(self.ledger.prices)
        self.redraw()


def _number(value: int, estimated: bool, missing: bool) -> str:
    return ("~" if estimated else "") + str(value) + ("?" if missing else "")


def _pad(text: str, width: int, right: bool, style: str = "") -> Text:
    """A cell exactly `width` wide with one space of gutter, numbers aligned right."""
    body = text[: width - 1]
    return Text(body.rjust(width - 1) + " " if right else " " + body.ljust(width - 1), style=style, no_wrap=True)
