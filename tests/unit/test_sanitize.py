"""Untrusted text: escapes stripped, secrets redacted, size bounded."""

from __future__ import annotations

from flowertui.engine.sanitize import REDACTED, Redactor, clean, strip_escapes, truncate


def test_ansi_and_osc_sequences_are_removed():
    text = "\x1b[31mred\x1b[0m \x1b]0;evil title\x07ok \x1b]52;c;aGVsbG8=\x07done\x1b[2J\x1b[H"
    assert strip_escapes(text) == "red ok done"


def test_markup_is_left_alone_for_literal_display():
    assert strip_escapes("[/bold] [@click=app.quit]x[/]") == "[/bold] [@click=app.quit]x[/]"


def test_newlines_tabs_and_cjk_survive():
    assert strip_escapes("第一行\r\n\t第二行 🌹") == "第一行\n\t第二行 🌹"


def test_known_secrets_and_key_shapes_are_redacted():
    redact = Redactor(["my-planted-secret-123"])
    text = redact("key my-planted-secret-123 and sk-abcdefghijklmnopqrstuvwxyz and Bearer abcdefghijklmnop")
    assert "my-planted-secret-123" not in text
    assert "sk-abc" not in text and "abcdefghijklmnop" not in text
    assert text.count(REDACTED) == 3


def test_truncate_says_how_much_was_cut():
    assert truncate("x" * 10, 4) == "xxxx… [+6 chars]"
    assert truncate("short", 0) == "short"


def test_clean_strips_before_redacting_so_escapes_cannot_hide_a_key():
    redact = Redactor(["sk-hidden-key-000000000000"])
    assert "hidden" not in clean("sk-hidden\x1b[0m-key-000000000000", redact)
