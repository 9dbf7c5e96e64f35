"""The message box, with ↑/↓ through what was sent before; the draft being typed comes back past the newest.

Enter sends what the box holds at that key and empties it at once, in order with the keys typed around it. As an
Input binding it would act only once the key had bubbled to the app, behind every key already typed after it:
"a⏎b⏎" typed fast (or ahead of the first frame) would send "ab" twice.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

SEND_KEYS = ("enter", "ctrl+j")  # Enter typed while the terminal is still in line mode arrives as a line feed


class HistoryInput(Input):
    def __init__(self, **kwargs) -> None:
        super().__init__(select_on_focus=False, **kwargs)  # a key typed elsewhere must not be selected away
        self.history: list[str] = []
        self._cursor = 0
        self._draft = ""  # what was in the box when ↑ first left it
        self.keys_when_empty: set[str] = set()  # keys that are the app's while the box is empty (help's `?`)

    def remember(self, text: str) -> None:
        if not self.history or self.history[-1] != text:
            self.history.append(text)
        self._cursor = len(self.history)
        self._draft = ""

    async def _on_key(self, event: events.Key) -> None:
        """An alt+key is a command's (keys.py binds the memory and theme keys so), never text: it goes to the app."""
        if event.key.startswith("alt+") or (event.key in self.keys_when_empty and not self.value):
            event.prevent_default()  # not Input's handler: the event bubbles on to the app's bindings
        elif event.key in SEND_KEYS:
            event.stop()
            event.prevent_default()
            text, self.value = self.value, ""
            self.post_message(self.Submitted(self, text))

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Help's key stays in the footer: in an empty box it is help's, once something is typed it is text
        (`_on_key` decides; the footer is not redrawn each time the box empties, which would cost a recompose)."""
        return key not in self.keys_when_empty and super().check_consume_key(key, character)

    def give_back(self, text: str) -> None:
        """A message the app could not take yet returns to the box, unless something new was typed since."""
        if not self.value:
            self.value = text
            self.cursor_position = len(text)

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
