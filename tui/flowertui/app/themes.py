"""Flower themes: TOML files turned into Textual themes, checked so one bad file never stops the app.

Shipped themes live in the package; user themes in the config folder override them by name.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from flowertui.engine.kinds import KINDS
from flowertui.paths import config_dir

DEFAULT_THEME = "peony"


def kind_variable(kind: str) -> str:
    """The theme variable holding a memory kind's colour in the counter's plot."""
    return "ft-kind-" + kind.replace("_", "-")


# The app's own theme variables; widgets refer to them as `$ft-...` in CSS.
APP_VARIABLES: tuple[str, ...] = (
    "ft-chain",
    "ft-chat-model",
    "ft-llm",
    "ft-tool",
    "ft-retriever",
    "ft-error",
    "ft-app",
    "ft-token-a",
    "ft-token-b",
    "ft-user",
    "ft-assistant",
    "ft-pane-conversation",
    "ft-pane-events",
    "ft-pane-tokens",
    "ft-pane-counter",
    "ft-scope-constructor",
    "ft-scope-request",
    "ft-scope-context",
    *(kind_variable(kind) for kind in KINDS),
)

# Fallbacks chosen to stay legible on Textual's own dark and light backgrounds.
_DARK_DEFAULTS = {
    "ft-chain": "#f29bd0",
    "ft-chat-model": "#c3a6ff",
    "ft-llm": "#8fc0ff",
    "ft-tool": "#ffc27a",
    "ft-retriever": "#80dcc8",
    "ft-error": "#ff8088",
    "ft-app": "#d0d0d0",
    "ft-token-a": "#262a33",
    "ft-token-b": "#363c49",
    "ft-user": "#9fd7ff",
    "ft-assistant": "#f29bd0",
    "ft-pane-conversation": "#e070a8",
    "ft-pane-events": "#a58ae0",
    "ft-pane-tokens": "#5fbfa8",
    "ft-pane-counter": "#d8a050",
    "ft-scope-constructor": "#ffb08a",
    "ft-scope-request": "#a5e3a0",
    "ft-scope-context": "#a8c0ff",
    "ft-kind-buffer": "#ff6b8b",
    "ft-kind-window": "#6fdc8c",
    "ft-kind-summary": "#5fb4ff",
    "ft-kind-summary-buffer": "#ffc24b",
    "ft-kind-token-buffer": "#c490ff",
    "ft-kind-agent-window": "#0080a0",
    "ft-kind-agent-tokens": "#e04000",
    "ft-kind-agent-summary": "#00a000",
}
_LIGHT_DEFAULTS = {
    "ft-chain": "#9c1f66",
    "ft-chat-model": "#5e3fa8",
    "ft-llm": "#1d5a96",
    "ft-tool": "#7f4500",
    "ft-retriever": "#0f6457",
    "ft-error": "#a8161f",
    "ft-app": "#474747",
    "ft-token-a": "#d2d5dc",
    "ft-token-b": "#bcc1cc",
    "ft-user": "#1d5a96",
    "ft-assistant": "#9c1f66",
    "ft-pane-conversation": "#9c1f66",
    "ft-pane-events": "#5e3fa8",
    "ft-pane-tokens": "#0f6457",
    "ft-pane-counter": "#7f4500",
    "ft-scope-constructor": "#8f3a00",
    "ft-scope-request": "#2a622c",
    "ft-scope-context": "#3a4a9c",
    "ft-kind-buffer": "#c0243f",
    "ft-kind-window": "#1f7a3a",
    "ft-kind-summary": "#1a5fb4",
    "ft-kind-summary-buffer": "#8a6a00",
    "ft-kind-token-buffer": "#7a2fb0",
    "ft-kind-agent-window": "#000080",
    "ft-kind-agent-tokens": "#e000c0",
    "ft-kind-agent-summary": "#000000",
}

_COLOUR_KEYS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_NUMBER_KEYS = ("luminosity_spread", "text_alpha")
_KNOWN_KEYS = ("name", "dark", "variables", *_COLOUR_KEYS, *_NUMBER_KEYS)
# Textual colour variables may end in an alpha percentage, e.g. "#6f6e69 35%".
_ALPHA_SUFFIX = re.compile(r"\s+\d{1,3}%$")
_CSS_KEYWORDS = ("auto", "initial")
_TOML_TYPES = {str: "a string", bool: "a boolean", int: "an integer", float: "a float", dict: "a table", list: "an array"}


class ThemeError(ValueError):
    """A theme file that cannot be used; the one-line message says which key and why."""


@dataclass(frozen=True)
class ThemeProblem:
    """A theme file that was skipped, kept so the app can tell the user and carry on."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path.name}: {self.message}"


