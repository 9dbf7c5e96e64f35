"""The trace receiver against hostile and broken peers, with real processes and sockets.

A siege of idle connections under `ulimit -n 1024`, a 24 MB line, malformed records:
the viewer keeps serving, its memory stays bounded, and nothing prints a traceback.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from flowertui.session.store import DB_NAME, SessionStore

PROGRAMS = Path(__file__).parent / "programs"
SIEGE = 1100


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.stat().st_size:
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_siege_of_idle_connections_under_ulimit_1024_leaves_the_receiver_serving_live(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))  # the siege's own sockets

    def ulimit_1024():
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))

    data = tmp_path / "data"
    addr_file, go = tmp_path / "addr", tmp_path / "go"
    viewer = subprocess.Popen(
        [sys.executable, "-m", "flowertui", "trace", "--json", str(PROGRAMS / "wait_then_call.py"), str(addr_file),
         str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=ulimit_1024,
        env={**os.environ, "FLOWERTUI_DATA_DIR": str(data)})
    wait_for(addr_file)
    host, port = addr_file.read_text().rsplit(":", 1)
    siege = []
    try:
        for _ in range(SIEGE):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex((host, int(port)))
            siege.append(sock)
        time.sleep(3.0)  # longer than the hello may take: every idle connection has been let go or is waiting
        held = len(os.listdir(f"/proc/{viewer.pid}/fd"))
        go.touch()
        out, err = viewer.communicate(timeout=60)
    finally:
        for sock in siege:
            sock.close()
    assert viewer.returncode == 0, err.decode()
    assert b"Traceback" not in err
    document = json.loads(out)
    store = SessionStore(data / DB_NAME)
    events = store.events(document["session_id"])
    store.close()
    assert [e.payload["text"] for e in events if e.kind == "llm_end"] == ["after the siege"]  # served live
    assert held < 64 + 40  # descriptors: at most 64 connections waiting for their hello, plus its own files
    print(f"siege: {SIEGE} idle connections, the viewer held {held} descriptors, probe served live")


def start_listener(data: Path):
    listener = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--listen", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "FLOWERTUI_DATA_DIR": str(data)})
    assert b"listening as session" in listener.stderr.readline()
    info = json.loads((data / "trace-listener.json").read_text())
    host, port = info["addr"].rsplit(":", 1)
    return listener, (host, int(port)), info["token"]


def probe_connection(address, token: str) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    sock.sendall(f"flowertui-probe {token} attacker 4242 1\n".encode())
    return sock


def read_ack(sock: socket.socket) -> bytes:
    line = b""
    while not line.endswith(b"\n"):
        chunk = sock.recv(1)
        assert chunk, "connection closed before an acknowledgement"
        line += chunk
    return line.strip()


def batch(number: int, *records) -> bytes:
    return json.dumps({"n": number, "records": list(records)}).encode() + b"\n"


def event(kind: str, run_id: str = "r1", **fields) -> dict:
    return {"t": "event", "kind": kind, "run_id": run_id, "wall": time.time(), "mono": time.monotonic(),
            "name": kind, "payload": {}, **fields}


def test_a_24_mb_line_is_skipped_in_bounded_memory_and_malformed_records_are_counted(tmp_path):
    data = tmp_path / "data"
    listener, address, token = start_listener(data)
    try:
        sock = probe_connection(address, token)
        sock.sendall(batch(1, {"t": "hello", "pid": 4242, "argv": ["attack.py"]},  # tiktoken loaded before measuring
                           event("chat_model_start", run_id="r0", payload={"model": "gpt-4o-mini", "messages": [{"role": "human", "content": "warm up"}]})))
        assert read_ack(sock) == b"ack 1"
        time.sleep(1.0)
        before = peak_rss_kb(listener.pid)
        started = time.monotonic()
        chunk = b'{"n":2,"records":[{"t":"event","kind":"text","payload":{"text":"' + b"x" * (1 << 20)
        for _ in range(24):
            sock.sendall(chunk)
        sock.sendall(b'"}}]}\n' + batch(3, event("chat_model_start", payload={"model": "gpt-4o-mini", "messages": []})))
        assert read_ack(sock) == b"ack 3"
        took = time.monotonic() - started
        grew_mb = (peak_rss_kb(listener.pid) - before) / 1024
        bad = [1, "text", {"t": "event", "kind": "llm_end", "wall": "yesterday"},
               {"t": "event", "kind": "chain_start", "payload": ["not", "an", "object"]},
               {"t": "event", "kind": "llm_start", "handlers": "everyone"},
               {"t": "event", "kind": "llm_end", "run_id": 7},
               {"t": "hello", "argv": "not a list"}, {"t": "mystery"}]
        sock.sendall(b"this is not json\n" + b"[1, 2, 3]\n" + batch(4, *bad, event(
            "llm_end", payload={"text": "still here", "usage": None})))
        assert read_ack(sock) == b"ack 4"  # the connection goes on
        sock.sendall(batch(5, event("chain_start", run_id="r2", payload={"inputs": {}})))
        assert read_ack(sock) == b"ack 5"
        sock.close()
    finally:
        listener.send_signal(signal.SIGINT)
        out, err = listener.communicate(timeout=30)
    assert listener.returncode == 0 and b"Traceback" not in err, err.decode()
    document = json.loads(out)
    assert document["dropped_records"] == {
        "a line over 8 MB": 1, "a line that is not JSON": 1, "a line that is not a batch of records": 1,
        "a record that is not an object": 2, "a record with a bad wall time": 1,
        "an event whose payload is not an object": 1, "an event with malformed handlers": 1,
        "a record with a bad run_id": 1, "a hello with a bad argv": 1, "a record of unknown type": 1}
    assert b"dropped 11 unusable records" in err
    store = SessionStore(data / DB_NAME)
    events = store.events(document["session_id"])
    store.close()
    assert [e.payload["text"] for e in events if e.kind == "llm_end"] == ["still here"]
    assert took < 3.0 and grew_mb < 16, (took, grew_mb)  # linear, and the 24 MB line was never kept whole
    print(f"24 MB line: skipped in {took:.2f} s, peak RSS +{grew_mb:.1f} MB")


def test_silent_and_junk_connections_are_let_go_within_the_hello_time(tmp_path):
    data = tmp_path / "data"
    listener, address, token = start_listener(data)
    try:
        silent = socket.create_connection(address, timeout=10)
        wrong = socket.create_connection(address, timeout=10)
        wrong.sendall(b"flowertui-probe not-the-token s 1 1\n")
        started = time.monotonic()
        assert silent.recv(1) == b"" and wrong.recv(1) == b""
        assert time.monotonic() - started <= 2.5
        good = probe_connection(address, token)
        good.sendall(batch(1, {"t": "hello", "pid": 1, "argv": ["ok.py"]}))
        assert read_ack(good) == b"ack 1"
        good.close()
    finally:
        listener.send_signal(signal.SIGINT)
        _, err = listener.communicate(timeout=30)
    assert listener.returncode == 0 and b"Traceback" not in err
