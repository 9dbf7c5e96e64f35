"""The message box, with ↑/↓ through what was sent before; the draft being typed comes back past the newest.

Enter sends what the box holds at that key and empties it at once, in order with the keys typed around it. As an
Input binding it would act only once the key had bubbled to the app, behind every key already typed after it:
"a⏎b⏎" typed fast (or ahead of the first frame) would send "ab" twice.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input
from textual.widgets.input import Selection

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
        """Enter sends, here, in order with the keys around it. A key that is the app's (a bound alt+key: keys.py
        binds the memory and theme keys so; help's key in an empty box) carries a character when a terminal reports
        it so (alt+m without the kitty protocol arrives as Escape, `m`): Input types it, then `_give_to_app` takes
        it back and presses the key again without the character, which only the app's bindings answer."""
        if event.key in SEND_KEYS:
            event.stop()
            text, self.value = self.value, ""
            self.post_message(self.Submitted(self, text))
        elif event.is_printable and ((event.key.startswith("alt+") and event.key in self.app.active_bindings)
                                     or (event.key in self.keys_when_empty and not self.value)):
            self.call_next(self._give_to_app, event.key, self.value, self.selection)

    def _give_to_app(self, key: str, value: str, selection: Selection) -> None:
        """Runs right after Input typed the key's character, before any other key reaches the box."""
        self.value, self.selection = value, selection
        self.app.simulate_key(key)

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
