"""Start-up of `flowertui trace --headless`: the whole command against the bare program, medians.

    python bench/trace_startup_bench.py [--runs 7] [--against DIR]

Cases (interleaved, each a fresh process): an empty program bare and traced (offline by default, and
--no-offline), and bench/programs/stream_chain.py bare and traced. `--against DIR` also runs another
checkout's `tui` (`git archive <commit> tui | tar -x -C DIR`) with its own data folder, for before/after.

Besides the whole command, "program starts" is the time from the command's start until the empty program's
first line runs (it prints its wall clock): how long the program waits at the door. CPU is the whole command's
(its children's, the offline server included, once reaped). Bytecode caches are written as a user's first run
writes them (PYTHONDONTWRITEBYTECODE is dropped): otherwise every traced run compiles flowertui's modules
and the probe from source while the bare program compiles nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHAIN = str(Path(__file__).parent / "programs" / "stream_chain.py")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--against", metavar="DIR", help="another checkout (its tui folder is put on PYTHONPATH)")
    args = parser.parse_args()
    empty = Path(tempfile.mkdtemp()) / "empty.py"
    empty.write_text('import time\nprint(time.time())\n')

    def env(tree: str | None) -> dict[str, str]:
        data = tempfile.mkdtemp(prefix="flowertui-startup-")
        out = {k: v for k, v in os.environ.items()
               if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PYTHONDONTWRITEBYTECODE")}
        out.update(FLOWERTUI_DATA_DIR=data, FLOWERTUI_CACHE_DIR=os.path.join(data, "cache"), FLOWERTUI_CONFIG_DIR=data)
        if tree:
            out["PYTHONPATH"] = str(Path(tree) / "tui")
        return out

    trace = [sys.executable, "-m", "flowertui", "trace", "--headless"]
    trees = {"this tree": env(None), **({"against": env(args.against)} if args.against else {})}
    cases = {"bare empty program": ([sys.executable, str(empty)], trees["this tree"]),
             "bare stream_chain": ([sys.executable, CHAIN, "--tokens", "2000"], trees["this tree"])}
    for tree, tree_env in trees.items():
        cases[f"{tree}: traced empty (offline)"] = ([*trace, str(empty)], tree_env)
        cases[f"{tree}: traced empty (--no-offline)"] = ([*trace, "--no-offline", str(empty)], tree_env)
        cases[f"{tree}: traced stream_chain"] = ([*trace, CHAIN, "--tokens", "2000"], tree_env)
    for argv, case_env in cases.values():  # warm-up: bytecode, tiktoken seeding
        subprocess.run(argv, capture_output=True, env=case_env, timeout=300)
    times: dict[str, list[float]] = {name: [] for name in cases}
    doors: dict[str, list[float]] = {name: [] for name in cases if "empty" in name}
    cpus: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, (argv, case_env) in cases.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started, wall = time.perf_counter(), time.time()
            done = subprocess.run(argv, capture_output=True, env=case_env, timeout=300)
            times[name].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if done.returncode != 0:
                raise SystemExit(f"{name} failed: {done.stderr[-2000:].decode(errors='replace')}")
            if name in doors:
                doors[name].append(float(done.stdout.split()[0]) - wall)
    print(f"median of {args.runs} runs, load average {os.getloadavg()[0]:.1f}\n")
    print("| case | whole command | its CPU | program starts |\n| --- | ---: | ---: | ---: |")
    for name, values in times.items():
        door = f"{statistics.median(doors[name]):.3f} s" if name in doors else ""
        print(f"| {name} | {statistics.median(values):.3f} s | {statistics.median(cpus[name]):.3f} s | {door} |")


if __name__ == "__main__":
    main()
