"""The counter pane draws the session's one ledger: failed and cancelled turns, clearing, coverage, the plot."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from flowertui.app.themes import kind_variable
from flowertui.app.widgets.counter import TokenCounter
from flowertui.engine.kinds import KINDS
from flowertui.engine.providers import ProviderSettings
from tests.support.pilot import SIZE, cancel_after, make_app, ready, say, settle
from tests.support.faults import provider, serving
from tests.support.rigs import LESSON
from tests.support.faults import FAULTS
from tests.support.openai_server import Reply

UNAUTHORISED = next(f for f in FAULTS if f.name == "401 bad key")


def cell(app, kind: str, column: str) -> str:
    value = app.query_one("#counter-table", DataTable).get_cell(kind, column)
    return (value.plain if isinstance(value, Text) else str(value)).strip()


def hex_of(style) -> str | None:
    """The foreground of a span's style: Textual's (Content) or Rich's (Text), as #rrggbb."""
    if hasattr(style, "foreground"):
        return style.foreground.hex.lower() if style.foreground else None
    colour = Style.parse(style).color if isinstance(style, str) else style.color
    return colour.get_truecolor().hex.lower() if colour else None


def plot_shown(app) -> bool:
    return app.query_one(PlotextPlot).display and not app.query_one("#counter-note").display


async def test_a_failed_first_turn_is_closed_and_the_next_turn_has_a_known_cost():
    with serving(UNAUTHORISED, Reply()) as (_, url):
        app = make_app(provider(url, UNAUTHORISED))
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await say(pilot, LESSON[0])
            assert cell(app, "buffer", "prompt") == "✗" and cell(app, "buffer", "total") == "—"
            assert not plot_shown(app)  # nothing counted: no axis from −1 to 1, a note instead
            assert "first counted turn" in str(app.query_one("#counter-note", Static).render())
            box = app.query_one("#message")
            box.focus()
            await pilot.press("up", "enter")
            await settle(pilot)
            assert cell(app, "buffer", "prompt").isdigit()
            assert cell(app, "buffer", "turns") == "2"
            assert cell(app, "buffer", "cost").startswith("¥")  # qwen-turbo has a price
            assert plot_shown(app)


async def test_a_cancelled_reply_counts_what_streamed_marked_as_an_estimate():
    app = make_app(ProviderSettings(speed=10))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await cancel_after(pilot, LESSON[0], tokens=5)
        row = app.ledger.turns("buffer")[-1]
        assert row.status == "cancelled" and row.completion_tokens >= 5 and row.prompt_tokens > 0
        assert cell(app, "buffer", "completion") == f"~{row.completion_tokens}"
        assert cell(app, "buffer", "total") == f"{row.total_tokens}~"
        assert cell(app, "buffer", "cost") == "¥0.000000"  # the offline model is priced at 0, not unknown
        assert "…" not in cell(app, "buffer", "prompt")


async def test_clearing_the_panes_keeps_every_total_and_the_plot():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        await say(pilot, LESSON[1])
        before = {column: cell(app, "buffer", column) for column in ("turns", "total", "cost")}
        points = app.ledger.totals("buffer").points
        await pilot.press("escape", "ctrl+l")
        await settle(pilot)
        assert {column: cell(app, "buffer", column) for column in ("turns", "total", "cost")} == before
        assert app.ledger.totals("buffer").points == points and plot_shown(app)
        await say(pilot, LESSON[2])
        assert int(cell(app, "buffer", "total")) > int(before["total"])
        assert cell(app, "buffer", "turns") == "1–3"


async def test_the_status_line_returns_to_idle_after_a_summary_catch_up():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        await pilot.press("escape", "3")
        await settle(pilot)
        status = app.query_one("#status")
        assert status.state == "idle"
        assert status.detail.startswith("summary caught up:") and "tokens" in status.detail
        assert cell(app, "summary", "turns") == "↻"
        assert int(cell(app, "summary", "total")) == app.ledger.totals("summary").catch_up_tokens > 0
        await pilot.press("c")  # compare mode catches summary_buffer up too
        await settle(pilot)
        assert status.state == "idle"


async def test_switching_away_and_back_shows_every_turn_the_total_counts():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for line in LESSON:
            await say(pilot, line)
        await pilot.press("escape", "2")
        await settle(pilot)
        await say(pilot, "还有别的推荐吗？")
        await pilot.press("escape", "1")
        await settle(pilot)
        await say(pilot, "谢谢")
        assert cell(app, "buffer", "turns") == "1–3, 5"
        assert cell(app, "window", "turns") == "4"


