"""Make untrusted text safe to store and show: escapes stripped, secrets redacted, size bounded.

Secrets are the program's or provider's known values (environment variables named like
secrets) and shapes: well-known key prefixes, `Bearer …`, `password=…`, `--token VALUE`,
URLs with a password. Values shorter than MIN_SECRET characters are never redacted (too
many false hits). A streamed reply is redacted as a stream: the tail that could still grow
into a secret is held back until it cannot, so no sequence of stored tokens, joined,
contains a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

# CSI (ESC [ … final), OSC (ESC ] … BEL or ST), other two-byte ESC sequences, 8-bit CSI/OSC,
# then every C0/C1 control character except tab and newline.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)

REDACTED = "[redacted]"
MIN_SECRET = 8  # shorter values are left alone
# An environment variable holds a secret when its name (upper-cased) matches this.
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|CREDENTIAL|_KEY$|_TOKEN$|_SECRET$")

SECRET_FLAG = re.compile(r"--(?:[A-Za-z0-9]+-)*(?i:password|passwd|token|api-?key|secret|key)")
# (context, value): a secret is `context` followed by `value`; only the value is replaced, and a stream
# holds text back only once a value may have begun. Patterns use the `regex` module (partial matches).
_SHAPES: tuple[tuple[str, str], ...] = (
    # well-known key prefixes: OpenAI (sk-, sk-proj-, sk-ant- for Anthropic), GitHub, Slack, Hugging Face, AWS
    (r"(?<![A-Za-z0-9_])(?:sk-proj-|sk-ant-|sk-|pk-|rk-|ghp_|gho_|github_pat_|xox[bp]-|hf_)", r"[A-Za-z0-9_\-]{16,}"),
    (r"(?<![A-Za-z0-9])AKIA", r"[0-9A-Z]{16}(?![0-9A-Z])"),
    (r"(?i:bearer)\s+", r"[A-Za-z0-9._~+/=\-]{8,}"),
    (r"(?i:api[_-]?key|authorization|password|passwd|secret|token|credentials?)[\"']?\s*[:=]\s*[\"']?",
     r"[A-Za-z0-9._~+/\-]{8,}"),
    # command-line flags: --password VALUE, --password=VALUE, and --token, --api-key, --secret, --key, --passwd
    (SECRET_FLAG.pattern + r"(?:=|\s+)[\"']?", r"[^\s\"']{8,}"),
    (r"://[^\s/@:]*:", r"[^\s/@]{8,}(?=@)"),  # scheme://user:password@host
)
# Per shape, text that every match of its context contains one of (none: always searched). A text holding none of
# them cannot hold that context: a plain `in` test, ≈ 10× cheaper than the search, spares it for most tokens.
_CONTEXT_MARKS: tuple[tuple[str, ...], ...] = (("-", "_"), ("AKIA",), (), (":", "="), ("--",), ("://",))


def strip_escapes(text: str) -> str:
    """Remove terminal escape sequences and control characters (tab, newline kept)."""
    return _ESCAPES.sub("", text.replace("\r\n", "\n"))


def truncate(text: str, limit: int) -> str:
    """Cut text to limit characters, saying how much was left out."""
    if limit <= 0 or len(text) <= limit:
        return text
    return f"{text[:limit]}… [+{len(text) - limit} chars]"


def secret_name(name: str) -> bool:
    """Whether an environment variable of this name holds a secret (…PASSWORD…, …_KEY, …_TOKEN, …)."""
    return bool(SECRET_NAME.search(name.upper()))


def env_secrets(env: Mapping[str, str]) -> list[str]:
    """The values of an environment's secret-named variables."""
    return [value for name, value in env.items() if value and secret_name(name)]


@cache
def _shapes() -> tuple[tuple[Any, Any], ...]:
    import regex  # 25 ms: loaded with the first text redacted, not at start

    return tuple((regex.compile(context), regex.compile(f"(?:{context})(?P<v>{value})")) for context, value in _SHAPES)


