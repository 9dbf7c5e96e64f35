"""The app `flowertui diff A B` opens: the diff screen alone, in the flower theme in force."""

from __future__ import annotations

from textual.app import App

from flowertui.app import themes
from flowertui.app.screens.diff import DiffScreen
from flowertui.app.state import load_state
from flowertui.session.diff import Diff


class DiffApp(App):
    TITLE = "flowertui diff"

    def __init__(self, diff: Diff, *, theme: str | None = None, config_theme: str | None = None) -> None:
        super().__init__()
        self.diff = diff
        self.unknown_theme = None
        for name in (theme, load_state().get("theme"), config_theme, themes.DEFAULT_THEME):
            found = themes.load_named(name, themes.shipped_themes_dir(), themes.user_themes_dir()) if name else None
            if found is not None:
                self.register_theme(found)
                self.theme = found.name
                break
            if name == theme:
                self.unknown_theme = name

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return themes.default_variables(self.current_theme.dark)

    def on_mount(self) -> None:
        self.push_screen(DiffScreen(self.diff))
        if self.unknown_theme:
            self.notify(f"Unknown theme {self.unknown_theme!r}; using {self.theme}", severity="warning", markup=False)
