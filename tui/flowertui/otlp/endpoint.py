"""Where spans go and how: the endpoint URL, headers, timeout and compression, as OpenTelemetry's exporters read them.

A URL given on the command line wins; otherwise the OTLP exporter variables are read as the OpenTelemetry
specification says: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as it is, `OTEL_EXPORTER_OTLP_ENDPOINT` is a
base URL that gets `v1/traces` appended; `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS` is `key=value` pairs separated
by commas, each percent-decoded; `…_TIMEOUT` is in milliseconds (default 10 s); `…_COMPRESSION` is `gzip` or
`none`. A per-signal variable (`…_TRACES_…`) wins over the general one. Standard library only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

TRACES_PATH = "v1/traces"
DEFAULT_TIMEOUT = 10.0  # seconds, the specification's default
FROM_ENV = "env"  # `trace --otlp env`: the endpoint from the OTEL_EXPORTER_OTLP_* variables
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # an HTTP header name


class EndpointError(ValueError):
    """The endpoint settings cannot be used; the message says which and why, in one line."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    gzip: bool = False
    skipped_headers: int = 0  # entries of the headers variable that were not `key=value`

    @property
    def shown(self) -> str:
        """The URL as said in messages: no user name, password or query (they may hold keys)."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"


def resolve(url: str | None, env: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint for `url` (a flag's value; None or `env`: the variables'), with the variables' headers."""
    env = os.environ if env is None else env
    if url and url != FROM_ENV:
        target = _flag_url(url)
    elif found := env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip():
        target = _checked(found, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    elif found := env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip():
        target = _checked(found.rstrip("/") + "/" + TRACES_PATH, "OTEL_EXPORTER_OTLP_ENDPOINT")
    else:
        raise EndpointError("no OTLP endpoint: give its URL (Phoenix: http://localhost:6006/v1/traces, Jaeger: "
                            "http://localhost:4318/v1/traces) or set OTEL_EXPORTER_OTLP_ENDPOINT")
    headers, skipped = parse_headers(_signal(env, "HEADERS") or "")
    return Endpoint(target, headers, _timeout(env), _gzip(env), skipped)


def parse_headers(text: str) -> tuple[dict[str, str], int]:
    """`key1=value1,key2=value2` (W3C Baggage without properties, percent-encoded) → headers, and how many
    entries were skipped as malformed. Names are lower-cased (HTTP header names are case-insensitive)."""
    headers, skipped = {}, 0
    for entry in text.split(","):
        if not entry.strip():
            continue
        name, sep, value = entry.partition("=")
        name, value = unquote(name).strip().lower(), unquote(value).strip()
        if not sep or not _TOKEN.match(name) or any(c in value for c in "\r\n\0"):
            skipped += 1
            continue
        headers[name] = value
    return headers, skipped


def _flag_url(url: str) -> str:
    """A URL from the command line is used as given, but a bare server (`http://localhost:4318`) gets /v1/traces:
    no tool takes traces at its root."""
    checked = _checked(url, "the endpoint")
    if urlsplit(checked).path in ("", "/"):
        return checked.rstrip("/") + "/" + TRACES_PATH
    return checked


def _checked(url: str, where: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  a port that is not a number raises here
    except ValueError as exc:
        raise EndpointError(f"{where} is not a usable URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"{where} must be an http:// or https:// URL with a host (OTLP/HTTP), "
                            f"not {url[:80]!r}")
    return url


def _signal(env: Mapping[str, str], name: str) -> str | None:
    """The per-signal variable when set, else the general one."""
    found = env.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}")
    return found if found is not None else env.get(f"OTEL_EXPORTER_OTLP_{name}")


def _timeout(env: Mapping[str, str]) -> float:
    text = _signal(env, "TIMEOUT")
    try:
        value = float(text) / 1000 if text else DEFAULT_TIMEOUT
    except ValueError:
        raise EndpointError(f"OTEL_EXPORTER_OTLP_TIMEOUT must be milliseconds, not {text[:40]!r}") from None
    return value if value > 0 else DEFAULT_TIMEOUT


def _gzip(env: Mapping[str, str]) -> bool:
    text = (_signal(env, "COMPRESSION") or "none").strip().lower()
    if text not in ("gzip", "none", ""):
        raise EndpointError(f"OTEL_EXPORTER_OTLP_COMPRESSION must be gzip or none, not {text[:40]!r}")
    return text == "gzip"
