"""The app's program console without the app: a real program under the probe, its output read into lines."""

from __future__ import annotations

import sys
import threading

from flowertui.trace.program import LINE_LIMIT, ProgramConsole
from flowertui.trace.tracer import Tracer
from tests.support.traced import program


def test_output_without_a_newline_is_cut_into_lines_instead_of_buffered():
    tracer = Tracer([sys.executable, program("no_newline.py")], [])
    done = threading.Event()
    console = ProgramConsole(tracer, lambda: None, lambda code: done.set())
    try:
        tracer.start_session()
        console.start()
        assert done.wait(60)
        lines, skipped = console.drain()
    finally:
        tracer.close()
    assert skipped == 0
    assert all(len(line.text) == LINE_LIMIT for line in lines)  # the reader never holds more than a line
    assert sum(len(line.text) for line in lines) == 5_000_000  # nothing lost to a final truncation either
