"""The README's screenshot of `flowertui lesson 3`: the app's own SVG screenshot, converted to PNG.

The app runs example 3 against the offline server under Pilot, 160×48, and saves
its SVG (Textual's `export_screenshot`) when the program has exited. cairosvg
turns it into a PNG; cairo draws each text run in one font and the terminal font
has no CJK glyphs, so runs of CJK characters get a CJK font of their own.

    .venv/bin/pip install -e '.[docs]' && .venv/bin/python docs/make_lesson_screenshot.py
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

IMAGES = Path(__file__).resolve().parent / "images"
CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
CJK_FONT = "Droid Sans Fallback"
TEXT_FONT = "DejaVu Sans Mono"


async def svg_of_lesson(number: int) -> str:
    from flowertui.app.trace_app import TraceApp
    from flowertui.app.widgets.trace_status import TraceStatus
    from flowertui.config import Settings
    from flowertui.engine.kinds import MemorySettings
    from flowertui.engine.providers import ProviderSettings
    from flowertui.lesson.catalog import example

    item = example(number)
    assert not item.writes, "run in the package's folder, this example must write no file"
    os.chdir(item.path().parent)  # the console and status line then name the file, not this machine's path to it
    app = TraceApp(Settings(ProviderSettings(speed=0), MemorySettings()), [item.file], offline=True,
                   cwd=item.path().parent, lesson=item)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(900):
            await pilot.pause(0.1)
            if app.query_one(TraceStatus).state.startswith("exited"):
                break
        await pilot.pause(1.0)
        await pilot.press("escape")  # the keys, not the input box, in the footer
        await pilot.pause(0.5)
        return app.export_screenshot(title=f"flowertui lesson {number}")


def to_png(svg: str, target: Path, width: int = 1600) -> None:
    import cairosvg

    def fonts(match: re.Match) -> str:
        body = CJK_RUN.sub(lambda run: f'<tspan style="font-family: {CJK_FONT}">{run.group(0)}</tspan>', match.group(2))
        return f"{match.group(1)}{body}</text>"

    svg = re.sub(r"(<text [^>]*>)(.*?)</text>", fonts, svg, flags=re.S)
    svg = svg.replace("font-family: Fira Code, monospace;", f"font-family: {TEXT_FONT}, monospace;")
    cairosvg.svg2png(bytestring=svg.encode(), write_to=str(target), output_width=width)


def main() -> None:
    IMAGES.mkdir(exist_ok=True)
    svg = asyncio.run(svg_of_lesson(3))
    (IMAGES / "lesson3.svg").write_text(svg, "utf-8")
    to_png(svg, IMAGES / "lesson3.png")
    print(f"wrote {IMAGES / 'lesson3.svg'} and {IMAGES / 'lesson3.png'}")


if __name__ == "__main__":
    main()
