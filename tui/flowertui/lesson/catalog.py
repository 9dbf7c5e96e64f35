"""The registry of the lesson's programs: number, titles, what to watch, and the files themselves.

One table (catalog.toml) read by `flowertui lesson` (the list), the runner and the README. The
programs are plain scripts in programs/, ported to LangChain 1.x with the
lesson's names, Chinese prompts and printed lines kept.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


class LessonError(ValueError):
    """No such example, or its file cannot be written where asked."""


@dataclass(frozen=True)
class Example:
    number: int
    file: str
    title_zh: str
    title_en: str
    watch: str
    """One line on what to look at while it runs."""
    note: str
    """A few sentences: what the example teaches and what flowertui shows of it."""
    uses_model: bool = True
    writes: tuple[str, ...] = ()

    def source(self) -> str:
        return resources.files("flowertui.lesson").joinpath("programs", self.file).read_text("utf-8")

    def path(self) -> Path:
        """The installed file, for running it as a script."""
        return Path(str(resources.files("flowertui.lesson").joinpath("programs", self.file)))


def _load() -> tuple[Example, ...]:
    table = tomllib.loads(resources.files("flowertui.lesson").joinpath("catalog.toml").read_text("utf-8"))
    return tuple(Example(**{**entry, "writes": tuple(entry.get("writes", ()))}) for entry in table["example"])


EXAMPLES: tuple[Example, ...] = _load()  # the table itself is catalog.toml, beside this file


def example(number: int) -> Example:
    for item in EXAMPLES:
        if item.number == number:
            return item
    raise LessonError(f"no example {number}: choose 1 to {len(EXAMPLES)} (`flowertui lesson` lists them)")


def copy_to(item: Example, folder: Path, force: bool = False) -> Path:
    """Write the example's source into folder for the learner to edit; an existing file is kept unless force."""
    target = folder / item.file
    if target.exists() and not force:
        raise LessonError(f"{target} exists (--force overwrites it)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(item.source(), "utf-8")
    except OSError as exc:
        raise LessonError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
