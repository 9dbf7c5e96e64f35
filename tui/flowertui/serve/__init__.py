"""`flowertui serve`: the offline flower-shop assistant behind an OpenAI-compatible HTTP API.

Unmodified OpenAI client code (the lesson's `OpenAI(...)` and `ChatOpenAI(...)`)
runs offline against it. Importing this package is cheap: the HTTP stack is
imported only by `server`, which only `serve` and `trace --offline` load.
"""

from __future__ import annotations

from collections.abc import Mapping


def offline_by_default(env: Mapping[str, str]) -> bool:
    """A traced program gets the offline server unless it has an OpenAI key or server of its own."""
    return not env.get("OPENAI_API_KEY") and not env.get("OPENAI_BASE_URL")
