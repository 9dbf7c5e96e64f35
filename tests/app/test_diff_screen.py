"""The diff screen, driven with Pilot as a user would: rows to move through, the selected row's figures and word
diff below, columns that fit 160, 100 and 80 columns, model text drawn literally."""

from __future__ import annotations

import pytest
from rich.console import Console
from textual.widgets import DataTable, Static

from flowertui.app.diff_app import DiffApp
from flowertui.engine.prices import load_prices
from flowertui.engine.session_ledger import Spend
from flowertui.session.diff import Side, Unit, diff_sides, load_diff
from tests.support.pilot import notified, wait_until
from tests.support.rigs import LESSON, record_session


def plain(renderable, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def detail_text(app) -> str:
    return plain(app.screen.query_one("#diff-detail-text", Static).content)


@pytest.fixture
def two_sessions():
    """A chat of the lesson's three turns, and one whose third turn asks something else."""
    rig_a, path = record_session(LESSON)
    rig_b, _ = record_session([*LESSON[:2], "有白色的百合吗？"])
    ids = [rig.events[0].session_id for rig in (rig_a, rig_b)]
    return load_diff(ids[0], ids[1], path, load_prices())


@pytest.mark.parametrize("size", [(160, 48), (100, 30), (80, 24)])
async def test_moving_through_the_rows_shows_each_one_s_word_diff(two_sessions, size):
    app = DiffApp(two_sessions)
    async with app.run_test(size=size, notifications=True) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count == 3, what="three turn rows")
        columns = [str(column.label) for column in table.columns.values()]
        wide = size[0] >= 100
        assert columns == ["row", "A tok", "B tok", "Δ tok", *(["A ms", "B ms"] if wide else ["Δ ms"]), "events"]
        assert "turn 1" in detail_text(app) and "(the same)" in detail_text(app)
        await pilot.press("down")
        assert detail_text(app).startswith("turn 2")
        await pilot.press("n")  # the next row that changed: the third turn, asked differently
        await wait_until(pilot, lambda: table.cursor_row == 2, what="the cursor on turn 3")
        text = detail_text(app)
        assert text.startswith("turn 3") and "only A" in text
        a, b = two_sessions.rows[2].a, two_sessions.rows[2].b
        assert a.output != b.output
        words = " ".join(text.split())
        for name, side in (("A", a), ("B", b)):  # each side's prompt, completion, maintenance and total tokens
            spend = side.spend
            assert f"{name} {spend.prompt_tokens} {spend.completion_tokens} 0 {spend.total_tokens} " in words
        await pilot.press("N")  # turns 1 and 2 cost the same and said the same: no change before turn 3
        assert table.cursor_row == 2
        await notified(pilot, "no further change")
        await pilot.press("up")
        assert detail_text(app).startswith("turn 2")
        # every row fits the screen's width: nothing is cut at the right edge
        assert table.virtual_size.width <= size[0]
        await pilot.press("q")
    assert app.return_code == 0


def test_word_diff_rows_are_the_sessions_turns(two_sessions):
    rows = two_sessions.rows
    assert [row.unit.label for row in rows] == ["turn 1", "turn 2", "turn 3"]
    assert [row.changed for row in rows] == [False, False, True]
    ops = {op for op, _ in rows[2].word_diff()}
    assert {"=", "-", "+"} <= ops


def _unit(output: str, tokens: int) -> Unit:
    return Unit(("turn", 1), "turn 1 [b]x[/b]", "turn", 0, Spend(prompt_tokens=tokens, seconds=0.5), output)


def _side(name: str, unit: Unit) -> Side:
    return Side(name, name, "chat", "session", f"{name} [red]label", unit.spend, (unit,))


async def test_text_from_sessions_is_drawn_literally():
    diff = diff_sides(_side("a", _unit("roses [/bold] for x[i] mum", 10)),
                      _side("b", _unit("roses [/bold] for x[i] dad", 12)))
    app = DiffApp(diff)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = detail_text(app)
        assert "turn 1 [b]x[/b]" in text and "roses [/bold] for x[i] mumdad" in text
        heading = plain(app.screen.query_one("#diff-heading", Static).content)
        assert "a [red]label" in heading
        cell = app.screen.query_one(DataTable).get_row_at(0)[0]
        assert "turn 1 [b]x[/b]" in cell.plain
