"""The message box, with ↑/↓ through what was sent before; the draft being typed comes back past the newest."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widgets import Input


class HistoryInput(Input):
    # Enter typed while the app starts, before the terminal leaves line mode, arrives as a line feed (ctrl+j).
    BINDINGS = [Binding("ctrl+j", "submit", "send", show=False)]

    def __init__(self, **kwargs) -> None:
        super().__init__(select_on_focus=False, **kwargs)  # a key typed elsewhere must not be selected away
        self.history: list[str] = []
        self._cursor = 0
        self._draft = ""  # what was in the box when ↑ first left it

    def remember(self, text: str) -> None:
        if not self.history or self.history[-1] != text:
            self.history.append(text)
        self._cursor = len(self.history)
        self._draft = ""

    async def _on_key(self, event: events.Key) -> None:
        """An alt+key is a command's (keys.py binds the memory and theme keys so), never text: it goes to the app."""
        if event.key.startswith("alt+"):
            event.prevent_default()  # not Input's handler: the event bubbles on to the app's bindings

    def key_up(self) -> None:
        if self._cursor > 0:
            if self._cursor == len(self.history):
                self._draft = self.value
            self._cursor -= 1
            self._show()

    def key_down(self) -> None:
        if self._cursor < len(self.history):
            self._cursor += 1
            self._show()

    def _show(self) -> None:
        self.value = self.history[self._cursor] if self._cursor < len(self.history) else self._draft
        self.cursor_position = len(self.value)
