"""The README's list of remappable key ids names every command the app binds."""

from __future__ import annotations

import re
from pathlib import Path

from flowertui.app.keys import COMMANDS, readme_table

README = Path(__file__).parents[2] / "README.md"


def readme_ids() -> set[str]:
    """The backticked ids on the README's `Ids:` line under "Remapping keys" (command names have spaces)."""
    section = README.read_text("utf-8").split("### Remapping keys", 1)[1]
    line = next(line for line in section.splitlines() if line.startswith("Ids:"))
    return set(re.findall(r"`([a-z_.]+)`", line))


def test_every_command_id_is_in_the_readme():
    ids = {command.id for command in COMMANDS}  # both apps' commands
    assert ids - readme_ids() == set()  # none missing
    assert readme_ids() - ids == set()  # none stale


def test_the_readme_key_table_is_the_chat_apps_commands():
    """The key table is written from keys.py: every chat command, its default keys (alt forms too), what it does."""
    assert readme_table("chat") in README.read_text("utf-8")
