"""The export dialog and the screens over the main one: only the message box starts a turn, files go to a
folder that exists, an existing file is replaced only when confirmed, and the disk work is off the event loop."""

from __future__ import annotations

import sqlite3
import threading

from textual.widgets import Footer

from flowertui.app.screens.export_dialog import ExportDialog
from flowertui.app.screens.help import HelpScreen
from flowertui.app.widgets.events_pane import EventsPane
from flowertui.paths import data_dir
from flowertui.session.export import read_jsonl
from tests.support.pilot import SIZE, make_app, ready, say, settle, wait_until
from tests.support.rigs import LESSON


def _documents(monkeypatch, folder) -> None:
    monkeypatch.setattr("flowertui.paths.platformdirs.user_documents_dir", lambda: str(folder))


async def _open_dialog(pilot) -> ExportDialog:
    await pilot.press("escape")
    await pilot.press("e")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportDialog))
    await pilot.pause(0.1)
    return pilot.app.screen


def _turn_starts(app) -> int:
    return sum(e.kind == "turn_start" for e in app.query_one(EventsPane).events)


async def test_enter_in_the_export_dialog_exports_and_sends_nothing_to_the_model(tmp_path, monkeypatch):
    docs = tmp_path / "Documents"
    docs.mkdir()
    _documents(monkeypatch, docs)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        dialog = await _open_dialog(pilot)
        path = dialog.query_one("#export-path").value
        assert path == str(docs / f"flowertui-{app.live.bus.session_id}.jsonl")  # shown, in the documents folder
        assert app.focused.id == "export-path"  # it opens on the path: `e` Enter exports
        await pilot.press("enter")
        await wait_until(pilot, lambda: (docs / path).exists())
        await settle(pilot)
        assert not isinstance(app.screen, ExportDialog)
        assert _turn_starts(app) == 1 and len(app.live.conversation.transcript) == 1
        assert app.query_one("#message").value == ""


async def test_without_a_documents_folder_the_dialog_offers_the_data_folder(tmp_path, monkeypatch):
    _documents(monkeypatch, tmp_path / "missing")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        dialog = await _open_dialog(pilot)
        offered = dialog.query_one("#export-path").value
        assert offered.startswith(str(data_dir()))


async def test_an_existing_file_is_replaced_only_after_a_second_enter(tmp_path, monkeypatch):
    _documents(monkeypatch, tmp_path)
    target = tmp_path / "out.jsonl"
    target.write_text("keep me", "utf-8")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        dialog = await _open_dialog(pilot)
        box = dialog.query_one("#export-path")
        box.value = str(target)
        box.focus()
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.screen is dialog and target.read_text("utf-8") == "keep me"
        assert "exists" in str(dialog.query_one("#export-warning").render())
        assert str(dialog.query_one("#export-go").label) == "Overwrite"
        await pilot.press("enter")
        await wait_until(pilot, lambda: target.read_text("utf-8") != "keep me")
        assert [e.seq for e in read_jsonl(target).events] == [e.seq for e in app.query_one(EventsPane).events]
        assert _turn_starts(app) == 1


async def test_the_export_reads_and_writes_in_a_worker_thread(tmp_path, monkeypatch):
    threads: list[str] = []
    from flowertui.session import export as export_module

    real_export = export_module.export

    def spying_export(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real_export(*args, **kwargs)

    monkeypatch.setattr(export_module, "export", spying_export)
    _documents(monkeypatch, tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        await _open_dialog(pilot)
        await pilot.click("#export-go")
        await wait_until(pilot, lambda: threads)
        assert threads[0] != threading.main_thread().name


async def test_after_the_database_fails_mid_session_the_export_still_holds_every_event(tmp_path, monkeypatch):
    _documents(monkeypatch, tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])

        def full_disk(event):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(app.writer, "_record", full_disk)
        await say(pilot, LESSON[1])
        await wait_until(pilot, lambda: app.writer.error is not None)
        dialog = await _open_dialog(pilot)
        path = tmp_path / dialog.query_one("#export-path").value
        await pilot.click("#export-go")
        await wait_until(pilot, lambda: path.exists())
        events = read_jsonl(path).events
        assert [e.seq for e in events] == [e.seq for e in app.query_one(EventsPane).events]
        assert [e.kind for e in events].count("turn_end") == 2
        assert app.recorded[0].seq > 1  # what the database held before it failed is read back, not kept twice
        problems = [str(n.render()) for n in app.query(".problem")]
        assert any("disk is full" in text for text in problems)  # the store's failure stays in the conversation


async def test_a_dialog_shows_its_own_keys_in_the_footer_not_the_main_screens():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("escape", "question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause(0.2)
        footer = app.screen.query_one(Footer)
        shown = {key.action for key in footer.query("FooterKey")}
        assert "dismiss" in shown
        assert not shown & {"export", "compare", "memory('buffer')", "clear"}
        region = footer.region
        assert region.bottom == SIZE[1] and region.width == SIZE[0]  # it covers the main screen's footer
