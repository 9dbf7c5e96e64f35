"""Flower themes: every shipped theme loads, is legible, and bad user files are reported, not fatal."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from textual.app import App
from textual.theme import BUILTIN_THEMES

from flowertui import paths
from flowertui.app import themes
from flowertui.engine.kinds import KINDS

REPO_THEMES = Path(__file__).resolve().parents[2] / "themes"
SHIPPED = sorted(REPO_THEMES.glob("*.toml"))
FAMILIES = ("ft-chain", "ft-chat-model", "ft-llm", "ft-tool", "ft-retriever", "ft-error", "ft-app")
TEXT_COLOURS = (*FAMILIES, "ft-user", "ft-assistant", "ft-scope-constructor", "ft-scope-request", "ft-scope-context")
PANES = ("ft-pane-conversation", "ft-pane-events", "ft-pane-tokens", "ft-pane-counter")
HEX = re.compile(r"^#[0-9a-f]{6}$")


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of an #rrggbb colour."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio, 1 (same) to 21 (black on white)."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def shipped(name: str) -> Path:
    return REPO_THEMES / f"{name}.toml"


@pytest.fixture(params=SHIPPED, ids=lambda path: path.stem)
def theme(request):
    return themes.load_theme_file(request.param)


class ThemeApp(App):
    pass


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, "utf-8")
    return path


# --- the shipped themes ---------------------------------------------------------------------


def test_at_least_five_flower_themes_ship_and_one_is_light():
    loaded, problems = themes.load_themes(REPO_THEMES)
    assert problems == []
    assert len(loaded) >= 5
    assert any(not t.dark for t in loaded) and any(t.dark for t in loaded)
    assert themes.DEFAULT_THEME in {t.name for t in loaded}
    assert next(t for t in loaded if t.name == themes.DEFAULT_THEME).dark


def test_the_repo_themes_folder_is_the_one_the_package_ships():
    assert REPO_THEMES.resolve() == themes.shipped_themes_dir().resolve()


def test_shipped_files_set_every_field_and_variable_explicitly(theme):
    raw = tomllib.loads(shipped(theme.name).read_text("utf-8"))
    assert raw["name"] == theme.name
    for key in ("primary", "secondary", "accent", "warning", "error", "success"):
        assert HEX.match(raw[key]), key
    for key in ("foreground", "background", "surface", "panel"):
        assert HEX.match(raw[key]), key
    assert set(themes.APP_VARIABLES) <= set(raw["variables"])
    for name in themes.APP_VARIABLES:
        assert HEX.match(raw["variables"][name]), name


def test_dark_matches_the_background(theme):
    # Dark means light text reads better on it than dark text: more contrast with white than black.
    assert theme.dark == (contrast(theme.background, "#ffffff") > contrast(theme.background, "#000000"))


def test_text_is_legible_on_background_surface_and_panel(theme):
    for ground in (theme.background, theme.surface, theme.panel):
        assert contrast(theme.foreground, ground) >= 7, ground


def test_event_and_accent_colours_are_legible(theme):
    v = theme.variables
    for name in TEXT_COLOURS:
        for ground in (theme.background, theme.surface):
            assert contrast(v[name], ground) >= 4.5, (name, ground)
    for name in PANES:
        assert contrast(v[name], theme.background) >= 3, name


def test_the_block_cursor_and_footer_keys_are_legible(theme):
    v = theme.variables
    assert contrast(v["block-cursor-foreground"], theme.primary) >= 4.5
    assert contrast(v["footer-key-foreground"], theme.panel) >= 4.5


def test_token_shades_alternate_visibly_and_keep_text_legible(theme):
    a, b = theme.variables["ft-token-a"], theme.variables["ft-token-b"]
    assert contrast(a, theme.background) >= 1.1
    assert contrast(a, b) >= 1.1
    assert contrast(b, theme.background) >= 1.1
    for shade in (a, b):
        assert contrast(theme.foreground, shade) >= 7, shade


async def test_every_shipped_theme_registers_and_applies():
    loaded, _ = themes.load_themes(themes.shipped_themes_dir())
    app = ThemeApp()
    for t in loaded:
        app.register_theme(t)
    async with app.run_test() as pilot:
        for t in loaded:
            app.theme = t.name
            await pilot.pause()
            assert app.current_theme.name == t.name
            assert app.theme_variables["ft-chain"] == t.variables["ft-chain"]
            assert app.theme_variables["background"].lower().startswith(t.background)


def distance(a: str, b: str) -> float:
    """Euclidean distance of two #rrggbb colours in RGB (0 same, 441 black to white)."""
    return sum((int(a[i : i + 2], 16) - int(b[i : i + 2], 16)) ** 2 for i in (1, 3, 5)) ** 0.5


KIND_COLOURS = tuple(themes.kind_variable(kind) for kind in KINDS)


def test_memory_kinds_get_distinct_legible_plot_colours(theme):
    v = theme.variables
    colours = [v[name].lower() for name in KIND_COLOURS]
    for i, a in enumerate(colours):
        assert contrast(a, theme.surface) >= 3, KIND_COLOURS[i]  # the plot is drawn on the surface colour
        for j, b in enumerate(colours[i + 1 :], start=i + 1):
            assert distance(a, b) >= 100, (KIND_COLOURS[i], KIND_COLOURS[j])


@pytest.mark.parametrize("dark", [True, False])
def test_default_kind_colours_are_distinct(dark):
    defaults = themes.default_variables(dark)
    colours = [defaults[name] for name in KIND_COLOURS]
    assert all(distance(a, b) >= 100 for i, a in enumerate(colours) for b in colours[i + 1 :])



