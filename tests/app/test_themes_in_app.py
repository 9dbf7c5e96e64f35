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
