"""The paths that used to freeze the UI keep showing the same things, only faster (speed itself: bench/)."""

from __future__ import annotations

import re
import threading
from dataclasses import replace

from textual.content import Content, Span
from textual.visual import Visual
from textual.widgets import Markdown, Static

import flowertui.app.app as app_module
from flowertui.app import heap
import flowertui.engine.shop_model as shop_model
from flowertui.app.widgets.conversation import LONG_BLOCK, TAIL_CHARS, AssistantTurn
from flowertui.app.widgets.events_pane import SHOWN_ROWS, EventsPane
from flowertui.app.widgets.token_stream import SHOWN_CHARS, TokenStream, TokenText
from flowertui.engine.providers import ProviderSettings
from flowertui.session.store import SessionStore
from tests.support.pilot import SIZE, make_app, ready, say, send, wait_until
from tests.support.rigs import LESSON


def tail(turn: AssistantTurn) -> Static:
    """The plain-text tail a long paragraph streams into."""
    return turn.query_one(".turn-tail", Static)


def selected_key(pane: EventsPane) -> str:
    table = pane.table
    return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)


async def test_k_keeps_the_selected_event_selected():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        pane = app.query_one(EventsPane)
        keys = [str(k.value) for k in pane.table.rows]
        start = next(i for i, k in enumerate(keys) if pane.shown_event(k).kind == "chat_model_start")
        pane.table.focus()
        pane.table.move_cursor(row=start)
        chosen = selected_key(pane)
        await pilot.press("k")
        assert pane.every_token and selected_key(pane) == chosen
        await pilot.press("k")
        assert selected_key(pane) == chosen
        folded = next(i for i, k in enumerate(keys) if k.startswith("tokens:"))
        pane.table.move_cursor(row=folded)
        last_token = pane.shown_event(selected_key(pane))
        await pilot.press("k")  # the folded row opens on its last token
        assert selected_key(pane) == f"event:{last_token.seq}"
        await pilot.press("k")
        assert selected_key(pane) == keys[folded]


async def test_k_on_a_long_reply_shows_the_last_rows_as_they_streamed(monkeypatch):
    text = "rose " * 1200
    monkeypatch.setattr(shop_model, "reply_for", lambda prompt: text)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        pane = app.query_one(EventsPane)
        streamed = [str(k.value) for k in pane.table.rows]
        assert SHOWN_ROWS < len(pane.events) < pane.events.maxlen
        await pilot.press("escape", "k")
        every = [str(k.value) for k in pane.table.rows]
        assert len(every) == SHOWN_ROWS and every[-1] == streamed[-1]
        tokens = [e for e in pane.events if e.kind == "llm_new_token"]
        assert f"event:{tokens[-1].seq}" in every
        await pilot.press("k")
        assert [str(k.value) for k in pane.table.rows] == streamed
        assert pane.table.cursor_row == pane.table.row_count - 1  # still following the newest event


async def test_a_reply_of_long_pieces_keeps_the_token_pane_small_and_counts_every_piece(monkeypatch):
    piece = "花" * 50 + "rose " * 30
    monkeypatch.setattr(shop_model, "reply_for", lambda prompt: piece * 200)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        stream = app.query_one(TokenStream)
        assert "".join(stream.tokens) == piece * 200
        shown = str(stream.query_one("#token-text").render())
        assert len(shown) <= 2 * SHOWN_CHARS + len(piece) + 40
        hidden = re.match(r"… (\d+) earlier tokens\n", shown)
        assert hidden and shown[hidden.end():].replace("↵\n", "\n") == "".join(stream.tokens[int(hidden[1]):])


def as_one_static(stream: TokenStream) -> Content:
    """The pane's text as it was shown before lines were drawn one by one: one `Content` in a `Static`."""
    head = f"… {stream._hidden} earlier tokens\n" if stream._hidden else ""
    text, spans = head, []
    for index in range(stream._hidden, len(stream.tokens)):
        piece = stream.tokens[index].replace("\n", "↵\n")
        spans.append(Span(len(text), len(text) + len(piece), stream._shades[index % 2]))
        text += piece
    content = Content(text, spans)
    return content.stylize_before("dim") if head else content


async def test_the_token_pane_draws_every_line_as_one_static_of_the_whole_text_would(monkeypatch):
    """Each line is rendered once, the growing one on every frame: the strips are those of the whole text."""
    reply = ("# 玫瑰\n\n粉色玫瑰象征感恩与温柔，适合送给姐姐作为生日礼物。Sunflowers last about a week.\n"
             "- a list item\n\n\n" + "roses " * 40 + "\n" + "花" * 90 + "\nend")
    for size, text in (((160, 48), reply), ((160, 48), reply * 12), ((80, 24), reply)):
        monkeypatch.setattr(shop_model, "reply_for", lambda prompt, text=text: text)
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            if size[0] < 120:
                await pilot.press("escape", "p")  # the token pane's tab
            await say(pilot, LESSON[0])
            stream = app.query_one(TokenStream)
            widget = stream.query_one(TokenText)
            assert bool(stream._hidden) == (text != reply)  # a long reply is cut to its last tokens
            for _ in range(2):  # as streamed, then in the next theme's shades
                whole = as_one_static(stream)
                assert str(widget.render()) == str(whole)
                expected = Visual.to_strips(widget, whole, widget.size.width, None, widget.visual_style)
                assert widget.size.height == len(expected) > 10
                assert [widget.render_line(y) for y in range(len(expected))] == expected
                app.action_next_theme()
                await pilot.pause(0.1)


