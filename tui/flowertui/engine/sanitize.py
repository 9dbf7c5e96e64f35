"""Make untrusted text safe to store and show: escapes stripped, secrets redacted, size bounded."""

from __future__ import annotations

import re
from collections.abc import Iterable

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

_SECRET_PATTERNS = re.compile(
    r"(?:sk|pk|rk)-[A-Za-z0-9_\-]{16,}"  # OpenAI-style and DashScope/DeepSeek keys
    r"|(?i:bearer)\s+[A-Za-z0-9._\-]{12,}"
    r"|(?i:(?:api[_-]?key|authorization|password|secret|token)[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._\-]{12,}"
)

REDACTED = "[redacted]"


def strip_escapes(text: str) -> str:
    """Remove terminal escape sequences and control characters (tab, newline kept)."""
    return _ESCAPES.sub("", text.replace("\r\n", "\n"))


def truncate(text: str, limit: int) -> str:
    """Cut text to limit characters, saying how much was left out."""
    if limit <= 0 or len(text) <= limit:
        return text
    return f"{text[:limit]}… [+{len(text) - limit} chars]"


class Redactor:
    """Replaces known secret values and key-shaped strings with a fixed marker."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 6 and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _SECRET_PATTERNS.sub(REDACTED, text)


def clean(text: str, redact: Redactor, limit: int = 0) -> str:
    """The one path untrusted text takes into an event: escapes, then secrets, then size."""
    return truncate(redact(strip_escapes(text)), limit)
