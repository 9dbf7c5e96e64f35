"""A lesson example's source beside the program console (`v` in `flowertui lesson N`).

The code is a Rich `Syntax` renderable, never a markup string, so nothing in it
is parsed as markup; it is the file the traced program runs, read once.
"""

from __future__ import annotations

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


class LessonSource(VerticalScroll):
    def __init__(self, source: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source = source

    def compose(self) -> ComposeResult:
        yield Static(Syntax(self.source, "python", line_numbers=True, theme="ansi_dark", background_color="default"),
                     id="source-code")