# --- defaults for Textual's own themes ------------------------------------------------------


@pytest.mark.parametrize("dark", [True, False])
def test_defaults_cover_every_app_variable_with_hex_colours(dark):
    defaults = themes.default_variables(dark)
    assert tuple(defaults) == themes.APP_VARIABLES
    assert all(HEX.match(value) for value in defaults.values())


@pytest.mark.parametrize("name", [n for n, t in BUILTIN_THEMES.items() if not t.ansi])
def test_defaults_are_legible_on_textuals_builtin_themes(name):
    system = BUILTIN_THEMES[name].to_color_system().generate()
    background = system["background"][:7].lower()
    defaults = themes.default_variables(BUILTIN_THEMES[name].dark)
    for variable in TEXT_COLOURS:
        assert contrast(defaults[variable], background) >= 4.5, variable


@pytest.mark.parametrize("name", ["textual-dark", "textual-light"])
def test_default_token_shades_stand_out_on_textuals_default_themes(name):
    system = BUILTIN_THEMES[name].to_color_system().generate()
    background, foreground = system["background"][:7], system["foreground"][:7]
    defaults = themes.default_variables(BUILTIN_THEMES[name].dark)
    a, b = defaults["ft-token-a"], defaults["ft-token-b"]
    assert contrast(a, background) >= 1.1 and contrast(a, b) >= 1.1
    assert contrast(foreground, a) >= 7 and contrast(foreground, b) >= 7


# --- user themes ----------------------------------------------------------------------------


def test_user_themes_live_in_the_config_folder():
    assert themes.user_themes_dir() == paths.config_dir() / "themes"


def test_a_user_theme_overrides_the_shipped_one_of_the_same_name(tmp_path):
    write(tmp_path, themes.DEFAULT_THEME, 'primary = "#00ff00"\nbackground = "#000000"\n')
    loaded, problems = themes.load_themes(themes.shipped_themes_dir(), tmp_path)
    assert problems == []
    mine = [t for t in loaded if t.name == themes.DEFAULT_THEME]
    assert len(mine) == 1 and mine[0].primary == "#00ff00"
    assert len(loaded) == len(SHIPPED)


def test_a_user_theme_missing_app_variables_gets_the_defaults(tmp_path):
    path = write(
        tmp_path,
        "snowdrop",
        'name = "snowdrop"\nprimary = "#336699"\ndark = false\n[variables]\nft-chain = "#123456"\n',
    )
    theme = themes.load_theme_file(path)
    expected = themes.default_variables(False) | {"ft-chain": "#123456"}
    assert {name: theme.variables[name] for name in themes.APP_VARIABLES} == expected


def test_missing_folders_are_skipped(tmp_path):
    assert themes.load_themes(tmp_path / "nowhere") == ([], [])


BAD_FILES = {
    "broken": ('primary = "#ff0000"\nbackground = \n', "invalid TOML", "line 2"),
    "wrongtype": ('primary = "#ff0000"\ndark = "yes"\n', "dark must be a boolean", "string"),
    "unknownkey": ('primary = "#ff0000"\nprimry = "#ff0000"\n', "unknown key 'primry'", ""),
    "badcolour": ('primary = "#ff0000"\nbackground = "#12345g"\n', "background", "#12345g"),
    "noprimary": ('background = "#000000"\n', "missing required key 'primary'", ""),
    "misnamed": ('name = "rose"\nprimary = "#ff0000"\n', "'rose'", "misnamed"),
    "badvariable": ('primary = "#ff0000"\n[variables]\nft-tool = "orangey"\n', "variables.ft-tool", "orangey"),
    "typo": ('primary = "#ff0000"\n[variables]\nft-tol = "#ff0000"\n', "unknown app variable 'ft-tol'", ""),
    "badtextual": ('primary = "#ff0000"\n[variables]\nfooter-key-foreground = "nope"\n', "footer-key-foreground", ""),
}


def test_each_bad_file_is_a_problem_naming_it_while_good_themes_still_load(tmp_path):
    for name, (text, _, _) in BAD_FILES.items():
        write(tmp_path, name, text)
    write(tmp_path, "daisy", 'primary = "#f5d000"\n[variables]\nfooter-key-foreground = "#6f6e69 35%"\n')
    loaded, problems = themes.load_themes(themes.shipped_themes_dir(), tmp_path)
    assert {t.name for t in loaded} == {p.stem for p in SHIPPED} | {"daisy"}
    by_file = {p.path.stem: str(p) for p in problems}
    assert set(by_file) == set(BAD_FILES)
    for name, (_, what, detail) in BAD_FILES.items():
        line = by_file[name]
        assert line.startswith(f"{name}.toml: ") and what in line and detail in line, line
        assert "\n" not in line


def test_load_theme_file_raises_a_value_error_for_a_bad_or_unreadable_file(tmp_path):
    path = write(tmp_path, "noprimary", BAD_FILES["noprimary"][0])
    with pytest.raises(ValueError, match="missing required key 'primary'"):
        themes.load_theme_file(path)
    with pytest.raises(themes.ThemeError, match="cannot read"):
        themes.load_theme_file(tmp_path / "absent.toml")


def test_the_notification_lists_every_problem_on_its_own_line(tmp_path):
    problems = [themes.ThemeProblem(tmp_path / "a.toml", "bad one"), themes.ThemeProblem(tmp_path / "b.toml", "bad two")]
    lines = themes.problems_message(problems).splitlines()
    assert lines[1:] == ["a.toml: bad one", "b.toml: bad two"]
    assert "2" in lines[0]
    assert themes.problems_message([]) == ""
