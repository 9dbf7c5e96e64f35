"""Tracing overhead: a program streaming N tokens through a chain, bare, with a no-op handler, and traced.

    python bench/trace_bench.py [--tokens 2000] [--runs 7] [--latency-tokens 200 --pace 0.02]

Each case runs the same program (bench/programs/stream_chain.py) in a fresh
process, in turn, `--runs` times; the figure is the median of the program's own
wall time around its chain call (it prints it), plus the median wall time of the
whole command (start-up and flowertui's drain included). Targets: traced ≤ 1.3×
the no-op-handler case. The program's CPU time (all its threads) is printed too:
on a shared machine it moves far less than wall time. "Traced in the app" runs the real TraceApp headless (Textual's test driver) in this
process, the program under it. The app's callback-to-screen latency is measured
with a paced program (`--pace` seconds between tokens): for every token event,
the time from the program's callback (its wall clock, stamped by the probe) to
the first screen refresh after the panes took the event. Prints a Markdown table
for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROGRAM = str(Path(__file__).parent / "programs" / "stream_chain.py")


def cases(tokens: int) -> dict[str, list[str]]:
    program = [PROGRAM, "--tokens", str(tokens)]
    trace = [sys.executable, "-m", "flowertui", "trace"]
    return {
        "bare": [sys.executable, *program],
        "no-op handler": [sys.executable, *program, "--noop"],
        "traced headless": [*trace, "--headless", *program],
    }


def run_in_app(program: list[str], latencies: list[float] | None = None) -> tuple[float, float]:
    """The program's own wall and CPU seconds when traced by the app; token latencies appended if asked."""
    import asyncio

    from flowertui.app.trace_app import TraceApp
    from flowertui.config import Settings
    from flowertui.engine.kinds import MemorySettings
    from flowertui.engine.providers import ProviderSettings

    class Timed(TraceApp):
        async def draw(self, batch) -> None:
            await super().draw(batch)
            if latencies is not None:
                fired = [event.wall for event in batch if event.kind == "llm_new_token"]
                self.call_after_refresh(lambda: latencies.extend(time.time() - wall for wall in fired))

    result = Path(tempfile.mkdtemp()) / "result"
    app = Timed(Settings(ProviderSettings(speed=0), MemorySettings()), [sys.executable, *program, "--result",
                                                                         str(result)])

    async def drive() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            while app.returncode is None:
                await pilot.pause(0.05)
            await pilot.pause(0.3)

    asyncio.run(drive())
    wall, cpu = result.read_text().split()
    return float(wall), float(cpu)


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """The program's own wall and CPU seconds around its chain call, and the whole command's wall seconds."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    whole = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr[-2000:]}")
    wall, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu), whole


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--latency-tokens", type=int, default=200)
    parser.add_argument("--pace", type=float, default=0.02)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="flowertui-trace-bench-")
    env = {**os.environ, "FLOWERTUI_DATA_DIR": data, "FLOWERTUI_CACHE_DIR": os.path.join(data, "cache")}
    os.environ.update(FLOWERTUI_DATA_DIR=data, FLOWERTUI_CACHE_DIR=os.path.join(data, "cache"), FLOWERTUI_CONFIG_DIR=data)
    plan = cases(args.tokens)
    own: dict[str, list[float]] = {name: [] for name in plan}
    cpu: dict[str, list[float]] = {name: [] for name in plan}
    whole: dict[str, list[float]] = {name: [] for name in plan}
    run_once(plan["traced headless"], env)  # warm caches (tiktoken seeding, .pyc) before measuring
    app_program = [PROGRAM, "--tokens", str(args.tokens)]
    own["traced in the app"], cpu["traced in the app"], whole["traced in the app"] = [], [], []
    for _ in range(args.runs):
        for name, argv in plan.items():  # interleaved, so machine noise hits every case alike
            program_time, cpu_time, command_time = run_once(argv, env)
            own[name].append(program_time)
            cpu[name].append(cpu_time)
            whole[name].append(command_time)
        started = time.perf_counter()
        program_time, cpu_time = run_in_app(app_program)
        own["traced in the app"].append(program_time)
        cpu["traced in the app"].append(cpu_time)
        whole["traced in the app"].append(time.perf_counter() - started)
    plan["traced in the app"] = []
    latencies: list[float] = []
    run_in_app([PROGRAM, "--tokens", str(args.latency_tokens), "--pace", str(args.pace)], latencies)
    base, base_cpu = statistics.median(own["no-op handler"]), statistics.median(cpu["no-op handler"])
    print(f"{args.tokens} tokens, median of {args.runs} runs, load average {os.getloadavg()[0]:.1f}\n")
    print("| case | program's own wall time | vs no-op handler | program's CPU time | vs no-op handler "
          "| whole command | target |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name in plan:
        program_time, cpu_time = statistics.median(own[name]), statistics.median(cpu[name])
        target = "≤ 1.3× (wall)" if name.startswith("traced") else ""
        print(f"| {name} | {program_time * 1000:.0f} ms | {program_time / base:.2f}× | {cpu_time * 1000:.0f} ms | "
              f"{cpu_time / base_cpu:.2f}× | {statistics.median(whole[name]):.2f} s | {target} |")
    latencies.sort()
    print(f"\ncallback-to-screen latency in the app, {len(latencies)} tokens at one per {args.pace * 1000:.0f} ms: "
          f"median {statistics.median(latencies) * 1000:.0f} ms, 90th percentile "
          f"{latencies[int(len(latencies) * 0.9)] * 1000:.0f} ms (target: median ≤ 50 ms)")


if __name__ == "__main__":
    main()
