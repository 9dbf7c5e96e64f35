"""Kill benchmark: `kill -9` the trace viewer at a random moment, then count what recovery stored.

    python bench/kill_bench.py [--kills 30] [--calls 5]

Each round runs `flowertui trace --headless` on a program that streams `--calls`
replies of 100 tokens over about two seconds, kills the viewer with SIGKILL at a
random moment while the program goes on, waits for the program (adopted through
PR_SET_CHILD_SUBREAPER), and lets the next `flowertui sessions` import the spool.
Lost = tokens streamed − distinct tokens stored; duplicated = tokens stored twice
(same run and probe timestamp). Prints a Markdown row for docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tui"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--within", type=float, nargs=2, default=(2.0, 6.0), metavar=("FROM", "TO"),
                        help="seconds after the viewer starts to kill it, at random between these")
    args = parser.parse_args()
    from flowertui.session.store import DB_NAME, SessionStore

    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the orphaned program is ours to wait for
    rng = random.Random(args.seed)
    lost = duplicated = ended = streamed = calls = 0
    for _ in range(args.kills):
        data = Path(tempfile.mkdtemp(prefix="flowertui-kill-"))
        env = {**os.environ, "FLOWERTUI_DATA_DIR": str(data), "PYTHONPATH": str(ROOT / "tui")}
        viewer = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--headless",
                                   str(ROOT / "tests/faults/programs/paced_stream.py"), str(args.calls),
                                   str(data / "streamed")],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(*args.within))  # start-up takes 2–4 s here under load
        viewer.send_signal(signal.SIGKILL)
        viewer.wait()
        try:
            while True:
                os.waitpid(-1, 0)  # the program, adopted
        except ChildProcessError:
            pass
        if not (data / "streamed").exists():  # killed before the program had started: nothing to deliver
            shutil.rmtree(data, ignore_errors=True)
            continue
        expected = int((data / "streamed").read_text())
        streamed, calls = streamed + expected, calls + args.calls
        subprocess.run([sys.executable, "-m", "flowertui", "sessions"], env=env, capture_output=True, timeout=60)
        store = SessionStore(data / DB_NAME)
        try:
            events = [e for s in store.sessions() for e in store.events(s.id)]
        finally:
            store.close()
        tokens = collections.Counter((e.run_id, e.mono) for e in events if e.kind == "llm_new_token"
                                     and e.payload.get("token"))
        duplicated += sum(n - 1 for n in tokens.values())
        lost += expected - len(tokens)
        ended += sum(e.kind == "llm_end" for e in events)
        shutil.rmtree(data, ignore_errors=True)
    rounds = calls // args.calls
    print(f"| {args.kills} × `kill -9` of the viewer ({rounds} while its program ran) | {streamed:,} tokens streamed | "
          f"{lost} lost | {duplicated} duplicated | {ended} / {calls} replies stored with their end |")


if __name__ == "__main__":
    main()
