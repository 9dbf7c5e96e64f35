"""The interpreter's settings while `flowertui` starts its chat app, undone once the app's first frame is out.

- The garbage collector is off. A start builds ≈ 90,000 objects that live as long as the app (modules, classes,
  styles, widgets); collecting among them cost the first frame ≈ 20 ms of CPU. Once the frame is out they are
  frozen (never scanned again) and the collector is on again; the ≈ 1,500 objects of garbage among them stay.
- The GIL changes hands every 0.2 ms instead of 5 ms. Textual writes each frame from a thread of its own, and the
  event loop, busy with the Resize events that follow the first frame, kept that frame from the terminal ≈ 4 ms.

Measured on 2026-12-05 with Python 3.11 and Textual 8.2.8 (docs/PERFORMANCE.md, "chatframe").
"""

from __future__ import annotations

import gc
import sys

SWITCH_INTERVAL = 0.0002  # seconds a thread waiting for the GIL waits before asking for it (Python's default: 0.005)
_switch_interval: float | None = None  # the interpreter's own, while a start is on


def begin() -> None:
    global _switch_interval
    gc.disable()
    _switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)


def end() -> None:
    """The first frame is out (AppBase._boot_after_first_frame), or the app ended before one; nothing if no start is
    on."""
    global _switch_interval
    if _switch_interval is None:
        return
    sys.setswitchinterval(_switch_interval)
    _switch_interval = None
    gc.freeze()
    gc.enable()
