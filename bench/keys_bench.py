"""Responsiveness benchmark: how long keys, cancel and quit take, and how fast a 200 KB reply streams.

    python bench/keys_bench.py [--runs 5] [--against DIR]

`--against DIR` measures another checkout too (e.g. the commit before a fix, from
`git archive`), one run of each in turn, so both see the same machine load.

Each case drives the real app headless (160×48) with Pilot; the 200 KB reply and
the cancel/quit cases stream from the loopback OpenAI-compatible test server
(tests/support/openai_server.py), so the whole network path runs. Each number is
set beside a baseline measured in the same run:

- `k` with ~2,000 events: the time to handle the key, beside typing one letter.
- cancel: Esc while the 200 KB reply streams (paced over about 5 s), until the turn shows cancelled and every
  queued event is drawn (then, separately, until its unfinished paragraph is drawn whole); beside Esc at idle.
- quit: Ctrl+Q while the reply streams, until the process has exited (a real process in a
  pseudo-terminal); beside Ctrl+Q at idle.
- 200 KB reply: from Enter until the whole reply is drawn, beside the same reply
  through the engine alone (no screen: LangChain, recorder and bus only).

Medians print as a Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FLOWERTUI_DATA_DIR", tempfile.mkdtemp(prefix="flowertui-bench-"))
os.environ.setdefault("FLOWERTUI_CONFIG_DIR", tempfile.mkdtemp(prefix="flowertui-bench-"))

from tests.support.faults import LARGE  # noqa: E402  about 200 KB in 1,000 pieces
from tests.support.openai_server import OpenAIServer, Reply  # noqa: E402

ASK = "请介绍一下店里的花。"
REPLY = "".join(LARGE)
PACE = 0.005  # seconds between pieces for the cancel and quit cases: 200 KB in about 5 s


def server_settings(url: str):
    from flowertui.engine.providers import ProviderSettings

    return ProviderSettings(provider="compatible", model="qwen-turbo", base_url=url, api_key="sk-bench")


async def _send(pilot, text: str = ASK) -> None:
    box = pilot.app.query_one("#message")
    box.focus()
    box.value = text
    await pilot.press("enter")


async def _timed_press(pilot, key: str) -> float:
    start = time.perf_counter()
    await pilot.press(key)
    await pilot.pause(0)
    return time.perf_counter() - start


async def case_tokens_key() -> dict[str, float]:
    """`k` with the events of a 2,000-piece offline reply on the pane (folded, then every token)."""
    import flowertui.engine.shop_model as shop_model
    from bench.stream_bench import long_reply
    from flowertui.app.widgets.events_pane import EventsPane
    from tests.support.pilot import make_app, ready, settle

    text = "".join(long_reply(2000))
    shop_model.reply_for = lambda prompt: text
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await _send(pilot)
        await settle(pilot)
        await pilot.press("escape")
        letter = await _timed_press(pilot, "z")  # goes to the message box
        await pilot.press("escape")
        show = await _timed_press(pilot, "k")
        fold = await _timed_press(pilot, "k")
        events = len(app.query_one(EventsPane).events)
    return {"k (every token)": show, "k (fold)": fold, "letter": letter, "events": events}


async def case_cancel(url: str) -> dict[str, float]:
    """Esc 1.5 s into a reply paced over about 5 s, until the turn shows cancelled and nothing is left to draw."""
    from flowertui.app.widgets.conversation import AssistantTurn
    from tests.support.pilot import make_app, ready, settle, wait_until

    app = make_app(server_settings(url))
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("escape")
        idle = await _timed_press(pilot, "escape")
        await _send(pilot)
        await pilot.pause(1.5)
        start = time.perf_counter()
        app.simulate_key("escape")  # not pilot.press: it would also wait for the long block's full redraw
        cancelled = lambda: app.query(AssistantTurn) and app.query_one(AssistantTurn).has_class("cancelled")  # noqa: E731
        while not (cancelled() and not app.inbox._queue):
            await asyncio.sleep(0.002)
        cancel = time.perf_counter() - start
        tail = lambda: getattr(app.query_one(AssistantTurn), "_tail", None)  # noqa: E731
        await wait_until(pilot, lambda: not getattr(tail(), "display", False), timeout=60)
        whole = time.perf_counter() - start
        await settle(pilot)
    return {"cancel": cancel, "cancel whole": whole, "esc idle": idle}


def case_quit(url: str, streaming: bool) -> float:
    """Ctrl+Q in a real terminal (a pseudo-terminal), until the process has exited."""
    import pty
    import select
    import signal

    env = {**os.environ, "TERM": "xterm-256color", "OPENAI_API_KEY": "sk-bench", "COLUMNS": "160", "LINES": "48"}
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(sys.executable, [sys.executable, *os.environ.get("FLOWERTUI_BENCH_RUN", "-m flowertui").split(),
                                    "--base-url", url, "--model", "qwen-turbo"], env)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    seen = bytearray()

    def read_until(marker: bytes, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while marker not in seen:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.perf_counter()))
            if not ready:
                raise TimeoutError(marker, bytes(seen[-3000:]))
            seen.extend(os.read(fd, 65536))
        seen.clear()

    try:
        read_until(b"Conversation", 30)
        read_until(b"idle", 60)  # the engine is up (the status line leaves "starting")
        time.sleep(1.0)
        if streaming:
            os.write(fd, ASK.encode())
            time.sleep(0.3)
            os.write(fd, b"\r")
            read_until(b"rose", 60)  # the reply is on the screen
            time.sleep(0.5)
        start = time.perf_counter()
        os.write(fd, b"\x11")  # Ctrl+Q
        deadline = start + 30
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.01)
            if ready:
                try:
                    os.read(fd, 65536)
                except OSError:
                    pass
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return time.perf_counter() - start
        raise TimeoutError("quit")
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


async def case_large_reply(url: str) -> dict[str, float]:
    from flowertui.app.widgets.conversation import AssistantTurn
    from tests.support.pilot import make_app, ready, wait_until

    app = make_app(server_settings(url))
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        start = time.perf_counter()
        await _send(pilot)
        turn = lambda: app.query_one(AssistantTurn)  # noqa: E731
        await wait_until(pilot, lambda: len(app.query(AssistantTurn)) and turn().finished and not app.inbox._queue
                         and not getattr(getattr(turn(), "_tail", None), "display", False), timeout=120)
        await pilot.pause(0)  # the frame that draws it
        drawn = time.perf_counter() - start
        shown = app.query_one(AssistantTurn).text
    return {"app": drawn, "lost": int(shown != REPLY)}


def engine_alone(url: str) -> float:
    from tests.support.rigs import offline_rig

    rig = offline_rig(provider=server_settings(url))
    start = time.perf_counter()
    rig.conversation.ask(ASK)
    return time.perf_counter() - start


def measure(runs: int) -> dict[str, list[float]]:
    rows: dict[str, list[float]] = {}

    def keep(name: str, value: float) -> None:
        rows.setdefault(name, []).append(value)

    for _ in range(runs):
        for name, value in asyncio.run(case_tokens_key()).items():
            keep(name, value)
        with OpenAIServer(Reply(pieces=LARGE, completion_tokens=60000, piece_delay=PACE)) as server:
            for name, value in asyncio.run(case_cancel(server.base_url)).items():
                keep(name, value)
            keep("quit streaming", case_quit(server.base_url, True))
            keep("quit idle", case_quit(server.base_url, False))
        with OpenAIServer(Reply(pieces=LARGE, completion_tokens=60000)) as server:
            keep("engine alone", engine_alone(server.base_url))
            large = asyncio.run(case_large_reply(server.base_url))
            keep("200 KB app", large["app"])
            keep("lost", large["lost"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", metavar="DIR", help="also measure the checkout in DIR (its tui/), interleaved")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.runs)))
        return
    now: dict[str, list[float]] = {}
    before: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for rows, tree in ((before, args.against), (now, None)) if args.against else ((now, None),):
            env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve() / "tui")} if tree else dict(os.environ)
            done = subprocess.run([sys.executable, __file__, "--runs", "1", "--json"], env=env,
                                  capture_output=True, text=True, timeout=1200)
            if done.returncode:
                raise SystemExit(done.stderr)
            for name, values in json.loads(done.stdout.splitlines()[-1]).items():
                rows.setdefault(name, []).extend(values)
    report(now, before, args.runs)


def report(now: dict[str, list[float]], before: dict[str, list[float]], runs: int) -> None:
    m = {name: statistics.median(values) for name, values in now.items()}
    b = {name: statistics.median(values) for name, values in before.items()}
    ms = lambda s: f"{s * 1000:,.0f} ms"  # noqa: E731
    was = lambda name, fmt=ms: f"{fmt(b[name])} | " if b else ""  # noqa: E731
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {runs} runs each (medians)")
    print()
    print("| measure | " + ("before | " if b else "") + "now | baseline (same run, now) | target |")
    print("| --- | " + ("--- | " if b else "") + "--- | --- | --- |")
    print(f"| `k`: show every token ({m['events']:,.0f} events) | {was('k (every token)')}{ms(m['k (every token)'])} | "
          f"{ms(m['letter'])} (typing a letter) | ≤ 100 ms |")
    print(f"| `k`: fold tokens again | {was('k (fold)')}{ms(m['k (fold)'])} | {ms(m['letter'])} (typing a letter) | "
          "≤ 100 ms |")
    print(f"| Esc 1.5 s into a 200 KB stream, until the turn shows cancelled | {was('cancel')}{ms(m['cancel'])} | "
          f"{ms(m['esc idle'])} (Esc at idle) | ≤ 300 ms |")
    print(f"| … and until its unfinished long paragraph is drawn whole | {was('cancel whole')}"
          f"{ms(m['cancel whole'])} | | |")
    print(f"| Ctrl+Q during a 200 KB stream, until the process exits | {was('quit streaming')}{ms(m['quit streaming'])} | "
          f"{ms(m['quit idle'])} (Ctrl+Q at idle) | ≤ 500 ms |")
    sec = lambda s: f"{s:.2f} s"  # noqa: E731
    print(f"| 200 KB reply from the local server, until drawn | {was('200 KB app', sec)}{sec(m['200 KB app'])} | "
          f"{sec(m['engine alone'])} (engine alone, no screen) | ≈ engine alone |")
    print(f"| replies drawn incomplete | {was('lost', str)}{sum(now['lost']):.0f} | | 0 |")


if __name__ == "__main__":
    main()
