"""Python's garbage collector while the chat app runs.

Once the engine is ready, what is alive (LangChain, Textual, the panes: ≈ 150,000 objects) lives as long as the
app: frozen, the collector's full passes no longer scan it (each took 30–50 ms, two or more per long reply). And
Textual allocates heavily while it draws: a young collection every 700 allocations (Python's default) was ≈ 170
collections per 2,000-token reply; every 7,000 the reply costs 9–18% less CPU in all (bench/stream_bench.py, A/B in
one process; at 50,000 it cost more again). Cyclic garbage is still collected, a little later.

Before that, the collector rests while the engine imports LangChain (`importing`); before the first frame,
`startup.py` has it off.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG = 7_000  # allocations between young collections
_before: tuple[int, ...] | None = None  # the thresholds to restore


def hold() -> None:
    """Freeze what is alive now and collect young objects less often."""
    global _before
    gc.freeze()
    if _before is None:
        _before = gc.get_threshold()
        gc.set_threshold(YOUNG, *_before[1:])


def release() -> None:
    """The collector as it was (tests run many apps in one process)."""
    global _before
    gc.unfreeze()
    if _before is not None:
        gc.set_threshold(*_before)
        _before = None


@contextmanager
def importing() -> Iterator[None]:
    """The cyclic collector rests while the engine imports LangChain, then what exists is frozen (out of its reach for
    good): an import's objects stay for the whole process, and the collector's passes over them, during the import
    and at the first full pass after it, cost ≈ 35 ms of CPU before ready. The cost: cyclic garbage that exists at
    that moment is never freed (a start has little: the side panes' placeholders). Once per process: a process that
    imported LangChain already (tests) freezes nothing more."""
    first = "flowertui.engine.assembly" not in sys.modules
    collecting = first and gc.isenabled()
    if collecting:
        gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
