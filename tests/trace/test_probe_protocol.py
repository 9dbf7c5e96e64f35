"""docs/PROBE.md's examples are what the probe sends and what the viewer accepts."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from flowertui.engine.bus import EventBus
from flowertui.trace.launcher import probe_env
from flowertui.trace.probe.flowertui_probe import PROTOCOL
from flowertui.trace.receiver import Listener, Translator
from tests.support.schema import check_event
from tests.support.traced import program

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "PROBE.md").read_text("utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)


def examples() -> tuple[list[dict], list[dict]]:
    """The batch examples and the single-record examples of the document."""
    parsed = [json.loads(block) for block in blocks("json")]
    return [p for p in parsed if "records" in p], [p for p in parsed if "t" in p]


def real_probe_output(tmp_path: Path) -> tuple[str, list[dict]]:
    """What a real program's probe sends a viewer that never acknowledges: its hello line and its records."""
    server = socket.create_server(("127.0.0.1", 0))
    received = []

    def read_all():
        conn, _ = server.accept()
        with conn, conn.makefile("rb") as reader:
            received.extend(line.decode() for line in reader)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    host, port = server.getsockname()[:2]
    env = probe_env(os.environ, addr=f"{host}:{port}", token="t0ken", spool_dir=tmp_path, session_id="proto0000001",
                    run=1)
    done = subprocess.run([sys.executable, program("raising.py")], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    reader.join(30)
    server.close()
    return received[0], [r for line in received[1:] for r in json.loads(line)["records"]]


def test_the_documents_examples_are_what_a_real_probe_sends(tmp_path):
    hello_line, records = real_probe_output(tmp_path)
    [documented] = [b.strip() for b in blocks("text") if b.startswith("flowertui-probe")]
    assert hello_line.split() == ["flowertui-probe", "t0ken", "proto0000001", hello_line.split()[3], "1", str(PROTOCOL)]
    assert len(documented.split()) == len(hello_line.split())
    batches, singles = examples()
    documented_records = [r for b in batches for r in b["records"]] + singles
    for example in documented_records:
        like = [r for r in records if r["t"] == example["t"] and r.get("kind") == example.get("kind")
                and ("handlers" in r) == ("handlers" in example)]
        if example.get("kind") in ("llm_new_token", "chain_end") and not like:
            continue  # raising.py streams no tokens
        assert like, f"the probe sent no {example['t']} {example.get('kind', '')} record"
        assert set(like[0]) == set(example), (example["t"], example.get("kind"))
        if "payload" in example:
            assert set(like[0]["payload"]) == set(example["payload"]), example["kind"]
    assert {b["n"] for b in batches} and all(set(b) == {"n", "dropped", "records"} for b in batches)


def test_the_viewer_accepts_the_documents_hello_line_and_batches_and_acknowledges_them():
    batches, _ = examples()
    bus = EventBus("proto0000002")
    seen = []
    bus.subscribe(seen.append)
    translator = Translator(bus)
    listener = Listener(lambda record, origin: translator(record))
    [documented] = [b.strip() for b in blocks("text") if b.startswith("flowertui-probe")]
    hello = documented.replace("TOKEN", listener.token).replace("SESSION", "proto0000002").replace("PID", "4242")
    hello = hello.replace("RUN", "1").replace("PROTOCOL", str(PROTOCOL))
    host, port = listener.addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall((hello + "\n").encode())
        for batch in batches:
            conn.sendall((json.dumps(batch) + "\n").encode())
        last = f"ack {max(b['n'] for b in batches)}\n".encode()
        acks = b""
        while not acks.endswith(last):  # one ack per read: the last batch number read so far
            acks += conn.recv(100)
    listener.wait_quiet(10)
    listener.close()
    assert all(line.startswith("ack ") for line in acks.decode().splitlines())
    sent = [r for b in batches for r in b["records"]]
    assert [e.kind for e in seen] == [r.get("kind", "probe_hello") for r in sent if r["t"] != "loaded"]
    for event in seen:
        check_event(event.to_dict())
    assert seen[0].payload.protocol == PROTOCOL
    tokens = [e for e in seen if e.kind == "llm_new_token"]
    assert [t.payload.token for t in tokens] == ["ro", "ses"] and tokens[1].payload.handlers == tokens[0].payload.handlers
