"""`flowertui serve`: the offline flower-shop assistant behind an OpenAI-compatible HTTP API.

Unmodified OpenAI client code (the lesson's `OpenAI(...)` and `ChatOpenAI(...)`)
runs offline against it. Importing this package is cheap: the HTTP stack is
imported only by `server`, which only `serve` and `trace --offline` load.
"""
