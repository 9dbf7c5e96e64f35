"""Tracing overhead: a program streaming N tokens through a chain, bare, with a no-op handler, and traced.

    python bench/trace_bench.py [--tokens 2000] [--runs 7]

Each case runs the same program (bench/programs/stream_chain.py) in a fresh
process, in turn, `--runs` times; the figure is the median of the program's own
wall time around its chain call (it prints it), plus the median wall time of the
whole command (start-up and flowertui's drain included). Targets: traced ≤ 1.3×
the no-op-handler case. The program's CPU time (all its threads) is printed too:
on a shared machine it moves far less than wall time. Prints a Markdown table
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
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="flowertui-trace-bench-")
    env = {**os.environ, "FLOWERTUI_DATA_DIR": data, "FLOWERTUI_CACHE_DIR": os.path.join(data, "cache")}
    plan = cases(args.tokens)
    own: dict[str, list[float]] = {name: [] for name in plan}
    cpu: dict[str, list[float]] = {name: [] for name in plan}
    whole: dict[str, list[float]] = {name: [] for name in plan}
    run_once(plan["traced headless"], env)  # warm caches (tiktoken seeding, .pyc) before measuring
    for _ in range(args.runs):
        for name, argv in plan.items():  # interleaved, so machine noise hits every case alike
            program_time, cpu_time, command_time = run_once(argv, env)
            own[name].append(program_time)
            cpu[name].append(cpu_time)
            whole[name].append(command_time)
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


if __name__ == "__main__":
    main()
