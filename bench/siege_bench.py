"""Siege benchmark: the trace receiver's memory and descriptors while hostile peers come and go.

    python bench/siege_bench.py [--rounds 10] [--idle 500]

A real `flowertui trace --listen --json` runs under `ulimit -n 1024`. Each round opens
`--idle` connections that never say hello, 50 that send junk or a wrong token, one
probe connection (with the token) that sends a 20 MB line and 200 malformed records,
then a valid batch whose acknowledgement is timed; the idle ones are closed at the end
of the round. The listener's RSS and open descriptors are sampled after every round;
at the end a real program calling `flowertui.watch()` must be served live. Prints a
Markdown table for docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def status(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def read_ack(sock: socket.socket) -> bytes:
    line = b""
    while not line.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed before an acknowledgement")
        line += chunk
    return line.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--idle", type=int, default=500)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.idle + 200)), hard))
    data = Path(tempfile.mkdtemp(prefix="flowertui-siege-")) / "data"
    env = {**os.environ, "FLOWERTUI_DATA_DIR": str(data), "PYTHONPATH": str(ROOT / "tui")}
    listener = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--listen", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard)))
    listener.stderr.readline()
    info = json.loads((data / "trace-listener.json").read_text())
    host, port = info["addr"].rsplit(":", 1)
    address = (host, int(port))
    rows = []
    big = b'{"n":2,"records":[{"t":"event","kind":"text","payload":{"text":"' + b"x" * (20 << 20) + b'"}}]}\n'
    bad = json.dumps({"n": 3, "records": [{"t": "event", "kind": "llm_end", "wall": "x"}] * 200}).encode() + b"\n"
    try:
        for round_ in range(1, args.rounds + 1):
            idle = []
            for _ in range(args.idle):
                sock = socket.socket()
                sock.setblocking(False)
                sock.connect_ex(address)
                idle.append(sock)
            for i in range(50):
                with socket.create_connection(address, timeout=5) as junk:
                    junk.sendall(b"\x00garbage\n" if i % 2 else b"flowertui-probe wrong-token s 1 1\n")
            probe = socket.create_connection(address, timeout=30)
            probe.sendall(f"flowertui-probe {info['token']} siege {round_} 1\n".encode())
            started = time.monotonic()
            probe.sendall(big + bad)
            probe.sendall(json.dumps({"n": 4, "records": [{"t": "hello", "pid": round_, "argv": ["siege"]}]}).encode()
                          + b"\n")
            ack = read_ack(probe)
            took = time.monotonic() - started
            probe.close()
            time.sleep(2.5)  # the hello time: idle connections are let go
            fds = len(os.listdir(f"/proc/{listener.pid}/fd"))
            rows.append((round_, status(listener.pid, "VmRSS"), status(listener.pid, "VmHWM"), fds, took, ack))
            for sock in idle:
                sock.close()
        program = subprocess.run([sys.executable, str(ROOT / "tests/trace/programs/watched.py")], capture_output=True,
                                 env={**env, "FLOWERTUI_SOURCE": str(ROOT / "tui"), "DEMO_API_KEY": "x" * 12},
                                 timeout=60)
        served = program.returncode == 0 and not list((data / "trace-spool").glob("*.jsonl"))
    finally:
        listener.send_signal(signal.SIGINT)
        out, err = listener.communicate(timeout=60)
    document = json.loads(out)
    print(f"rounds: {args.rounds} × ({args.idle} idle + 50 junk connections, a 20 MB line, 200 malformed records)")
    print()
    print("| round | RSS | peak RSS | descriptors held | 20 MB line + 200 bad records + a batch: acknowledged after |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for round_, rss, peak, fds, took, _ack in rows:
        print(f"| {round_} | {rss:.1f} MB | {peak:.1f} MB | {fds} | {took * 1000:.0f} ms |")
    print()
    print(f"RSS after round 1 → last: {rows[0][1]:.1f} → {rows[-1][1]:.1f} MB; "
          f"a watch()ed program afterwards served live: {'yes' if served else 'NO'}; "
          f"records dropped: {sum(document.get('dropped_records', {}).values())}; "
          f"tracebacks: {err.count(b'Traceback')}")


if __name__ == "__main__":
    main()
