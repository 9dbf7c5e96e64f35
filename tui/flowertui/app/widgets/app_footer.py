"""The main screen's footer: Textual's, recomposed once for a burst of binding changes."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class AppFooter(Footer):
    """Textual's Footer recomposes (every key a new widget: ≈ 10 ms of CPU) once per change of the screen's bindings,
    and a start makes five in ≈ 80 ms (the focus, the side panes mounting, the keys that fit the width) while
    LangChain is being imported beside it. One recompose, after the last change, shows the same keys.
    """

    _recompose_due = False

    def bindings_changed(self, screen: Screen) -> None:
        """Textual's, but a recompose already due is not asked for again: it reads the bindings when it runs."""
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen and not self._recompose_due:
            self._recompose_due = True
            self.call_after_refresh(self._recompose_once)

    async def _recompose_once(self) -> None:
        self._recompose_due = False
        await self.recompose()
