"""The raw tokens of the current reply, boundaries shown by alternating shades, with live rates.

The shown text is kept as Textual `Content` spans whose two styles are made once per theme: a Rich `Text` would
have every span's style looked up and converted again on each frame (≈ a third of the app's CPU while streaming).
A line ended by a newline never changes again, so `TokenText` wraps and renders it once; each frame renders only
the line still growing (a `Static` re-wrapped all the up to 2,400 characters shown on every frame).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content, Span
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual
from textual.widget import Widget
from textual.widgets import Static

from flowertui.engine.events import Event

# Older tokens of a huge reply are counted, not drawn: the pane re-wraps all it shows on every frame, so
# what it shows is capped in characters (a server may send 200-character pieces), not only in pieces.
SHOWN_TOKENS = 4000
SHOWN_CHARS = 1200


class ShadedText:
    """The pane's text as lines: the lines a newline ended, and the line still growing (its pieces and spans).

    Split as `Content.split("\\n")` splits the whole text (a piece's span clipped to each line it covers), so each
    line renders as it would within the whole. A head (the note of earlier tokens) dims every line.
    """

    def __init__(self, head: str = "") -> None:
        self.dim = bool(head)
        self.lines: list[Content] = []
        self._parts: list[str] = []
        self._spans: list[Span] = []
        self._length = 0  # of the growing line
        self.changes = 0  # pieces added: what a widget drew is stale when this moved
        if head:
            self.add(head, None)

    def add(self, piece: str, style: Style | None) -> None:
        start, self._length = self._length, self._length + len(piece)
        self._parts.append(piece)
        if style is not None:
            self._spans.append(Span(start, self._length, style))
        self.changes += 1
        if "\n" in piece:  # the growing line ends: it and any whole lines in the piece are done
            *done, last = self._growing().split("\n", allow_blank=True)
            self.lines.extend(done)
            self._parts, self._spans, self._length = [last.plain], list(last.spans), len(last.plain)

    def _growing(self) -> Content:
        return Content("".join(self._parts), self._spans)

    @property
    def last(self) -> Content:
        """The line still growing, as shown."""
        return self._shown(self._growing())

    def line(self, index: int) -> Content:
        """A line a newline ended, as shown."""
        return self._shown(self.lines[index])

    def _shown(self, line: Content) -> Content:
        return line.stylize_before("dim") if self.dim else line

    @property
    def content(self) -> Content:
        """All of it, as one `Content` (what a selection copies)."""
        return Content("\n").join([*map(self._shown, self.lines), self.last])


class TokenText(Widget):
    """Shows a `ShadedText`: each finished line is measured once per width and rendered once, so a frame costs the
    growing line, not every character shown. Measures and renders as a `Static` of the whole text would, strip for
    strip."""

    DEFAULT_CSS = """
    TokenText {
        height: auto;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = ShadedText()
        # What the strips were made for (text, width and style), the finished lines' strips and how many lines
        # they are, the growing line's strips and the text's `changes` they were made at.
        self._drawn: tuple[tuple, list[Strip], int, list[Strip], int] = ((), [], 0, [], -1)
        # Per width (layout measures with and without the scroll bar): the text, its finished lines' height, and
        # how many lines that is.
        self._heights: dict[int, tuple[ShadedText, int, int]] = {}

    def show(self, text: ShadedText) -> None:
        """A layout of the whole screen costs more than the text's own drawing: asked for only when the text takes
        another number of lines."""
        self.text = text
        self.clear_cached_dimensions()
        width, height = self.content_size
        taller = self.get_content_height(None, None, width) if width else 0
        self._show_scroll_bar(taller)
        self.refresh(layout=not width or taller != height)

    def _show_scroll_bar(self, height: int) -> None:
        """The scroll bar a text now too tall for its pane needs, before the layout rather than after it.

        Textual adds it once a layout has found the text too tall: that frame renders the text at the width
        without it, the next at the width with it (every line wrapped and rendered twice, each long reply, as
        the pane starts each reply empty). Taller than the pane at this width, it is taller at the narrower one:
        the bar Textual would add then, and keep."""
        scroll = self.parent
        if (isinstance(scroll, VerticalScroll) and not scroll.show_vertical_scrollbar
                and scroll.styles.overflow_y == "auto" and scroll.container_size.height
                and height + self.styles.gutter.height + self.styles.margin.height > scroll.container_size.height):
            scroll.show_vertical_scrollbar = True
            scroll.vertical_scrollbar.display = True

    def render(self) -> Content:
        return self.text.content

    def get_content_height(self, container, viewport, width: int) -> int:
        """As a `Static` of the whole text measures it: the lines' wrapped heights (their spans do not count)."""
        if not width:
            return 0
        text = self.text
        made, height, lines = self._heights.get(width, (None, 0, 0))
        if made is not text:
            if len(self._heights) > 3:  # the widths of an earlier size
                self._heights.clear()
            height, lines = 0, 0
        for index in range(lines, len(text.lines)):
            height += text.lines[index].get_height(self.styles, width)
        self._heights[width] = (text, height, len(text.lines))
        return height + text.last.get_height(self.styles, width)

    def _strips(self, width: int) -> tuple[list[Strip], list[Strip]]:
        text, style = self.text, self.visual_style
        made, done, lines, last, changes = self._drawn
        if made != (text, width, style):
            made, done, lines, changes = (text, width, style), [], 0, -1
        if changes != text.changes:  # the lines finished since, and the growing line, rendered together
            fresh = [text.line(index) for index in range(lines, len(text.lines))]
            strips = self._render_lines(lines, [*fresh, text.last], width, style)
            growing = len(strips) - text.last.get_height(self.styles, width)
            done.extend(strips[:growing])
            lines, last, changes = len(text.lines), strips[growing:], text.changes
            self._drawn = (made, done, lines, last, changes)
        return done, last

    def _render_lines(self, y: int, lines: list[Content], width: int, style) -> list[Strip]:
        """The lines' strips as the whole text's would be, the first being line y: rendered after y empty lines,
        which give each piece the offset (x, y) a selection reads (≈ 50 µs an empty line, once a frame)."""
        return Visual.to_strips(self, Content("\n" * y) + Content("\n").join(lines), width, None, style)[y:]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self.text_selection is not None:  # while text is selected: the whole text, as a Static draws it
            strips = Visual.to_strips(self, self.text.content, width, None, self.visual_style)
            return strips[y] if y < len(strips) else Strip.blank(width, self.visual_style.rich_style)
        done, last = self._strips(width)
        if y < len(done):
            return done[y]
        if y - len(done) < len(last):
            return last[y - len(done)]
        return Strip.blank(width, self.visual_style.rich_style)


class TokenStream(Vertical):
    """Follows the active memory's main reply; memory upkeep streams are not mixed in."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._reset("no reply yet")

    def compose(self) -> ComposeResult:
        yield Static(id="token-stats")
        with VerticalScroll(id="token-scroll"):
            yield TokenText(id="token-text")

    def on_mount(self) -> None:
        if not self.query(TokenText):  # the app closed as the pane was mounting (base.py): its children are not all in
            return
        self._make_shades()
        self.query_one("#token-scroll").anchor()
        self._draw()

    def add(self, events: list[Event]) -> None:
        changed = False
        for event in events:
            changed |= self._take(event)
        if changed:
            self._draw()

    def _take(self, event: Event) -> bool:
        if event.maintenance:
            return False
        if event.kind == "turn_start":
            self._reset("waiting for first token")
        elif event.counted_token and self.state in ("waiting for first token", "streaming"):
            if self.first is None:
                self.first, self.ttft = event.mono, event.since_run_start
                self.state = "streaming"
            self.last = event.mono
            self.tokens.append(event.payload.token)
            self._shade(len(self.tokens) - 1)
            if len(self.tokens) - self._hidden > 2 * SHOWN_TOKENS or self._length > 2 * SHOWN_CHARS:
                self.reshade()
        elif event.kind == "llm_end":
            usage = event.payload.usage
            self.reported = usage.output_tokens if usage else None
            self.state = "done" if usage else "done · usage missing"
        elif event.kind in ("turn_error", "turn_cancelled"):
            self.state = "failed" if event.kind == "turn_error" else "cancelled"
        else:
            return False
        return True

    @property
    def rate(self) -> float | None:
        if self.first is None or self.last is None or self.last <= self.first or len(self.tokens) < 2:
            return None
        return (len(self.tokens) - 1) / (self.last - self.first)

    def _draw(self) -> None:
        stats = Text.assemble(
            ("TTFT ", "dim"), f"{self.ttft * 1000:.0f} ms" if self.ttft is not None else "—",
            (" · ", "dim"), f"{self.rate:.0f}" if self.rate else "—", (" tok/s · ", "dim"),
            str(len(self.tokens)), (" pieces · ", "dim"),
            str(self.reported) if self.reported is not None else "—", (" tokens · ", "dim"),
            (self.state, "italic"),
            no_wrap=True, overflow="ellipsis",
        )
        self.query_one("#token-stats", Static).update(stats, layout=False)  # one line (app.tcss)
        self.query_one(TokenText).show(self._text)

    def _shade(self, index: int) -> None:
        """Append one token on the shade its position gives it."""
        piece = self.tokens[index].replace("\n", "↵\n")
        self._length += len(piece)
        self._text.add(piece, self._shades[index % 2])

    def _make_shades(self) -> None:
        """The two shades' styles, from the theme in force (as a Rich `on COLOUR` style converts to)."""
        app = self.app
        self._shades = tuple(Style.from_rich_style(app.console.get_style(
            f"on {app.theme_variables.get(name, 'grey23')}"), app.ansi_theme) for name in ("ft-token-a", "ft-token-b"))

    def reshade(self) -> None:
        """Rebuild the shaded text (theme change, or trimming a huge reply to its last tokens)."""
        self._make_shades()
        self._hidden, chars = len(self.tokens), 0
        while self._hidden > self._cleared and len(self.tokens) - self._hidden < SHOWN_TOKENS and chars < SHOWN_CHARS:
            self._hidden -= 1
            chars += len(self.tokens[self._hidden])
        earlier = self._hidden - self._cleared
        self._start_text(f"… {earlier} earlier tokens\n" if earlier else "")
        for index in range(self._hidden, len(self.tokens)):
            self._shade(index)
        if self.is_mounted:
            self._draw()

    def _start_text(self, head: str = "") -> None:
        """What the pane shows: the shaded pieces, under a dim note of the earlier ones when a huge reply is cut."""
        self._text, self._length = ShadedText(head), len(head)

    def _reset(self, state: str) -> None:
        self.tokens: list[str] = []
        self.first = self.last = self.ttft = None
        self.reported: int | None = None
        self._start_text()
        self._hidden = 0
        self._cleared = 0  # tokens of this reply cleared from the pane (still counted)
        self.state = state

    def clear(self) -> None:
        """Clear the pane; a reply still streaming goes on being shown and counted from where it is."""
        if self.state in ("waiting for first token", "streaming"):
            self._cleared = self._hidden = len(self.tokens)
            self._start_text()
        else:
            self._reset("cleared")
        self._draw()
