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
from flowertui.trace.receiver import Listener, Translator, read_batch
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


def real_probe_output(tmp_path: Path, name: str) -> tuple[str, list[dict]]:
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
    done = subprocess.run([sys.executable, program(name)], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    reader.join(30)
    server.close()
    return received[0], [r for line in received[1:] for r in json.loads(line)["records"]]


def test_the_documents_examples_are_what_a_real_probe_sends(tmp_path):
    hello_line, records = real_probe_output(tmp_path, "raising.py")
    records += real_probe_output(tmp_path, "streams_short.py")[1]
    [documented] = [b.strip() for b in blocks("text") if b.startswith("flowertui-probe")]
    assert hello_line.split() == ["flowertui-probe", "t0ken", "proto0000001", hello_line.split()[3], "1", str(PROTOCOL)]
    assert len(documented.split()) == len(hello_line.split())
    batches, singles = examples()
    documented_records = [r for b in batches for r in b["records"]] + singles
    for example in documented_records:
        like = [r for r in records if r["t"] == example["t"] and r.get("kind") == example.get("kind")
                and ("handlers" in r) == ("handlers" in example)]
        if example.get("kind") == "chain_end" and not like:
            continue  # raising.py's chains fail; streams_short.py's stream ends with no outputs to read
        assert like, f"the probe sent no {example['t']} {example.get('kind', '')} record"
        assert set(like[0]) == set(example), (example["t"], example.get("kind"))
        if "payload" in example:
            assert set(like[0]["payload"]) == set(example["payload"]), example["kind"]
    assert {b["n"] for b in batches} and all(set(b) == {"n", "dropped", "records"} for b in batches)


def test_a_runs_later_tokens_go_in_tokens_records_and_a_handler_error_on_one_names_its_run(tmp_path):
    _, records = real_probe_output(tmp_path, "streams_short.py")
    [first] = [r for r in records if r.get("kind") == "llm_new_token"]
    assert first["payload"] == {"token": "r"} and first["handlers"] == [["Picky", "request", True]]
    packed = [r for r in records if r["t"] == "tokens"]
    assert all(r["run_id"] == first["run_id"] for r in packed)
    assert [t for r in packed for t in r["tokens"]] == list("oses")
    monos = [m for r in packed for m in r["mono_ns"]]
    assert monos == sorted(monos) and all(m <= r["clock"][1] for r in packed for m in r["mono_ns"])
    errors = [r for r in records if r["t"] == "handler_error"]
    assert [(e["handler"], e["callback"], e["run_id"]) for e in errors] == [("Picky", "on_llm_new_token",
                                                                              first["run_id"])] * 2


def test_a_version_2_probes_token_events_are_still_read():
    run = "01a245ac-06e2-70d5-b189-51dd7fdf005c"
    line = json.dumps({"n": 4, "dropped": 0, "records": [
        {"t": "event", "kind": "llm_new_token", "run_id": run, "parent_run_id": None, "wall": 1796465231.6001,
         "mono": 1330.5271, "handlers": [["Mine", "request", True]], "name": "token", "payload": {"token": "ro"}},
        {"t": "event", "kind": "llm_new_token", "run_id": run, "wall": 1796465231.6002, "mono": 1330.5272,
         "name": "token", "payload": {"token": "ses"}}]})
    number, records, problems = read_batch(line)
    assert number == 4 and not problems
    bus = EventBus("proto0000003")
    seen = []
    bus.subscribe(seen.append)
    translator = Translator(bus)
    for record in records:
        translator(record)
    assert [e.payload.token for e in seen] == ["ro", "ses"] and seen[1].payload.handlers == seen[0].payload.handlers
    assert seen[1].run_id == run


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
    expected = [kind for r in sent if r["t"] != "loaded" for kind in
                (["llm_new_token"] * len(r["tokens"]) if r["t"] == "tokens" else [r.get("kind", "probe_hello")])]
    assert [e.kind for e in seen] == expected
    for event in seen:
        check_event(event.to_dict())
    assert seen[0].payload.protocol == PROTOCOL
    tokens = [e for e in seen if e.kind == "llm_new_token"]
    assert [t.payload.token for t in tokens] == ["ro", "s", "es"]
    assert tokens[1].payload.handlers == tokens[2].payload.handlers == tokens[0].payload.handlers
    [packed] = [r for r in sent if r["t"] == "tokens"]
    clock_wall, clock_ns = packed["clock"]
    for event, mono_ns in zip(tokens[1:], packed["mono_ns"]):  # each token's wall time from the record's two clocks
        assert event.run_id == packed["run_id"]
        assert abs(event.wall - (clock_wall - (clock_ns - mono_ns) / 1e9)) < 1e-6 and event.mono == mono_ns / 1e9


def test_a_malformed_tokens_record_is_dropped_whole_and_counted():
    run = "01a245ac-06e2-70d5-b189-51dd7fdf005c"
    good = {"t": "tokens", "run_id": run, "clock": [1796465231.6, 5_000], "mono_ns": [4_000], "tokens": ["a"]}
    bad = [{**good, "run_id": None}, {**good, "clock": [1796465231.6]}, {**good, "clock": [float("nan"), 5_000]},
           {**good, "mono_ns": [4_000, 4_500]}, {**good, "mono_ns": [4.0]}, {**good, "mono_ns": [10 ** 400]},
           {**good, "mono_ns": [-1]}, {**good, "tokens": [7]}, {**good, "clock": [1796465231.6, 10 ** 400]}]
    number, records, problems = read_batch(json.dumps({"n": 1, "dropped": 0, "records": [*bad, good]}))
    assert problems == ["a tokens record without its run, clock, times and texts"] * len(bad)
    assert [(r["kind"], r["payload"], r["run_id"]) for r in records] == [("llm_new_token", {"token": "a"}, run)]
    assert abs(records[0]["wall"] - (1796465231.6 - 1e-6)) < 1e-6 and records[0]["mono"] == 4e-6
