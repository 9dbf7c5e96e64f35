"""POSTing an OTLP request body: retries with backoff where the specification says to, one line when it fails.

Retried: 429, 502, 503 and 504 (waiting what `Retry-After` asks, within the deadline) and a server that
cannot be reached yet; any other answer is final. What the endpoint said is shown bounded and without
control characters: it is untrusted text. Standard library only (urllib, so the system's certificates and
the usual proxy variables apply).
"""

from __future__ import annotations

import gzip
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from flowertui.engine.sanitize import strip_escapes
from flowertui.otlp.endpoint import Endpoint

RETRIED = frozenset({429, 502, 503, 504})
ATTEMPTS = 4
FIRST_BACKOFF = 0.25  # seconds; doubled after each failed attempt
MAX_WAIT = 10.0  # the longest single wait, whatever Retry-After asks
CONTENT_TYPE = "application/x-protobuf"
_HINTS = {
    401: "the endpoint wants credentials: set OTEL_EXPORTER_OTLP_HEADERS (e.g. authorization=Basic …)",
    403: "the endpoint refused these credentials: check OTEL_EXPORTER_OTLP_HEADERS",
    404: "no OTLP receiver at this path: OTLP/HTTP traces usually go to …/v1/traces",
    415: "the endpoint does not take OTLP/HTTP protobuf here",
}


class DeliveryError(OSError):
    """The spans were not delivered; the message is one line."""


def post(endpoint: Endpoint, body: bytes, *, deadline: float | None = None,
         sleep: Callable[[float], None] = time.sleep) -> bytes:
    """Send one request body; the answer's body on success. `deadline` (time.monotonic) bounds the retries."""
    data = gzip.compress(body) if endpoint.gzip else body
    headers = {**endpoint.headers, "Content-Type": CONTENT_TYPE, "User-Agent": "flowertui-otlp"}
    if endpoint.gzip:
        headers["Content-Encoding"] = "gzip"
    wait = FIRST_BACKOFF
    for attempt in range(1, ATTEMPTS + 1):
        request = urllib.request.Request(endpoint.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=endpoint.timeout) as answer:  # noqa: S310  http(s) only
                return answer.read(1 << 20)
        except urllib.error.HTTPError as exc:
            said = _said(exc)
            problem = f"{endpoint.shown} answered {exc.code} {one_line(exc.reason)}" + (f": {said}" if said else "")
            if exc.code not in RETRIED:
                hint = _HINTS.get(exc.code)
                raise DeliveryError(problem + (f" ({hint})" if hint else "")) from None
            wait = max(wait, _retry_after(exc))
        except (urllib.error.URLError, socket.timeout, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            problem = f"cannot reach {endpoint.shown}: {one_line(str(reason)) or type(reason).__name__}"
        except OSError as exc:  # anything else the socket says (a reset mid-answer)
            problem = f"cannot reach {endpoint.shown}: {one_line(str(exc)) or type(exc).__name__}"
        wait = min(wait, MAX_WAIT)
        if attempt == ATTEMPTS or (deadline is not None and time.monotonic() + wait > deadline):
            raise DeliveryError(f"{problem} (tried {attempt} times)")
        sleep(wait)
        wait *= 2
    raise AssertionError("unreachable")


def _retry_after(exc: urllib.error.HTTPError) -> float:
    try:
        return max(0.0, float(exc.headers.get("Retry-After", "")))
    except (TypeError, ValueError):  # absent, or an HTTP date: the backoff decides
        return 0.0


def _said(exc: urllib.error.HTTPError) -> str:
    """The first 200 characters of an error answer's body, one line."""
    try:
        text = exc.read(400).decode("utf-8", "replace")
    except OSError:
        return ""
    return one_line(text)[:200]


def one_line(text: object) -> str:
    """Untrusted text as one printable line: escape sequences removed, control characters and runs of space
    made one space."""
    return " ".join("".join(c if c.isprintable() else " " for c in strip_escapes(str(text))).split())