class Redactor:
    """Replaces known secret values and key-shaped strings with a fixed marker; whole texts or token streams."""

    CONTEXT = 128  # characters of a stream already shown that a secret's context (`--password `) may lie in

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self._literal: Any = None
        self._streams: dict[Any, tuple[str, str]] = {}  # key → (text shown lately, text held back)
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= MIN_SECRET and secret not in self._secrets:
            import regex

            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)
            self._literal = regex.compile("(?P<v>" + "|".join(regex.escape(s) for s in self._secrets) + ")")

    def _patterns(self) -> list[tuple[Any, Any]]:
        literal = [(None, self._literal)] if self._literal is not None else []
        return [*literal, *_shapes()]

    def __call__(self, text: str) -> str:
        if not text or self._clear(text):
            return text
        return self._redact(text, 0, len(text))

    def _clear(self, text: str) -> bool:
        """Whether no secret lies or begins in text: no shape's context is in it, no known value starts in it.

        A shape's value follows its context, so without one no shape can match, even partly. Almost every streamed
        token is clear: a context's marks, then its search where they are (≈ 2 µs on 130 characters), instead of the
        two partial and full scans per pattern below (≈ 25 µs), which were half the engine thread's CPU per streamed
        token. (One alternation of all contexts is slower than six searches: `regex` finds no literal to skip to.)"""
        if self._literal is not None:
            known = self._literal.search(text, partial=True)  # empty when none: a partial match at the end
            if known is not None and known.end() > known.start():
                return False
        for marks, (context, _) in zip(_CONTEXT_MARKS, _shapes(), strict=True):
            if marks:  # a loop, not any(): a generator per shape costs as much as the test
                for mark in marks:
                    if mark in text:
                        break
                else:
                    continue
            if context.search(text):
                return False
        return True

    def _redact(self, text: str, start: int, stop: int) -> str:
        """text[start:stop] with every secret value found in text (whose value lies in that part) replaced."""
        spans: list[tuple[int, int]] = []
        for _context, pattern in self._patterns():
            for match in pattern.finditer(text, 0, stop):
                begin, end = match.span("v")
                if end > start:
                    spans.append((max(begin, start), end))
        if not spans:
            return text[start:stop]
        out, at = [], start
        for begin, end in sorted(spans):
            if end <= at:
                continue
            if begin > at:
                out.append(text[at:begin])
            out.append(REDACTED)
            at = end
        out.append(text[at:stop])
        return "".join(out)

    def stream(self, key: Any, token: str) -> str:
        """The part of the stream `key` that is safe to show now that `token` came; the rest is held back.

        Text that cannot be the start of a secret's value passes at once.
        """
        shown, held = self._streams.get(key, ("", ""))
        text = shown + held + token
        offset = len(shown)
        if self._clear(text):  # nothing to redact or hold back (what the scans below would find)
            self._streams[key] = (text[-self.CONTEXT:], "")
            return text[offset:]
        hold = len(text)
        for context, pattern in self._patterns():
            for match in pattern.finditer(text, partial=True):
                if match.end() < len(text) and not match.partial:
                    continue  # complete: redacted below
                if match.start() == match.end():
                    continue
                begin = match.start()
                if context is not None:  # the value begins where the context ends, if it is complete
                    lead = context.match(text, begin)
                    if lead is None or lead.end() >= len(text):
                        continue
                    begin = lead.end()
                hold = min(hold, max(begin, offset))
        out = self._redact(text, offset, hold) if hold > offset else ""
        self._streams[key] = ((shown + out)[-self.CONTEXT:], text[hold:])
        return out

    def end_stream(self, key: Any) -> str:
        """The stream is over: what was held back, redacted."""
        shown, held = self._streams.pop(key, ("", ""))
        return self._redact(shown + held, len(shown), len(shown) + len(held)) if held else ""


def redact_argv(argv: Iterable[str], redact: Redactor) -> list[str]:
    """A command line's arguments, redacted one by one; the value after a secret flag (`--password VALUE`) too."""
    out: list[str] = []
    previous = ""
    for arg in argv:
        secret = SECRET_FLAG.fullmatch(previous) is not None and len(arg) >= MIN_SECRET
        out.append(REDACTED if secret else redact(arg))
        previous = arg
    return out


def clean(text: str, redact: Redactor, limit: int = 0) -> str:
    """The one path untrusted text takes into an event: escapes, then secrets, then size."""
    return truncate(redact(strip_escapes(text)), limit)
