"""Soak benchmark: a 200-turn session through the full app, watching memory and counting events.

    python bench/soak_bench.py [--turns 200] [--memory window]

The offline assistant (unpaced) answers every turn in the real app, headless,
with the session store attached. Resident memory is sampled after each turn;
"flat after warm-up" is judged by the growth between the end of warm-up and
the last turn. Events lost = events emitted − events drawn by the app, and
− events in the database. Prints a Markdown table for docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LINES = [
    "我姐姐下周六过生日，她喜欢粉色玫瑰。",
    "有适合搭配的小花吗？",
    "Do you deliver on the same day?",
    "康乃馨多少钱一枝？",
    "What flowers suit a housewarming?",
]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def soak(turns: int, memory: str, warm: int) -> dict[str, float]:
    from flowertui.session.store import DB_NAME, SessionStore
    from tests.support.pilot import make_app, ready, settle

    emitted: list[int] = []
    app = make_app(memory_kind=memory)
    drained: list[int] = []  # events handed to the panes, batch by batch
    drain = app.inbox.drain
    app.inbox.drain = lambda: (batch := drain(), drained.append(len(batch)))[0]
    samples: list[float] = []
    started = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        app.live.bus.subscribe(lambda event: emitted.append(event.seq))
        for turn in range(turns):
            box = app.query_one("#message")
            box.value = LINES[turn % len(LINES)]
            await pilot.press("enter")
            await settle(pilot)
            gc.collect()
            samples.append(rss_mb())
        drawn = sum(drained)
        first_seq = app.live.bus.session_id
    elapsed = time.perf_counter() - started
    store = SessionStore(Path(os.environ["FLOWERTUI_DATA_DIR"]) / DB_NAME)
    stored = len(store.events(first_seq))
    done = sum(status == "done" for *_, status in store.turns(first_seq))
    store.close()
    total = emitted[-1] if emitted else 0
    return {
        "turns": turns, "done": done, "seconds": elapsed, "events": total,
        "lost_drawn": total - drawn, "lost_stored": total - stored,
        "rss_warm": statistics.median(samples[warm - 3: warm + 2]), "rss_end": statistics.median(samples[-5:]),
        "rss_peak": max(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--memory", default="window")
    parser.add_argument("--warmup", type=int, default=130,
                        help="turns until the app's bounded buffers are full: 30 shown turns, 1,000 event rows "
                             "(about 8 a turn), 3,000 events, Textual's render caches")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("FLOWERTUI_CACHE_DIR", str(Path(folder) / "cache"))
        os.environ["FLOWERTUI_DATA_DIR"] = str(Path(folder) / "data")
        os.environ["FLOWERTUI_CONFIG_DIR"] = str(Path(folder) / "config")
        result = asyncio.run(soak(args.turns, args.memory, args.warmup))
    growth = result["rss_end"] - result["rss_warm"]
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {args.turns} turns, {args.memory} memory, "
          f"offline assistant unpaced, full app headless with the session store")
    print()
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| turns completed | {result['done']} / {result['turns']} |")
    print(f"| wall time | {result['seconds']:.1f} s ({result['seconds'] / result['turns'] * 1000:.0f} ms per turn) |")
    print(f"| events emitted | {result['events']:,} |")
    print(f"| events lost (drawn / stored) | {result['lost_drawn']} / {result['lost_stored']} |")
    print(f"| RSS after warm-up (turn {args.warmup}) | {result['rss_warm']:.1f} MB |")
    print(f"| RSS at the end | {result['rss_end']:.1f} MB (peak {result['rss_peak']:.1f} MB) |")
    per_100 = growth / (args.turns - args.warmup) * 100
    print(f"| growth after warm-up | {growth:+.1f} MB ({growth / result['rss_warm'] * 100:+.1f} %, "
          f"{per_100:+.1f} MB per 100 turns) |")


if __name__ == "__main__":
    main()