def default_variables(dark: bool) -> dict[str, str]:
    """Every app variable, for built-in Textual themes and user themes that leave some out."""
    return dict(_DARK_DEFAULTS if dark else _LIGHT_DEFAULTS)


def shipped_themes_dir() -> Path:
    """The themes installed with the package."""
    return Path(__file__).parent / "themes"


def user_themes_dir() -> Path:
    """Where users drop their own themes; these override shipped ones of the same name."""
    return config_dir() / "themes"


def load_theme_file(path: Path) -> Theme:
    """One theme file as a Textual theme, with missing app variables filled in; ThemeError if unusable."""
    data = _read_toml(path)
    unknown = [key for key in data if key not in _KNOWN_KEYS]
    if unknown:
        raise ThemeError(f"unknown key {unknown[0]!r}; known keys: {', '.join(_KNOWN_KEYS)}")
    if "primary" not in data:
        raise ThemeError("missing required key 'primary'")
    name = _check_type("name", data.get("name", path.stem), str)
    if name != path.stem:
        raise ThemeError(f"name {name!r} must match the file name {path.stem!r}")
    colours = {key: _check_colour(key, data[key]) for key in _COLOUR_KEYS if key in data}
    numbers = {key: _check_number(key, data[key]) for key in _NUMBER_KEYS if key in data}
    dark = _check_type("dark", data.get("dark", True), bool)
    variables = _check_variables(data.get("variables", {}))
    return Theme(name=name, dark=dark, **colours, **numbers, variables={**default_variables(dark), **variables})


def load_themes(*folders: Path) -> tuple[list[Theme], list[ThemeProblem]]:
    """Every theme in the folders that exist, later folders winning by name; bad files become problems."""
    themes: dict[str, Theme] = {}
    problems: list[ThemeProblem] = []
    for folder in folders:
        paths = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        for path in paths:
            try:
                theme = load_theme_file(path)
            except ThemeError as exc:
                problems.append(ThemeProblem(path, str(exc)))
            else:
                themes[theme.name] = theme
    return sorted(themes.values(), key=lambda theme: theme.name), problems


def load_named(name: str, *folders: Path) -> Theme | None:
    """Just the theme called `name` (later folders winning), or None when no folder has a good file for it."""
    for folder in reversed(folders):
        path = folder / f"{name}.toml"
        if path.is_file():
            try:
                return load_theme_file(path)
            except ThemeError:
                return None  # load_themes names the problem
    return None


def problems_message(problems: Iterable[ThemeProblem]) -> str:
    """One notification text: a heading, then one line per skipped file; empty if nothing went wrong."""
    lines = [str(problem) for problem in problems]
    if not lines:
        return ""
    return "\n".join([f"Skipped {len(lines)} theme file{'s' if len(lines) > 1 else ''}:", *lines])


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"invalid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(f"cannot read the file: {exc}") from exc


def _check_type(key: str, value: Any, expected: type) -> Any:
    if type(value) is not expected:
        raise ThemeError(f"{key} must be {_toml_type(expected)} (got {_toml_type(type(value))})")
    return value


def _check_number(key: str, value: Any) -> float:
    if type(value) not in (int, float):
        raise ThemeError(f"{key} must be a number (got {_toml_type(type(value))})")
    return float(value)


def _check_colour(key: str, value: Any) -> str:
    _check_type(key, value, str)
    try:
        Color.parse(value)
    except ColorParseError as exc:
        raise ThemeError(f"{key}: {exc}") from exc
    return value


def _check_variables(table: Any) -> dict[str, str]:
    """App variables must be known colours; Textual's own are checked too, as a bad one breaks all CSS."""
    _check_type("variables", table, dict)
    for key, value in table.items():
        if key.startswith("ft-") and key not in APP_VARIABLES:
            raise ThemeError(f"unknown app variable {key!r}; known: {', '.join(APP_VARIABLES)}")
        if key in APP_VARIABLES:
            _check_colour(f"variables.{key}", value)
        elif key.endswith("style"):
            _check_type(f"variables.{key}", value, str)
        else:
            _check_textual_colour(f"variables.{key}", value)
    return table


def _check_textual_colour(key: str, value: Any) -> None:
    """Textual's colour variables also take "auto", "initial" and an alpha percentage."""
    colour = _ALPHA_SUFFIX.sub("", _check_type(key, value, str))
    if colour not in _CSS_KEYWORDS:
        _check_colour(key, colour)


def _toml_type(kind: type) -> str:
    """A type as a theme author reading TOML would call it."""
    return _TOML_TYPES.get(kind, kind.__name__)
