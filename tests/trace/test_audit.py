"""`flowertui trace --audit` for real: the command as a child process, the program's real openai client and
ChatOpenAI / OpenAIEmbeddings, through the proxy to real upstreams on 127.0.0.1 (the offline server, and
a small Starlette one started here for a 429-then-200, a raw stream and a 10 MB body)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

from flowertui.engine.events import AUDIT_CALL
from flowertui.paths import data_dir
from tests.support.traced import flowertui, program, session_events
from tests.trace.audit_upstream import Upstream
from tests.trace.test_trace_recovery import exit_code_of, subreaper, waitable  # noqa: F401  (subreaper: fixture)
from tests.trace.test_viewer_dies import _cmdline, _parent, _pids

KEY = "sk-audit-7f3c9e1a2b4d6f8e0a1c3e5g"


def audit_json(*args: str, env: dict[str, str] | None = None):
    done = flowertui("trace", "--audit", "--json", *args, env=env, timeout=180)
    assert done.stdout.strip(), done.stderr.decode(errors="replace")
    return json.loads(done.stdout), done


def test_offline_audit_finds_the_stream_without_usage_and_the_embeddings_without_a_run():
    document, done = audit_json("--offline", "--", program("audit_offline.py"))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    audit = document["audit"]
    stream, plain, embeddings = audit["calls"]
    run_ids = {run["run_id"] for run in document["runs"]}

    assert stream["stream"] is True and stream["usage_requested"] is False and stream["provider_usage"] is None
    assert "stream without `stream_options.include_usage`: pass `stream_usage=True`" in stream["findings"]
    assert stream["run_id"] in run_ids and stream["estimate"]["completion"] > 0

    assert plain["run_id"] in run_ids and plain["run_id"] != stream["run_id"]
    assert plain["provider_usage"]["total"] > 0
    for key in ("prompt", "completion", "total"):
        assert plain["callback_usage"][key] == plain["provider_usage"][key]
    assert plain["findings"] == []

    assert embeddings["endpoint"].endswith("/embeddings") and embeddings["run_id"] is None
    assert embeddings["provider_usage"]["prompt"] > 0 and embeddings["callback_usage"] is None
    kinds = {item["kind"]: item["count"] for item in audit["findings"]}
    assert kinds == {"stream_without_usage": 1, "embeddings": 1}
    assert audit["totals"]["provider"]["total"] == plain["provider_usage"]["total"] + embeddings["provider_usage"]["total"]
    assert audit["totals"]["callback"]["total"] == plain["callback_usage"]["total"]

    stored = [event for event in session_events(document["session_id"]) if event.kind == AUDIT_CALL]
    assert [event.payload.call for event in stored] == [1, 2, 3]
    assert stored[2].payload.api == "embeddings"


def test_a_retried_429_is_two_calls_of_one_run():
    with Upstream() as upstream:
        document, done = audit_json("--no-offline", "--", program("audit_retry.py"),
                                    env={"OPENAI_BASE_URL": upstream.base_url, "OPENAI_API_KEY": KEY})
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    first, second = document["audit"]["calls"]
    assert (first["status"], second["status"]) == (429, 200)
    assert first["run_id"] == second["run_id"] == document["runs"][0]["run_id"]
    assert "retry: 2 calls, 1 run" in second["findings"] and "retried: HTTP 429" in first["findings"]
    assert second["model_answered"] == "flaky-2026-01-01" and second["model_asked"] == "flaky"
    assert {"kind": "retry", "count": 1} in [{k: f[k] for k in ("kind", "count")} for f in document["audit"]["findings"]]
    assert upstream.authorization == [f"Bearer {KEY}"] * 2  # the key reached the upstream, twice


def test_bytes_pass_unchanged_and_the_key_is_never_stored(tmp_path):
    received = tmp_path / "received.json"
    with Upstream() as upstream:
        document, done = audit_json("--no-offline", "--", program("audit_wire.py"), str(received),
                                    env={"OPENAI_BASE_URL": upstream.base_url, "OPENAI_API_KEY": KEY})
        sent = bytes(upstream.sent)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    got = json.loads(received.read_text())
    assert bytes.fromhex(got["stream"]) == sent  # the stream, byte for byte, cut where the upstream cut it

    digest, size = got["answer"].split()
    assert digest == got["sent"]  # the 10 MB body reached the upstream intact
    stream, big = document["audit"]["calls"]
    assert int(size) == big["request_bytes"] > 10_000_000 and big["model_asked"] == "echo" and big["status"] == 200
    assert big["provider_usage"] == {"prompt": 12, "completion": 7, "cached": 0, "reasoning": 0, "total": 19}
    assert stream["stream"] is True and stream["provider_usage"] is None and stream["run_id"] is None
    assert "stream without `stream_options.include_usage`: pass `stream_usage=True`" in stream["findings"]
    assert upstream.authorization == [f"Bearer {KEY}"] * 2

    assert KEY not in done.stdout.decode() and KEY not in done.stderr.decode()
    for path in data_dir().rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    exported = flowertui("export", document["session_id"], "--format", "jsonl", "-o", "-")
    assert exported.returncode == 0 and b"audit_call" in exported.stdout and KEY.encode() not in exported.stdout


def test_sigkill_of_flowertui_leaves_the_proxy_forwarding_until_the_program_ends(tmp_path, subreaper):  # noqa: F811
    marker = tmp_path / "go-on"
    viewer = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--headless", "--audit", "--offline",
                               program("offline_survivor.py"), str(marker)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        pid = int(viewer.stdout.readline())
        assert viewer.stdout.readline() == b"first: True\n"
        proxies = [p for p in _pids() if "flowertui.trace.audit.proxy" in _cmdline(p) and _parent(p) == viewer.pid]
        assert len(proxies) == 1
        waited = waitable(pid)
        viewer.send_signal(signal.SIGKILL)
        viewer.wait(10)
        time.sleep(1.0)  # a proxy that ended with flowertui would be gone by now
    finally:
        marker.touch()  # whatever failed, the program ends
        viewer.kill()
    assert viewer.stdout.read() == b"second: True\n"  # the second call went through the proxy, after the kill
    assert exit_code_of(waited) == 3
    deadline = time.monotonic() + 15
    while _cmdline(proxies[0]) and time.monotonic() < deadline:  # and the proxy ended with the program
        with contextlib.suppress(ChildProcessError):
            os.waitpid(proxies[0], os.WNOHANG)
        time.sleep(0.1)
    assert not _cmdline(proxies[0])


def test_cached_tokens_without_a_cached_price_and_a_reply_without_model_name_are_named():
    from flowertui.paths import config_dir

    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "prices.toml").write_text('[models."cached"]\ncurrency = "USD"\ninput = 1.0\noutput = 2.0\n')
    with Upstream() as upstream:
        document, done = audit_json("--no-offline", "--", program("audit_usage.py"),
                                    env={"OPENAI_BASE_URL": upstream.base_url, "OPENAI_API_KEY": KEY})
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    cached, nameless = document["audit"]["calls"]
    assert cached["provider_usage"]["cached"] == 4 and cached["callback_usage"]["cached"] == 4
    assert cached["findings"] == ["cached tokens not priced"]
    assert nameless["model_answered"] is None and nameless["run_id"] is not None
    assert nameless["findings"] == ["callback counted 0: response had no `model_name`"]
    kinds = {item["kind"] for item in document["audit"]["findings"]}
    assert kinds == {"cached_not_priced", "callback_no_model_name"}


def test_audit_needs_a_program_it_starts():
    done = flowertui("trace", "--listen", "--audit", "--headless")
    assert done.returncode == 2 and b"--audit needs a program flowertui starts" in done.stderr


def test_a_program_that_hangs_up_mid_stream_makes_the_proxy_hang_up_on_the_upstream():
    with Upstream() as upstream:
        document, done = audit_json("--no-offline", "--", program("audit_hang_up.py"),
                                    env={"OPENAI_BASE_URL": upstream.base_url, "OPENAI_API_KEY": KEY})
        time.sleep(0.3)  # a proxy still reading would keep the upstream sending
        sent = upstream.slow_sent
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    [call] = document["audit"]["calls"]
    assert sent < 40  # the upstream was told: its stream stopped long before its 50 chunks
    assert call["stream"] is True and call["findings"] == ["no run: a call made outside LangChain's callbacks"]


def test_concurrent_calls_of_one_model_each_meet_their_own_run():
    document, done = audit_json("--offline", "--", program("audit_gather.py"))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    calls = document["audit"]["calls"]
    assert len(calls) == 3 and len({call["run_id"] for call in calls}) == 3
    for call in calls:  # prompts of three lengths: a call given another's run would disagree
        assert call["callback_usage"] == call["provider_usage"] and call["findings"] == []


def test_sigkill_of_the_app_leaves_the_proxy_forwarding_until_the_program_ends(tmp_path, subreaper):  # noqa: F811
    from tests.trace.pty_app import PtyApp
    from tests.trace.test_viewer_dies import _exit_code_of

    marker = tmp_path / "go-on"
    app = PtyApp("trace", "--audit", "--offline", program("offline_survivor.py"), str(marker))
    try:
        app.wait_for("first: True", timeout=90)
        proxies = [p for p in _pids() if "flowertui.trace.audit.proxy" in _cmdline(p) and _parent(p) == app.process.pid]
        assert len(proxies) == 1
        app.process.kill()
        app.wait(10)
        time.sleep(1.0)  # a proxy that ended with flowertui would be gone by now
        holders = [p for p in _pids() if _cmdline(p).endswith(str(marker)) and "relay.py" not in _cmdline(p)]
        parent = _parent(holders[0])
        waited = parent if "relay.py" in _cmdline(parent) else holders[0]  # whichever is now this test's child
    finally:
        marker.touch()
        app.close()
    assert _exit_code_of(waited) == 3  # its second call went through the proxy after the kill
    done = flowertui("sessions")
    output = next(line for line in done.stderr.decode().splitlines() if "its later output is in" in line)
    assert open(output.split("its later output is in ")[1], "rb").read() == b"second: True\n"