async def test_a_folded_token_row_changes_without_the_other_rows_being_rendered_again():
    """A token folded into its run's row redraws that row only; the table then shows what a full redraw shows."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        pane = app.query_one(EventsPane)
        table = pane.table
        token = [e for e in pane.events if e.kind == "llm_new_token"][-1]
        folded = f"tokens:{token.run_id}"
        others = {str(k.value) for k in table.rows} - {folded}

        def rendered_others() -> set:
            return {k for k in table._row_render_cache.keys() if str(k[0].value) in others}

        before = rendered_others()
        assert before  # the other rows were rendered and cached
        count = pane._rows[folded].count
        pane.add([replace(token, seq=token.seq + 10_000)])
        await pilot.pause(0.1)
        assert rendered_others() == before  # none of them rendered again
        lines = [table.render_line(y) for y in range(table.size.height)]
        assert f"llm_new_token ×{count + 1:,}" in "".join(line.text for line in lines)
        table.update_cell(folded, "payload", table.get_cell(folded, "payload"))  # Textual's way: every row again
        await pilot.pause(0.1)
        assert [table.render_line(y) for y in range(table.size.height)] == lines


async def test_an_event_row_added_is_rendered_alone_and_the_table_shows_what_a_full_redraw_shows(monkeypatch):
    """A new row at the end (most events that are not tokens) leaves the other rows' renders as they were: only it
    and the row the cursor left are rendered (Textual's add_row renders every visible row again)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await say(pilot, LESSON[0])
        pane = app.query_one(EventsPane)
        table = pane.table
        rows = table.row_count
        assert table.cursor_row == rows - 1 and rows > 5
        rendered = []
        renderables = table._get_row_renderables
        monkeypatch.setattr(table, "_get_row_renderables", lambda index: rendered.append(index) or renderables(index))
        event = [e for e in pane.events if e.kind == "turn_end"][-1]
        pane.add([replace(event, seq=event.seq + 10_000)])
        await pilot.pause(0.1)
        assert table.row_count == rows + 1 and table.cursor_row == rows
        assert set(rendered) == {rows - 1, rows}  # the row the cursor left, and the new one
        lines = [table.render_line(y) for y in range(table.size.height)]
        table.update_cell(f"event:{event.seq + 10_000}", "payload", table.get_cell(f"event:{event.seq + 10_000}",
                                                                                  "payload"))  # every row again
        await pilot.pause(0.1)
        assert [table.render_line(y) for y in range(table.size.height)] == lines


async def new_turn(pilot) -> AssistantTurn:
    """A reply's turn, mounted in the conversation of an app that is ready to send."""
    await ready(pilot)
    turn = AssistantTurn(1)
    await pilot.app.query_one("#conversation").mount(turn)
    return turn


async def test_a_long_paragraph_streams_as_a_plain_tail_then_shows_whole():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        turn = await new_turn(pilot)
        await turn.write("# Roses\n\nShort first block.\n\n")
        assert not tail(turn).display
        long_block = "pink roses " * 600
        for start in range(0, len(long_block), 100):
            await turn.write(long_block[start:start + 100])
        assert tail(turn).display and len(str(tail(turn).render())) <= TAIL_CHARS + 2
        assert len(turn.query_one(Markdown).source) <= len("# Roses\n\nShort first block.\n\n") + LONG_BLOCK + 100 < len(turn.text)
        await turn.write("\n\nAfter.")
        assert not tail(turn).display and turn.text.endswith("After.")
        await turn.finish(turn.text)
        await wait_until(pilot, lambda: not tail(turn).display)
        assert not tail(turn).display and turn.text == "# Roses\n\nShort first block.\n\n" + long_block + "\n\nAfter."
        paragraphs = [str(p.render()) for p in turn.query("MarkdownParagraph")]
        assert paragraphs[-2].strip() == long_block.strip() and paragraphs[-1] == "After."


async def test_a_cancelled_long_block_is_shown_whole_once_the_turn_ends():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        turn = await new_turn(pilot)
        long_block = "pink roses " * 600
        for start in range(0, len(long_block), 100):
            await turn.write(long_block[start:start + 100])
        assert tail(turn).display
        await turn.finish(long_block, "cancelled")
        assert str(turn.query_one(".turn-note", Static).render()) == "cancelled"  # said before the long block is drawn
        await wait_until(pilot, lambda: not tail(turn).display)
        assert not tail(turn).display
        assert [str(p.render()).strip() for p in turn.query("MarkdownParagraph")] == [long_block.strip()]


async def test_a_reply_that_is_one_long_block_ending_in_the_batch_it_began_leaves_the_app_running():
    # the Markdown stream is made by the first piece and stopped by the turn's end in the same batch, before its
    # task first ran: Textual's MarkdownStream.stop then raised CancelledError into the app's message loop, which
    # ended the app silently mid-session (seen as a 30 s hang of a test with a long one-paragraph reply)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        turn = await new_turn(pilot)
        long_block = "pink roses " * 600
        await turn.write(long_block)
        await turn.finish(long_block)
        await wait_until(pilot, lambda: not tail(turn).display)
        assert [str(p.render()).strip() for p in turn.query("MarkdownParagraph")] == [long_block.strip()]
        assert app.is_running


async def test_quitting_during_a_reply_cancels_it_so_nothing_keeps_the_process_alive(monkeypatch):
    monkeypatch.setattr(shop_model, "reply_for", lambda prompt: "rose " * 4000)  # minutes at 20 tokens/s
    monkeypatch.setattr(app_module, "QUIT_WAIT", 30.0)  # the order is under test here, not the quit's time budget
    app = make_app(ProviderSettings(speed=20))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        before = set(threading.enumerate())
        await send(pilot, LESSON[0])
        await wait_until(pilot, lambda: app.query(AssistantTurn) and app.query_one(AssistantTurn).text,
                         what="the reply to start streaming")
        turn_threads = [t for t in set(threading.enumerate()) - before if t.name.startswith("flowertui-turn-")]
        assert app.turn_running and turn_threads
        await pilot.press("ctrl+q")
    for thread in turn_threads:  # the abandoned model call stops at its next token
        thread.join(timeout=30)
        assert not thread.is_alive(), f"{thread.name} still running 30 s after quitting"
    store = SessionStore(app.writer.path)  # the cancelled turn is recorded before the writer closes
    try:
        assert [status for *_, status in store.turns(app.live.bus.session_id)] == ["cancelled"]
    finally:
        store.close()


async def test_what_lives_as_long_as_the_app_is_frozen_once_the_engine_is_ready_and_released_at_exit():
    """The collector's full passes skip the start-up heap (LangChain, Textual, the panes) and young objects are
    collected less often while the app runs; once it ends, the collector is as it was."""
    import gc

    before = gc.get_threshold()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert gc.get_freeze_count() > 50_000
        assert gc.get_threshold() == (heap.YOUNG, *before[1:])
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


async def test_a_quit_before_the_engine_is_ready_leaves_the_collector_as_it_was(slow_engine):
    """The engine's worker holds the heap once its engine is ready; a quit before that released it first, and the
    worker, finishing after the app had closed, froze the heap and raised the threshold for the rest of the process."""
    import asyncio
    import gc

    before = gc.get_threshold()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
    slow_engine.set()  # the engine is built only now, the app closed
    for _ in range(100):
        await asyncio.sleep(0.05)
        if not any(worker.is_running for worker in app.workers):
            break
    await asyncio.sleep(0.1)
    assert (gc.get_freeze_count(), gc.get_threshold()) == (0, before)


async def test_a_long_reply_in_the_token_pane_is_rendered_at_the_width_beside_its_scroll_bar_only(monkeypatch):
    """The pane starts each reply empty; once the text is too tall for it, the scroll bar comes with the same layout,
    so a text too tall is never wrapped and rendered at the width without it first (as Textual's later bar did).
    While the text still fits (a first batch of a few lines, on a loaded machine) it is drawn at the full width."""
    monkeypatch.setattr(shop_model, "reply_for", lambda prompt: "粉色玫瑰象征感恩与温柔。Sunflowers last a week.\n" * 40)
    widths = []
    render_lines = TokenText._render_lines

    def spied(widget, y, lines, width, style):
        tall = widget.size.height > widget.parent.container_size.height
        widths.append((len(lines), width, widget.parent.show_vertical_scrollbar, tall))
        return render_lines(widget, y, lines, width, style)

    monkeypatch.setattr(TokenText, "_render_lines", spied)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        widths.clear()
        await say(pilot, LESSON[0])
        scroll = app.query_one("#token-scroll")
        assert scroll.show_vertical_scrollbar
        full = app.query_one(TokenText).size.width
        assert full == scroll.size.width - scroll.styles.scrollbar_size_vertical
        assert [width for _, width, _, tall in widths if tall] and all(
            width == full for _, width, _, tall in widths if tall), widths


async def test_the_status_line_changes_without_asking_for_a_layout_of_the_screen(monkeypatch):
    """It is one line whatever it says: a turn's states (and the spinner) repaint it alone."""
    from flowertui.app.widgets.status import StatusLine

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        status = app.query_one(StatusLine)
        layouts = []
        refresh = status.refresh
        monkeypatch.setattr(status, "refresh", lambda *a, layout=False, **k: layouts.append(layout)
                            or refresh(*a, layout=layout, **k))
        await say(pilot, LESSON[0])
        assert layouts and not any(layouts)
        assert "● idle" in str(status.render()) and status.size.height == 1
