"""flowertui's own work on a traced program's events yields the CPU to the program.

Decoding, redaction and SQLite cost flowertui tens of microseconds per event; on a
machine with few cores that would slow the program it watches. On Linux a
thread's priority is its own and threads it starts inherit it, so the threads
that do this work are lowered, never the program (or the thread that starts it).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

# A little, not much: at +10, on a core busy with other processes, the receiver got so little CPU that the probe's
# 3 s at exit passed unacknowledged and most of a run reached flowertui only at the next start (the program's own
# time measured the same at +3 and +10: trace_bench, interleaved, docs/PERFORMANCE.md).
NICENESS = 3
T = TypeVar("T")


def lower_this_thread() -> None:
    """Lower the calling thread's CPU priority by NICENESS (Linux only; elsewhere, or if refused, nothing)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + NICENESS))
    except OSError:
        pass


def built_low(make: Callable[[], T]) -> T:
    """`make()` run in a lowered thread, so the threads the result starts (a session writer's) are lowered too."""
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        lower_this_thread()
        try:
            result.append(make())
        except BaseException as exc:  # handed back to the caller as is
            failure.append(exc)

    thread = threading.Thread(target=run, name="flowertui-low")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]
