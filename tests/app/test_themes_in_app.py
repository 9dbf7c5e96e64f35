"""Themes in the running app: cycling, remembering, and a bad user theme file."""

from __future__ import annotations

from flowertui.app.state import load_state
from flowertui.app.themes import user_themes_dir
from tests.support.pilot import SIZE, make_app, notified, ready


async def test_t_cycles_flower_themes_and_the_choice_is_remembered():
    app = make_app(theme="peony")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("escape", "t")
        assert app.theme != "peony" and app.theme in app.flower_themes
        chosen = app.theme
    assert load_state()["theme"] == chosen
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert again.theme == chosen


async def test_an_invalid_user_theme_is_named_in_a_notification_and_the_rest_load():
    folder = user_themes_dir()
    folder.mkdir(parents=True, exist_ok=True)
    bad = folder / "broken.toml"
    bad.write_text('name = "broken"\nprimary = [not toml', "utf-8")
    try:
        app = make_app(theme="camellia")
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await ready(pilot)
            await notified(pilot, "broken.toml")
            assert app.theme == "camellia" and not app.current_theme.dark
    finally:
        bad.unlink()


async def test_an_unknown_theme_name_falls_back_with_a_notice():
    app = make_app(theme="no-such-flower")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        assert app.theme == "peony"
        await notified(pilot, "no-such-flower")


async def test_a_light_starting_theme_maps_ansi_colours_for_a_light_background():
    """AppBase._start_theme sets the starting theme without Textual's restyle and so calls Textual's private
    `_refresh_truecolor_filter`: this fails if Textual renames it, or if ANSI colours (the status line's `green`)
    keep the mapping Textual chose for its default dark theme."""
    from rich.color import Color
    from rich.style import Style
    from textual.app import App
    from textual.filter import ANSIToTruecolor

    assert callable(getattr(App, "_refresh_truecolor_filter", None)), "Textual renamed _refresh_truecolor_filter"
    app = make_app(theme="jasmine")
    async with app.run_test(size=SIZE):
        assert not app.current_theme.dark
        [ansi] = [f for f in app._filters if isinstance(f, ANSIToTruecolor)]
        green = ansi.truecolor_style(Style(color="green"), Color.parse("#ffffff")).color.triplet
        assert green == Color.parse("green").get_truecolor(app.ansi_theme_light)
        assert green != Color.parse("green").get_truecolor(app.ansi_theme_dark)
