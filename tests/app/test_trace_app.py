"""The app's trace mode, driven by Pilot with a real program running under the probe."""

from __future__ import annotations

import sys

import pytest

from rich.text import Text
from textual.widgets import DataTable

from flowertui.app.screens.trace_detail import TraceEventDetail
from flowertui.app.trace_app import TraceApp
from flowertui.app.widgets.console import MAX_LINES, ConsoleView
from flowertui.app.widgets.events_pane import EventsPane
from flowertui.app.widgets.trace_status import TraceStatus
from flowertui.config import Settings
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.providers import ProviderSettings
from tests.support.pilot import SIZE, send, side_panes, wait_until
from tests.support.traced import program, session_events


def trace_app(*command: str, **kwargs) -> TraceApp:
    return TraceApp(Settings(ProviderSettings(speed=0), MemorySettings()), list(command), **kwargs)


def console_text(app: TraceApp) -> str:
    return "\n".join(app.query_one(ConsoleView).lines)


def row_of(pane: EventsPane, match) -> str:
    """The key of the first row whose event matches."""
    return next(k for k in (str(r.value) for r in pane.table.rows) if match(pane.shown_event(k)))


def cells(table: DataTable) -> list[str]:
    return [" ".join(c.plain if isinstance(c, Text) else str(c) for c in table.get_row(key)) for key in table.rows]


async def test_the_console_the_stdin_box_the_panes_and_the_status_follow_the_program():
    app = trace_app(sys.executable, program("chatty.py"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "ready" in console_text(app))
        status = app.query_one(TraceStatus)
        # the console's lines and the run's events reach the screen by two paths: a frame may separate them
        await wait_until(pilot, lambda: status.state == "running", what="the run's start on the status line")
        assert status.pid == app.program.process.pid
        box = app.query_one("#message")
        box.focus()
        box.value = "pink roses?"
        await pilot.press("enter")
        # stdout and stderr come through separate pipes: wait for both
        await wait_until(pilot, lambda: "answer:" in console_text(app) and "mine saw" in console_text(app))
        text = console_text(app)
        assert "  ›│ pink roses?" in text  # what was sent, marked
        assert "   │ answer: [bold]roses[/bold] red [/oops]" in text  # literal, escapes stripped
        assert "err│ mine saw the end" in text  # stderr, marked
        await wait_until(pilot, lambda: any("llm_end" in row for row in cells(app.query_one(EventsPane).table)))
        rows = cells(app.query_one(EventsPane).table)
        end = next(row for row in rows if "llm_end" in row)
        assert "ctor:Mine" in end and " c FakeListChatModel ctor:Mine" in end  # scopes, run name, receivers
        models = cells(app.query_one("#trace-models", DataTable))
        assert models[0].startswith("unknown model 1 ")

        await pilot.press("escape")  # out of the message box: the single-letter keys act
        keys = set(app.active_bindings)  # the keys that act now, inherited ones included
        assert not keys & {"1", "2", "m", "c"} and {"r", "s"} <= keys  # memory keys hidden, program keys there
        await pilot.press("s")  # stop: SIGINT
        await wait_until(pilot, lambda: status.state not in ("running", "stopping…"))
        assert status.state in ("killed by SIGINT", "exited 1", "exited 130")
        first = app.session_id
        await pilot.press("r")  # restart: a new run, same session
        await wait_until(pilot, lambda: status.run == 2 and status.state == "running")
        await wait_until(pilot, lambda: console_text(app).count("ready") == 2)
        assert app.session_id == first
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: app.stopped_on_quit is not None, timeout=15)
    events = session_events(first)
    assert [e.kind for e in events if e.kind.startswith("turn_")] == [
        "turn_start", "turn_cancelled", "turn_start", "turn_cancelled"]
    assert "because flowertui quit" in app.stopped_on_quit


