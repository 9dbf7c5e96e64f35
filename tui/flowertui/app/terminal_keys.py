"""Alt with a typing key, as xterm and tmux send it (Esc, then the key), reaches the app as `alt+KEY`.

Without the kitty keyboard protocol a terminal sends Alt+2 as Esc then `2`. Textual reads a few such pairs as
something else: Esc with a digit as the character macOS's Option key types with it (WezTerm sends those; Esc 2 is
`™`), Esc `b` / Esc `f` as ctrl+left / ctrl+right (iTerm's word keys). A bound `alt+2` would then never fire, and
the message box would take `™` as text. Dropping those pairs from Textual's table for the keys the app binds with
alt lets Textual's parser treat them as it treats every other Esc-and-key pair (Esc `m` is `alt+m`): after its
Escape wait (`ESCDELAY`, 100 ms) it reports `alt+KEY`.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import _ansi_sequences  # Textual's table of input sequences; it has no public way to change it


def free_alt_keys(keys: Iterable[str]) -> list[str]:
    """Let each bound `alt+X` (X one character) arrive as `alt+X` when sent as Esc then X; the pairs freed."""
    table = _ansi_sequences.ANSI_SEQUENCES_KEYS
    freed = []
    for key in keys:
        modifier, _, base = key.partition("+")
        if modifier == "alt" and len(base) == 1 and f"\x1b{base}" in table:
            del table[f"\x1b{base}"]
            freed.append(f"\x1b{base}")
    return freed