async def test_compare_mode_plots_every_kind_in_distinct_colours_with_the_legend_outside():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("escape", "c")
        await settle(pilot)
        await say(pilot, LESSON[0])
        await say(pilot, LESSON[1])
        for kind in KINDS:
            assert cell(app, kind, "turns") == "1–2"
        legend = app.query_one("#counter-plot-legend", Static).render()
        assert [kind for kind in KINDS if kind in legend.plain] == list(KINDS)
        wanted = {app.theme_variables[kind_variable(kind)].lower() for kind in KINDS}
        assert len(wanted) == len(KINDS)
        assert {hex_of(span.style) for span in legend.spans} == wanted
        drawn = app.query_one(PlotextPlot).render()
        series = [app.ledger.totals(kind).points for kind in KINDS]
        top = max(total for points in series for _, total in points)

        def under(a, b) -> bool:  # a line identical to a later one, or within a braille dot of it, lies under it
            return [t for t, _ in a] == [t for t, _ in b] and all(abs(x - y) < top / 20 for (_, x), (_, y) in zip(a, b))

        on_top = {app.theme_variables[kind_variable(kind)].lower() for n, kind in enumerate(KINDS)
                  if not any(under(series[n], later) for later in series[n + 1:])}
        assert on_top <= {hex_of(span.style) for span in drawn.spans}  # each visible line in its kind's colour
        assert "window (= buffer)" in legend.plain  # window k=2 equals buffer over two turns, and says so
        assert not any(kind in drawn.plain for kind in KINDS)  # no legend drawn over the lines
        y_labels = [line.split("┤")[0].strip() for line in drawn.plain.splitlines() if "┤" in line]
        assert y_labels and all(label.isdigit() for label in y_labels if label)  # integer ticks


async def test_at_100_by_30_the_counter_tab_hides_a_plot_it_cannot_fit_and_says_so():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        app.query_one("#side-tabs").active = "tab-counter"
        await settle(pilot)
        plot = app.query_one(PlotextPlot)
        note = app.query_one("#counter-note", Static)
        assert (plot.display and plot.size.height >= 6) or (note.display and "Plot hidden" in str(note.render()))
        assert note.region.bottom <= app.query_one(TokenCounter).content_region.bottom  # the note is visible
        await pilot.resize_terminal(100, 60)
        await settle(pilot)
        assert plot.display and plot.size.height >= 6


async def test_a_turn_redraws_the_active_kinds_row_alone_and_the_table_shows_what_a_full_redraw_shows():
    """The counter's other rows are not rendered again while a turn changes the active kind's row."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        table = app.query_one("#counter-table", DataTable)
        active = app.mode.kind
        others = set(KINDS) - {active}

        def rendered_others() -> set:
            return {key for key in table._row_render_cache.keys() if key[0].value in others}

        before = rendered_others()
        assert before  # the other rows were rendered and cached
        await say(pilot, LESSON[1])
        assert rendered_others() == before  # none of them rendered again
        assert cell(app, active, "turns") == "1–2"
        lines = [table.render_line(y) for y in range(table.size.height)]
        table.update_cell(active, "kind", table.get_cell(active, "kind"))  # Textual's way: every row again
        await pilot.pause(0.1)
        assert [table.render_line(y) for y in range(table.size.height)] == lines


async def test_the_plot_is_drawn_again_when_its_lines_change_or_the_theme_does(monkeypatch):
    """A turn redraws the counter 3–4 times (start, the model's end, the estimate, the end); the plot's lines change
    once, and only then is it drawn again; a theme change draws it in the new theme."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        plot = app.query_one(PlotextPlot)
        drawn = []
        monkeypatch.setattr(plot, "refresh", lambda *a, **k: drawn.append(app.ledger.totals(app.mode.kind).points))
        await say(pilot, LESSON[1])
        assert len(drawn) == 1 and [turn for turn, _ in drawn[0]] == [1, 2]
        monkeypatch.undo()
        before = colour = app.theme_variables[kind_variable(app.mode.kind)].lower()
        for _ in app.flower_themes:  # to a theme with another colour for the kind
            app.action_next_theme()
            await settle(pilot)
            colour = app.theme_variables[kind_variable(app.mode.kind)].lower()
            if colour != before:
                break
        assert colour != before and colour in {hex_of(span.style) for span in plot.render().spans}
