"""`flowertui lesson N` in the app: the example traced against the offline server, its note and its source."""

from __future__ import annotations

from rich.syntax import Syntax
from textual.widgets import Static

from flowertui.app.trace_app import TraceApp
from flowertui.app.widgets.console import ConsoleView
from flowertui.app.widgets.lesson_source import LessonSource
from flowertui.app.widgets.trace_status import TraceStatus
from flowertui.config import Settings
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.providers import ProviderSettings
from flowertui.lesson.catalog import example
from tests.support.pilot import SIZE, wait_until
from tests.support.traced import session_events

OUT = "   │ "


def lesson_app(number: int, folder) -> TraceApp:
    item = example(number)
    return TraceApp(Settings(ProviderSettings(speed=0), MemorySettings()), [str(item.path())], offline=True,
                    cwd=folder, lesson=item)


async def test_example_3_handler_lines_follow_the_token_events_in_the_order_they_fired(tmp_path):
    app = lesson_app(3, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.query_one(TraceStatus).state == "exited 0", timeout=90)
        await wait_until(pilot, lambda: "祝你今天愉快！" in "\n".join(app.query_one(ConsoleView).lines))
        lines = list(app.query_one(ConsoleView).lines)
    printed = "\n".join(line[len(OUT):] for line in lines if line.startswith(OUT))
    events = session_events(app.session_id)
    tokens = [e.payload["token"] for e in events if e.kind == "llm_new_token"]
    assert len(tokens) > 20
    # every token event is one handler line, in the same order, between the async handler's lines
    expected = "正在获取花卉数据...\n花卉数据获取完毕。提供建议...\n" + "".join(
        f"获取花卉数据: token: {token}\n" for token in tokens) + "整理花卉建议...\n祝你今天愉快！"
    assert printed == expected
    # the async handler's 0.5 s sleep in on_llm_start holds the first token back
    start = next(e for e in events if e.kind == "chat_model_start")
    first = next(e for e in events if e.kind == "llm_new_token")
    assert first.mono - start.mono >= 0.5


async def test_the_note_is_shown_and_v_toggles_the_source_beside_the_console(tmp_path):
    app = lesson_app(1, tmp_path)
    item = example(1)
    async with app.run_test(size=SIZE) as pilot:
        console = app.query_one(ConsoleView)
        text = "\n".join(console.lines)
        assert f"lesson 1: {item.title_zh} / {item.title_en}" in text and f"watch: {item.watch}" in text
        assert f"working folder (files the example writes): {tmp_path}" in text
        source = app.query_one(LessonSource)
        assert not source.display
        await pilot.press("escape", "v")
        assert source.display and source.region.x > console.region.x and source.border_title == item.file
        code = source.query_one("#source-code", Static).content
        assert isinstance(code, Syntax) and code.code == item.source()
        await pilot.press("v")
        assert not source.display
        await wait_until(pilot, lambda: app.query_one(TraceStatus).state == "exited 0", timeout=60)


async def test_without_a_lesson_there_is_no_source_key(tmp_path):
    import sys

    app = TraceApp(Settings(ProviderSettings(speed=0), MemorySettings()), [sys.executable, "-c", "print('hi')"])
    async with app.run_test(size=SIZE) as pilot:
        assert not app.query(LessonSource)
        assert app.check_action("toggle_source", ()) is False
        await wait_until(pilot, lambda: app.query_one(TraceStatus).state == "exited 0", timeout=60)