async def test_the_detail_view_lists_receivers_and_handler_errors():
    app = trace_app(sys.executable, program("raising.py"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.query_one(TraceStatus).state == "exited 0")
        pane = app.query_one(EventsPane)
        table = pane.table
        key = row_of(pane, lambda e: e.kind == "chain_start"
                     and any(h["name"] == "Bad" for h in e.payload.get("handlers", ())))
        table.focus()
        table.move_cursor(row=table.get_row_index(key))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TraceEventDetail))
        shown = str(app.screen.query_one("#detail-receivers").render())
        assert "Bad (request)" in shown and "handler error: Bad.on_chain_start: ValueError('sync boom')" in shown


async def _detail_of(pilot, app: TraceApp, kind: str) -> str:
    pane = app.query_one(EventsPane)
    key = row_of(pane, lambda e: e.kind == kind)
    pane.table.focus()
    pane.table.move_cursor(row=pane.table.get_row_index(key))
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, TraceEventDetail))
    shown = str(app.screen.query_one("#detail-receivers").render())
    await pilot.press("escape")
    await wait_until(pilot, lambda: not isinstance(app.screen, TraceEventDetail))
    return shown


async def test_an_error_in_on_llm_start_shows_on_the_start_event_only():
    app = trace_app(sys.executable, program("start_raising.py"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.query_one(TraceStatus).state == "exited 0")
        assert "start boom" in await _detail_of(pilot, app, "chat_model_start")  # LangChain's fallback to it
        assert "start boom" not in await _detail_of(pilot, app, "llm_end")


async def test_t_cycles_through_every_flower_theme_in_trace_mode():
    app = trace_app(listen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(app.flower_themes) == 6)  # the other theme files, read after the first frame
        first = app.theme
        await pilot.press("escape", "t")
        assert app.theme != first and app.theme in app.flower_themes


async def test_a_flood_of_output_keeps_the_app_responsive_and_the_console_bounded():
    app = trace_app(sys.executable, program("flood.py"), str(10 * 1024 * 1024))  # floods until told to stop
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(app.query_one(ConsoleView).lines) > 100, what="the flood to start")
        pane = app.query_one(EventsPane)
        status = app.query_one(TraceStatus)
        await pilot.press("escape", "f")  # a key during the flood is handled while it goes on
        await wait_until(pilot, lambda: pane.mode == "no tokens", what="the f key to be handled during the flood")
        assert status.state == "running"  # still flooding: it stops only when told, below
        await send(pilot, "stop")
        await wait_until(pilot, lambda: status.state == "exited 0", timeout=120, what="the flood to end")
        await wait_until(pilot, lambda: "flood done" in console_text(app), what="the last line")
        console = app.query_one(ConsoleView)
        assert len(console.lines) <= 2 * MAX_LINES
        # what the terminal shows, not what the widget would draw afresh; a loaded machine may take a few frames
        await wait_until(pilot, lambda: any(text in app.export_screenshot() for text in ("flood&#160;done", "flood done")),
                         what="the last line on screen")


