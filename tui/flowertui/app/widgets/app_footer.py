"""The main screen's footer: Textual's, mounted with the side panes (the first frame has an empty row in its
place), recomposed once for a burst of binding changes."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class AppFooter(Footer):
    """Textual's Footer recomposes (every key a new widget, restyled one by one: ≈ 10 ms of CPU) once per change of
    the screen's bindings, and a start makes five while LangChain is being imported beside it (the focus, the width's
    keys, the side panes mounting). Until `release()` (the side panes are mounted) it only notes that they changed;
    after, a recompose already due is not asked for again: it reads the bindings in force when it runs.
    It overrides Textual 8's `Footer.bindings_changed` and sets its private `_bindings_ready` as that does;
    tests/app/test_start_order.py fails if the footer then stops showing or following the keys.
    """

    _held = True
    _changed = False
    _recompose_due = False

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True  # as Textual's: compose shows the bindings from now on
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._changed = True
            self._recompose()

    def release(self) -> None:
        """The start is over: show the keys in force (the footer is mounted with the side panes, after the screen's
        first bindings were given)."""
        self._held = False
        self._bindings_ready = self._changed = True
        self.call_later(self._recompose)  # from the footer's own loop: its compose binds to the footer's reactives

    def _recompose(self) -> None:
        if not self._held and self._changed and not self._recompose_due:
            self._recompose_due = True
            self.call_after_refresh(self._recompose_once)

    async def _recompose_once(self) -> None:
        self._recompose_due = self._changed = False
        await self.recompose()
