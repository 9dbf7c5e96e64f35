"""The OTLP exporter's costs: start-up (imports) and per span (building, encoding).

    python bench/otlp_bench.py [--runs 15] [--turns 10]

Start-up: each case is a fresh interpreter, interleaved, median wall time; bare `python -c pass` measured in
the same run is the baseline, so the cost of a case is its median minus bare python's. Per span: a real
chat session on the offline assistant (compare mode, so summariser calls too) is turned into spans by the
SpanBuilder and encoded as one ExportTraceServiceRequest, repeated; medians per span.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

IMPORTS = {
    "bare python": "pass",
    "opentelemetry-proto (the 4 generated modules)": (
        "import opentelemetry.proto.collector.trace.v1.trace_service_pb2, opentelemetry.proto.common.v1.common_pb2,"
        " opentelemetry.proto.resource.v1.resource_pb2, opentelemetry.proto.trace.v1.trace_pb2"),
    "flowertui.otlp.deliver (everything `--otlp` loads)": "import flowertui.otlp.deliver",
    "what `trace --headless` loads (flowertui.trace.headless_run)": "import flowertui.trace.headless_run",
    "the same plus flowertui.otlp.deliver": "import flowertui.trace.headless_run, flowertui.otlp.deliver",
    "httpx (for comparison; not used)": "import httpx",
}


def startup(runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in IMPORTS}
    for code in IMPORTS.values():  # warm-up: bytecode caches
        subprocess.run([sys.executable, "-c", code], check=True)
    for _ in range(runs):
        for name, code in IMPORTS.items():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def per_span(turns: int, repeats: int) -> tuple[int, int, float, float, float]:
    os.environ.setdefault("FLOWERTUI_DATA_DIR", tempfile.mkdtemp(prefix="flowertui-otlp-bench-"))
    from flowertui.engine.assembly import assemble
    from flowertui.engine.kinds import MemorySettings
    from flowertui.engine.providers import ProviderSettings
    from flowertui.engine.scripts import load_script
    from flowertui.otlp import encode
    from flowertui.otlp.spans import SpanBuilder

    events = []
    live = assemble(ProviderSettings(speed=0), MemorySettings(), memory_kind="buffer", compare=True,
                    sinks=[events.append])
    lines = load_script("week")
    for n in range(turns):
        live.conversation.ask(lines[n % len(lines)])
    build, write, size = [], [], 0
    for _ in range(repeats):
        spans = []
        builder = SpanBuilder(spans.append)
        started = time.perf_counter()
        for event in events:
            builder(event)
        builder.finish()
        build.append((time.perf_counter() - started) / len(spans))
        started = time.perf_counter()
        body = encode.request(spans, {"service.name": "flowertui"})
        write.append((time.perf_counter() - started) / len(spans))
        size = len(body)
    return len(events), len(spans), statistics.median(build), statistics.median(write), size / len(spans)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    medians = startup(args.runs)
    bare = medians["bare python"]
    print(f"start-up: median of {args.runs} fresh interpreters, load average {os.getloadavg()[0]:.1f}\n")
    print("| import | median wall | minus bare python |\n| --- | ---: | ---: |")
    for name, value in medians.items():
        extra = "" if name == "bare python" else f"{(value - bare) * 1000:+.0f} ms"
        print(f"| {name} | {value * 1000:.0f} ms | {extra} |")
    added = medians["the same plus flowertui.otlp.deliver"] - medians["what `trace --headless` loads (flowertui.trace.headless_run)"]
    print(f"\n`--otlp` adds {added * 1000:.0f} ms of imports to `trace --headless` (it loads nothing without it)")
    events, spans, build, write, size = per_span(args.turns, args.repeats)
    print(f"\nper span: {spans} spans from a {args.turns}-turn compare-mode chat ({events} events, streamed tokens "
          f"included: {build * spans / events * 1e6:.1f} µs per event), median of {args.repeats}\n")
    print("| step | per span |\n| --- | ---: |")
    print(f"| SpanBuilder (events → span records, the live sink's work) | {build * 1e6:.1f} µs |")
    print(f"| encode (span records → ExportTraceServiceRequest bytes) | {write * 1e6:.1f} µs |")
    print(f"| request body | {size:.0f} bytes |")


if __name__ == "__main__":
    main()