async def test_help_describes_the_trace_mode_and_lists_its_keys():
    from flowertui.app.screens.help import HelpScreen

    app = trace_app(sys.executable, program("plain.py"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.query_one(TraceStatus).state == "exited 0")
        await pilot.press("escape", "question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = dict(app.key_table())
        assert keys["r"].startswith("restart the program") and keys["s"].startswith("stop the program")
        assert not any(does.startswith("memory kind") for does in keys.values())
        assert "Program console" in app.screen.panes


async def test_listen_shows_a_watched_program_live():
    import asyncio
    import os
    import subprocess
    from pathlib import Path

    import flowertui

    app = TraceApp(Settings(ProviderSettings(speed=0), MemorySettings()), None, listen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.watched is not None)
        assert not app.check_action("restart", ()) and not app.check_action("stop", ())
        env = {**os.environ, "FLOWERTUI_SOURCE": str(Path(flowertui.__file__).parent.parent),
               "DEMO_API_KEY": "demo-secret-value-123"}
        done = await asyncio.to_thread(subprocess.run, [sys.executable, program("watched.py")], env=env,
                                       capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        pane = app.query_one(EventsPane)
        await wait_until(pilot, lambda: any(e.kind == "turn_end" for e in pane.events))
        assert [e.payload["text"] for e in pane.events if e.kind == "llm_end"] == ["watched answer"]
        runs = cells(app.query_one("#trace-runs", DataTable))
        assert runs[0].startswith("RunnableSequence chain 1")


@pytest.mark.xdist_group("traces")
async def test_a_traced_session_replays_in_the_trace_panes(traces):
    from flowertui.session.replay import Replay, load_session

    traced = traces("graph.py")
    data = load_session(traced.doc["session_id"], traced.data / "sessions.sqlite3")
    app = TraceApp(Settings(ProviderSettings(speed=0), MemorySettings()), None, history=data,
                   replay=Replay(time_scale=0))
    async with app.run_test(size=SIZE) as pilot:
        await side_panes(pilot)
        await wait_until(pilot, lambda: len(app.query_one(EventsPane).events) == len(data.events))
        await pilot.pause(0.1)
        runs = cells(app.query_one("#trace-runs", DataTable))
        assert runs[0].startswith("LangGraph graph 1")
        assert app.query_one(TraceStatus).state == "exited 0" and app.query_one("#message").disabled
        assert not app.check_action("restart", ())


async def test_the_console_redacts_the_programs_secrets(monkeypatch):
    monkeypatch.setenv("MY_API_KEY", "supersecretvalue123")
    app = trace_app(sys.executable, program("prints_key.py"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "key:" in console_text(app))
        assert "key: [redacted]" in console_text(app) and "supersecretvalue123" not in console_text(app)


async def test_runs_that_run_at_the_same_time_are_tagged_apart():
    from tests.support.openai_server import OpenAIServer, Reply

    with OpenAIServer(Reply(model="gpt-4o-mini", piece_delay=0.05)) as server:
        app = trace_app(sys.executable, program("gather_three.py"), server.base_url)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.returncode is not None, timeout=60)
            await pilot.pause(0.5)
            rows = [row for row in cells(app.query_one(EventsPane).table) if "llm_end" in row]
    assert len(rows) == 3
    assert sorted(row.split("‖")[1].split()[0] for row in rows) == ["A", "B", "C"]


async def test_a_progress_line_redrawn_across_reads_shows_in_place():
    app = trace_app(sys.executable, program("progress_slow.py"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "after the progress" in console_text(app), what="the line after it")
        lines = [line for line in app.query_one(ConsoleView).lines if "│" in line and "●│" not in line]
        assert lines == ["   │ loaded all 3", "   │ after the progress"]  # each state drawn over the one before
        await wait_until(pilot, lambda: app.returncode is not None, what="the program's end")
    saved = [line for e in session_events(app.session_id) if e.kind == "program_output" for line in e.payload.lines]
    assert saved == [["out", "loaded all 3"], ["out", "after the progress"]]  # the last state only


async def test_a_console_redrawn_from_its_kept_rows_keeps_following_the_output():
    """Past 2 × MAX_LINES the console is cleared and redrawn from the rows it kept; the clear left the view where
    the old rows ended, past the new end, so by Log's test it was no longer "at the end" and stopped following: a
    flood's last lines, and every line after, stayed below the screen (a flood test waited 30 s for "flood done")."""
    from textual.app import App

    from flowertui.app.widgets.console import MAX_LINES, ConsoleView
    from flowertui.trace.program import ConsoleLine

    class Host(App):
        def compose(self):
            yield ConsoleView()

    app = Host()
    async with app.run_test(size=(60, 12)) as pilot:
        console = app.query_one(ConsoleView)
        console.add([ConsoleLine("out", f"line {n}") for n in range(100)])
        await pilot.pause()  # laid out: the view follows by its scroll position from now on
        # The second batch is redrawn from the kept rows; the third comes before any layout, and no redraw follows.
        for batch, lines in enumerate((MAX_LINES, MAX_LINES, MAX_LINES - 10)):
            console.add([ConsoleLine("out", f"line {batch}-{n}") for n in range(lines)])
        await pilot.pause()
        console.add([ConsoleLine("out", "the last line")])
        await pilot.pause()
        assert console.is_vertical_scroll_end
        assert "the last line" in app.export_screenshot().replace("&#160;", " ")
