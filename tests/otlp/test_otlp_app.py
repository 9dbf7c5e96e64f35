"""`flowertui trace --otlp` in the app: runs reach the endpoint while the program runs and the screen draws."""

from __future__ import annotations

import sys
from pathlib import Path

from flowertui.app.trace_app import TraceApp
from flowertui.config import Settings
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.providers import ProviderSettings
from flowertui.otlp.deliver import LiveExporter
from flowertui.otlp.endpoint import resolve
from tests.support.otlp_receiver import attributes, otlp_receiver
from tests.support.pilot import SIZE, wait_until

FAILING = str(Path(__file__).parent / "programs" / "failing.py")


async def test_the_trace_app_sends_each_run_as_it_ends_and_a_restart_is_a_new_trace():
    with otlp_receiver() as receiver:
        exporter = LiveExporter(resolve(receiver.url, {}))
        app = TraceApp(Settings(ProviderSettings(speed=0), MemorySettings()), [sys.executable, FAILING],
                       sinks=[exporter])
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.returncode == 0, what="the program to end")
            await wait_until(pilot, lambda: len(receiver.spans()) == 4, what="the run's spans at the endpoint")
            await pilot.press("escape", "r")  # run it again: a second run, its own trace
            await wait_until(pilot, lambda: len(receiver.spans()) == 8, what="the second run's spans")
        report = exporter.close()
    assert report.ok and report.sent == 8
    spans = receiver.spans()
    assert len({s.trace_id for s in spans}) == 2
    assert {attributes(s.attributes)["flowertui.turn"] for s in spans} == {1, 2}
    assert {attributes(s.attributes)["session.id"] for s in spans} == {app.session_id}
