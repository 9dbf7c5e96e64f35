"""A traced program's console: its stdout and stderr interleaved, and the lines sent to its stdin.

A `Log` never parses markup; the lines arrive with escape sequences already
stripped. It holds between MAX_LINES and twice that: past that it is redrawn
from the last MAX_LINES (Log's own max_lines pruning leaves stale lines on
screen in a flood), so a flood of output stays bounded in memory and on screen.
Each line has a gutter saying where it came from.
"""

from __future__ import annotations

from collections import deque

from textual.widgets import Log

from flowertui.trace.program import ConsoleLine

MAX_LINES = 5_000
GUTTER = {"out": "   │ ", "err": "err│ ", "in": "  ›│ "}
CONTINUED = "   ┆ "  # the gutter of a long line's continuation
MIN_WIDTH, FALLBACK_WIDTH = 20, 100


class ConsoleView(Log):
    def __init__(self, **kwargs) -> None:
        super().__init__(highlight=False, **kwargs)
        self._kept: deque[str] = deque(maxlen=MAX_LINES)
        self._partial: tuple[str, int] | None = None  # the stream and rows of a partial line, while it is last

    def add(self, lines: list[ConsoleLine], skipped: int = 0) -> None:
        width = max(MIN_WIDTH, (self.scrollable_content_region.width or FALLBACK_WIDTH) - len(CONTINUED) - 1)
        shown: list[str] = []
        if skipped:
            shown.append(f"   │ … {skipped} lines not shown: the program wrote faster than the screen draws")
            self._partial = None
        for line in lines:  # long lines wrap at the pane's width, continued under a dotted gutter
            gutter, text = GUTTER[line.stream], line.text
            rows = [gutter + text[:width], *(CONTINUED + text[start:start + width]
                                            for start in range(width, len(text), width))]
            if line.redraw and self._partial is not None and self._partial[0] == line.stream:
                drop = self._partial[1]  # the progress line's last state goes where its earlier one was
                from_batch = min(drop, len(shown))
                del shown[len(shown) - from_batch:]
                self._drop_rows(drop - from_batch)
            shown.extend(rows)
            self._partial = (line.stream, len(rows)) if line.partial else None
        partial, self._partial = self._partial, None
        self._write(shown)
        self._partial = partial

    def note(self, text: str) -> None:
        """A line from flowertui itself (a run started, ended, stopped)."""
        self._write([f"  ●│ {text}"])

    def _drop_rows(self, count: int) -> None:
        """Take the last `count` rows off the screen (a partial line about to be drawn again)."""
        count = min(count, len(self._lines), len(self._kept))
        if count <= 0:
            return
        del self._lines[-count:]
        for _ in range(count):
            self._kept.pop()
        for y in range(len(self._lines), len(self._lines) + count):
            self._render_line_cache.discard(y)
        self.refresh()

    def _write(self, shown: list[str]) -> None:
        self._partial = None  # anything written after a partial line ends it as it stands
        if not shown:
            return
        self._kept.extend(shown)
        if self.line_count + len(shown) > 2 * MAX_LINES:
            following = self.is_vertical_scroll_end
            super().clear()
            if following:  # the view was where the old rows ended, past the new end: Log would stop following
                self.set_scroll(None, 0)
            self.write_lines(list(self._kept))
        else:
            self.write_lines(shown)

    def clear(self) -> ConsoleView:
        """Empty the console (ctrl+l): what was kept for a redraw goes too."""
        self._kept.clear()
        self._partial = None
        return super().clear()
