"""A traced program's console: its stdout and stderr interleaved, and the lines sent to its stdin.

A `Log` never parses markup; the lines arrive with escape sequences already
stripped, and it keeps at most MAX_LINES, so a flood of output stays bounded.
Each line has a gutter saying where it came from.
"""

from __future__ import annotations

from textual.widgets import Log

from flowertui.trace.program import ConsoleLine

MAX_LINES = 5_000
GUTTER = {"out": "   │ ", "err": "err│ ", "in": "  ›│ "}


class ConsoleView(Log):
    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=MAX_LINES, highlight=False, **kwargs)

    def add(self, lines: list[ConsoleLine], skipped: int = 0) -> None:
        shown = [GUTTER[line.stream] + line.text for line in lines]
        if skipped:
            shown.insert(0, f"   │ … {skipped} lines not shown: the program wrote faster than the screen draws")
        if shown:
            self.write_lines(shown)

    def note(self, text: str) -> None:
        """A line from flowertui itself (a run started, ended, stopped)."""
        self.write_line(f"  ●│ {text}")
