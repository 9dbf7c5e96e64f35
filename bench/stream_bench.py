"""Streaming benchmark: N tokens through the full app, beside a bare Textual Log fed the same tokens.

    python bench/stream_bench.py [--tokens 2000] [--runs 5] [--startup-runs 7] [--only stream|startup]
                                 [--against DIR]

The app runs for real: the offline assistant (its reply swapped for an N-token
text, unpaced) streams through LangChain's callbacks, the recorder, the bus, the
inbox and every pane. The baseline is a bare `Log` written once per token from
a thread, the naive way. Both run headless in this process, one after the other,
so CPU seconds (all threads) compare like with like. Time to first frame is
measured in a pseudo-terminal against a bare Textual hello app, and so is the
time until the app is ready to send (LangChain loaded: the status line says
"idle"). Medians print as a Markdown table for docs/PERFORMANCE.md.

With `--against DIR` (another checkout's `tui` folder) each tree's app streams in
a process of its own (after two warm-up turns), the trees and the
`Log` taking turns, so all see the same machine load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Log

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "粉色玫瑰象征感恩与温柔，适合送给姐姐作为生日礼物。",
    "Sunflowers last about a week in a vase if the water is changed daily.",
    "康乃馨花期长，白色和粉色最受欢迎，十一枝约五十五元。",
    "Hydrangeas drink a lot: keep the stems in deep, cool water.\n\n",
]


def long_reply(tokens: int) -> list[str]:
    """Text pieces, exactly `tokens` of them, cut the way the offline assistant streams."""
    from flowertui.engine.tokens import split_tokens

    pieces: list[str] = []
    index = 0
    while len(pieces) < tokens:
        pieces.extend(split_tokens(SENTENCES[index % len(SENTENCES)]))
        index += 1
    return pieces[:tokens]


async def run_app(pieces: list[str]) -> dict[str, float]:
    """The full app: one turn whose reply is the given pieces; returns wall, CPU and tokens lost."""
    import flowertui.engine.shop_model as shop_model
    from flowertui.app.widgets.conversation import AssistantTurn
    from flowertui.app.widgets.token_stream import TokenStream
    from tests.support.pilot import make_app, ready, settle

    text = "".join(pieces)
    shop_model.reply_for = lambda prompt: text  # the bench's only change: a long reply
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        box = app.query_one("#message")
        box.value = "请介绍一下店里的花。"
        wall, cpu = time.perf_counter(), time.process_time()
        await pilot.press("enter")
        await settle(pilot)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        shown_stream = app.query_one(TokenStream).tokens
        shown_reply = app.query_one(AssistantTurn).text
    lost = len(pieces) - len(shown_stream) + (0 if shown_reply == text and "".join(shown_stream) == text else 1)
    return {"wall": wall, "cpu": cpu, "lost": lost}


class Piece(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class LogApp(App[None]):
    """The baseline: a bare Log, one write per token, tokens posted from a thread."""

    def compose(self) -> ComposeResult:
        yield Log()

    def on_piece(self, message: Piece) -> None:
        self.query_one(Log).write(message.text)
        self.received += 1


async def run_log(pieces: list[str]) -> dict[str, float]:
    import threading

    app = LogApp()
    app.received = 0
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.2)
        wall, cpu = time.perf_counter(), time.process_time()
        threading.Thread(target=lambda: [app.post_message(Piece(p)) for p in pieces]).start()
        while app.received < len(pieces):
            await pilot.pause(0.005)
        await pilot.pause(0.05)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall": wall, "cpu": cpu, "lost": len(pieces) - app.received}


HELLO = "from textual.app import App\nfrom textual.widgets import Static\n" \
        "class Hello(App):\n    def compose(self):\n        yield Static('Conversation')\nHello().run()\n"


def first_frame(command: list[str], marker: bytes, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds from spawn until `marker` is drawn in a 160×48 pseudo-terminal, and the CPU
    seconds the process used by then (killed at once: less sensitive to a busy machine than wall time).
    The marker is looked for in the text with the escape sequences taken out."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(env)
        os.execvp(command[0], command)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    start, seen = time.perf_counter(), b""
    try:
        while marker not in re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", seen):
            ready_fds, _, _ = select.select([fd], [], [], 10)
            if not ready_fds:
                raise TimeoutError(command)
            seen += os.read(fd, 65536)
        wall = time.perf_counter() - start
    finally:
        os.kill(pid, 9)
        usage = os.wait4(pid, 0)[2]
        os.close(fd)
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--startup-runs", type=int, default=7)
    parser.add_argument("--only", choices=("stream", "startup"), help="measure one of the two")
    parser.add_argument("--against", metavar="DIR", help="another checkout too (its `tui` folder), "
                        "interleaved with this one: `git archive <commit> tui | tar -x -C DIR`")
    parser.add_argument("--app-turn", action="store_true", help=argparse.SUPPRESS)  # one tree's run, for --against
    args = parser.parse_args()
    if args.app_turn:
        pieces = long_reply(args.tokens)
        for _ in range(2):  # warm-up: a process's first turns compile and load what later ones reuse
            asyncio.run(run_app(pieces))
        print(json.dumps(asyncio.run(run_app(pieces))))
        return
    if args.only != "stream":
        startup(args.startup_runs, args.against)
    if args.only != "startup":
        stream(args.tokens, args.runs, args.against)


def startup(runs: int, against: str | None = None) -> None:
    """First frame and ready to send, beside a bare hello app, interleaved so all see the same machine load."""
    # The warm-up writes bytecode caches, as any user's first launch does, even where PYTHONDONTWRITEBYTECODE is set
    # (it is on the development machines): without them every launch would compile flowertui from source again.
    env = {"TERM": "xterm-256color", "COLUMNS": "160", "LINES": "48", "PYTHONDONTWRITEBYTECODE": "",
           "FLOWERTUI_DATA_DIR": tempfile.mkdtemp(prefix="flowertui-bench-"),
           "FLOWERTUI_CONFIG_DIR": tempfile.mkdtemp(prefix="flowertui-bench-config-")}
    trees = {"flowertui": env}
    if against:
        trees[f"flowertui at {against}"] = {**env, "PYTHONPATH": str(Path(against) / "tui")}
    flowertui = [sys.executable, "-m", "flowertui"]
    hello = [sys.executable, "-c", HELLO]
    for tree_env in trees.values():  # warm the bytecode caches of each
        first_frame(flowertui, b"Conversation", tree_env)
    first_frame(hello, b"Conversation", env)
    frames: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    ready: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    hellos = []
    for _ in range(runs):
        for name, tree_env in trees.items():
            frames[name].append(first_frame(flowertui, b"Conversation", tree_env))
        hellos.append(first_frame(hello, b"Conversation", env))
        for name, tree_env in trees.items():
            ready[name].append(first_frame(flowertui, "● idle".encode(), tree_env))
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average "
          f"{os.getloadavg()[0]:.1f}, start-up × {runs} (medians)")
    print()
    print("| measure | tree | median | hello app (same run) | ratio | target |")
    print("| --- | --- | --- | --- | --- | --- |")
    for index, what in enumerate(("time to first frame", "CPU until first frame")):
        base = statistics.median(run[index] for run in hellos)
        for name in trees:
            value = statistics.median(run[index] for run in frames[name])
            print(f"| {what} | {name} | {value:.3f} s | {base:.3f} s | {value / base:.2f}× | ≤ 1.3× |")
    for index, what in enumerate(("time until ready to send", "CPU until ready to send")):
        for name in trees:
            print(f"| {what} | {name} | {statistics.median(run[index] for run in ready[name]):.3f} s | | | ≤ 0.6 s |")
    print()


def app_turn(tokens: int, tree: str | None) -> dict[str, float]:
    """One measured turn of a tree's app (None: this one) in a process of its own."""
    env = {**os.environ, "PYTHONPATH": str(Path(tree) / "tui")} if tree else None
    done = subprocess.run([sys.executable, __file__, "--app-turn", "--tokens", str(tokens)], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def stream(tokens: int, runs: int, against: str | None = None) -> None:
    """N tokens through the whole app beside a bare Log fed the same tokens."""
    pieces = long_reply(tokens)
    trees = {"flowertui": [], **({f"flowertui at {against}": []} if against else {})}
    log_runs = []
    for _ in range(runs):
        log_runs.append(asyncio.run(run_log(pieces)))
        if against:
            for name, tree in zip(trees, (None, against)):
                trees[name].append(app_turn(tokens, tree))
        else:
            trees["flowertui"].append(asyncio.run(run_app(pieces)))

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    log_rate = tokens / median(log_runs, "wall")
    log_cpu = median(log_runs, "cpu") / tokens * 1000
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}, "
          f"{tokens} tokens × {runs} runs (medians)")
    print()
    print("| measure | tree (all panes) | median | bare Textual `Log` (same run) | ratio | target |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, app_runs in trees.items():
        rate = tokens / median(app_runs, "wall")
        print(f"| tokens/s sustained | {name} | {rate:,.0f} | {log_rate:,.0f} | {rate / log_rate:.2f}× | ≥ 2,000 |")
    for name, app_runs in trees.items():
        cpu = median(app_runs, "cpu") / tokens * 1000
        print(f"| CPU s per 1,000 tokens | {name} | {cpu:.3f} | {log_cpu:.3f} | {cpu / log_cpu:.2f}× "
              "| ≤ 1.3× Log |")
    for name, app_runs in trees.items():
        print(f"| tokens lost | {name} | {max(run['lost'] for run in app_runs)} | "
              f"{max(run['lost'] for run in log_runs)} | | 0 |")


if __name__ == "__main__":
    main()
