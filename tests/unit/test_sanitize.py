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


STREAMED = [  # texts a reply may stream: secrets of every shape, near misses, and text with none (CJK too)
    "db at postgres://bob:hunter2hunter2@db/x, the password: hunter2hunter2 and the key ghp_abcdefghijklmnop12 done.",
    "use sk-proj-abcdefghijklmnop1234 now, or SK-PROJ-abcdefghijklmnop1234, or ask-me-abcdefghijklmnop1234",
    "aws AKIAIOSFODNN7EXAMPLE. and AKIAIOSFODNN7EXAMPLEX; Authorization: Bearer abcdefgh.1234 bearer",
    "run --password hunter2hunter2 -v --api-key=abcdefgh12345678 --client-secret 'abcdefgh12345678' --key",
    "token: abc12345678 token = 'short' api_key=\"zzzzzzzzzz\" credentials:xy http://localhost:8000/v1 done",
    "粉色玫瑰象征感恩与温柔，适合送给姐姐作为生日礼物。Sunflowers last about a week.\n\nkey my-planted-secret-123!",
    "my-planted-secret-12 is not it, my-planted-secret-123 is; the task-management-checklist stays",
    "set password=abc12345678 then go",
    "the key ghp_abcdefghijklmnop12 done",
    "HEADER BEARER ABCDEFGH12345678 END",
]


def test_streaming_redaction_passes_clear_text_at_once_and_finds_what_a_full_scan_finds():
    """A token is passed without the pattern scans only when they would find nothing: every split of every text
    gives the same pieces as scanning each time (the scans are forced by making no text look clear)."""

    class Scanning(Redactor):
        def _clear(self, text: str) -> bool:
            return False

    for secrets in ([], ["my-planted-secret-123"]):
        for text in STREAMED:
            for size in (1, 2, 3, 5, 8, 13, 40):
                pieces = [text[at:at + size] for at in range(0, len(text), size)]
                fast, full = Redactor(secrets), Scanning(secrets)
                shown = [fast.stream("run", piece) for piece in pieces] + [fast.end_stream("run")]
                assert shown == [full.stream("run", piece) for piece in pieces] + [full.end_stream("run")], (text, size)
                assert fast(text) == full(text)
                assert "hunter2hunter2" not in "".join(shown)
        reply = "粉色玫瑰象征感恩与温柔。Sunflowers last about a week, http://localhost/v1 my-plant."
        assert Redactor(secrets)._clear(reply)  # most text takes the one quick look
