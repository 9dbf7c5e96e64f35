"""Tracing overhead: a program streaming N tokens through a chain, bare, with a no-op handler, and traced.

    python bench/trace_bench.py [--tokens 2000] [--runs 7] [--latency-tokens 200 --pace 0.02] [--against DIR]

Each case runs the same program (bench/programs/stream_chain.py) in a fresh
process, in turn, `--runs` times; the figure is the median of the program's own
wall time around its chain call (it prints it), plus the median wall time of the
whole command (start-up and flowertui's drain included). Targets (issue 14 item
11): traced ≤ 1.15× the no-op-handler case, callback-to-screen p90 ≤ 100 ms. The
program's CPU time (all its threads, the probe's sender included) is printed too:
on a shared machine it moves far less than wall time. "Traced in the app" runs
the real TraceApp headless (Textual's test driver, 160×48) in a process of its
own (`--app-case`), the program under it. The app's callback-to-screen latency
is measured with a paced program (`--pace` seconds between tokens): for every
token event, the time from the program's callback (its wall clock, stamped by the
probe) to the first screen refresh after the panes took the event.

`--against DIR` measures another checkout (its `tui` folder on PYTHONPATH, e.g.
`git archive COMMIT tui | tar -x -C DIR`) in the same runs, interleaved, and
prints its figures beside this tree's. Prints Markdown tables for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROGRAM = str(Path(__file__).parent / "programs" / "stream_chain.py")
HERE_TUI = str(Path(__file__).resolve().parents[1] / "tui")


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


def app_case(env: dict[str, str], program: list[str], latency: bool = False) -> tuple[float, float, float, list]:
    """`run_in_app` in a process of its own, with `env`'s flowertui: own wall, own CPU, whole seconds, latencies."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--app-case", json.dumps([program, latency])],
                          capture_output=True, text=True, env=env, timeout=300)
    whole = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the app case failed: {done.stderr[-2000:]}")
    wall, cpu, latencies = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, cpu, whole, latencies


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
    parser.add_argument("--against", metavar="DIR", help="another checkout (its tui folder is put on PYTHONPATH)")
    parser.add_argument("--app-case", help=argparse.SUPPRESS)  # internal: one app run, in the process it starts
    args = parser.parse_args()
    if args.app_case:
        program, latency = json.loads(args.app_case)
        latencies: list[float] = []
        wall, cpu = run_in_app(program, latencies if latency else None)
        print(json.dumps([wall, cpu, latencies]))
        return
    data = tempfile.mkdtemp(prefix="flowertui-trace-bench-")
    base = {**os.environ, "FLOWERTUI_DATA_DIR": data, "FLOWERTUI_CACHE_DIR": os.path.join(data, "cache"),
            "FLOWERTUI_CONFIG_DIR": data}
    trees = {"": {**base, "PYTHONPATH": HERE_TUI}}
    if args.against:
        trees[" (against)"] = {**base, "PYTHONPATH": str(Path(args.against).resolve() / "tui")}
    plan = cases(args.tokens)
    app_program = [PROGRAM, "--tokens", str(args.tokens)]
    names = ["bare", "no-op handler"] + [f"{case}{tree}" for tree in trees for case in ("traced headless",
                                                                                          "traced in the app")]
    own: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    whole: dict[str, list[float]] = {name: [] for name in names}
    for env in trees.values():
        run_once(plan["traced headless"], env)  # warm caches (tiktoken seeding, .pyc) before measuring

    def record(name: str, figures: tuple) -> None:
        own[name].append(figures[0])
        cpu[name].append(figures[1])
        whole[name].append(figures[2])

    for _ in range(args.runs):  # interleaved, so machine noise hits every case alike
        record("bare", run_once(plan["bare"], trees[""]))
        record("no-op handler", run_once(plan["no-op handler"], trees[""]))
        for tree, env in trees.items():
            record(f"traced headless{tree}", run_once(plan["traced headless"], env))
            record(f"traced in the app{tree}", app_case(env, app_program))
    latencies: dict[str, list[float]] = {}
    for tree, env in trees.items():
        latencies[tree] = sorted(app_case(env, [PROGRAM, "--tokens", str(args.latency_tokens), "--pace",
                                                str(args.pace)], latency=True)[3])
    base_wall, base_cpu = statistics.median(own["no-op handler"]), statistics.median(cpu["no-op handler"])
    print(f"{args.tokens} tokens, median of {args.runs} runs, load average {os.getloadavg()[0]:.1f}\n")
    print("| case | program's own wall time | vs no-op handler | program's CPU time | vs no-op handler "
          "| whole command | target |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name in names:
        program_time, cpu_time = statistics.median(own[name]), statistics.median(cpu[name])
        target = "≤ 1.15×" if name.startswith("traced") else ""
        print(f"| {name} | {program_time * 1000:.0f} ms | {program_time / base_wall:.2f}× | {cpu_time * 1000:.0f} ms | "
              f"{cpu_time / base_cpu:.2f}× | {statistics.median(whole[name]):.2f} s | {target} |")
    for tree, found in latencies.items():
        print(f"\ncallback-to-screen latency in the app{tree}, {len(found)} tokens at one per {args.pace * 1000:.0f} "
              f"ms: median {statistics.median(found) * 1000:.0f} ms, 90th percentile "
              f"{found[int(len(found) * 0.9)] * 1000:.0f} ms (target: p90 ≤ 100 ms)")


if __name__ == "__main__":
    main()
