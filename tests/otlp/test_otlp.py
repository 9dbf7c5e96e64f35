"""OpenTelemetry export through the real commands, against a real OTLP/HTTP receiver on 127.0.0.1 that decodes
what it gets with opentelemetry-proto: span counts, parent links, token sums equal to the ledger's totals,
headers from the environment, and endpoints that refuse, fail, throttle or reject."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support.otlp_receiver import attributes, otlp_receiver
from tests.support.traced import flowertui

PROGRAMS = Path(__file__).parent / "programs"
AGENT = str(Path(__file__).parent.parent / "serve" / "programs" / "agent.py")


def by_id(spans) -> dict[bytes, object]:
    return {span.span_id: span for span in spans}


def llm_tokens(spans) -> int:
    return sum(attributes(s.attributes).get("llm.token_count.total", 0) for s in spans
               if attributes(s.attributes)["openinference.span.kind"] == "LLM")


def exported_events(session: str) -> list[dict]:
    done = flowertui("export", session, "--format", "jsonl", "-o", "-")
    return [json.loads(line) for line in done.stdout.decode().splitlines()[1:]]


def one_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert "Traceback" not in text and text.count("\n") == 1, text
    return text.strip()


def test_a_chat_session_exports_each_turn_as_a_trace_with_its_runs_and_the_ledgers_tokens():
    done = flowertui("run", "--script", "lesson", "--memory", "summary_buffer", "--json")
    document = json.loads(done.stdout)
    session = document["session_id"]
    events = exported_events(session)
    with otlp_receiver() as receiver:
        sent = flowertui("export", session, "--format", "otlp", "--endpoint", receiver.url)
        assert sent.returncode == 0, sent.stderr
        assert f"sent {len(receiver.spans())} spans" in sent.stdout.decode()
        got = receiver.received[0]
        assert got.path == "/v1/traces" and got.headers["content-type"] == "application/x-protobuf"
        spans = receiver.spans()
        again = flowertui("export", session, "--format", "otlp", "--endpoint", receiver.url)
        assert again.returncode == 0
        assert sorted(s.span_id for s in receiver.spans()[len(spans):]) == sorted(s.span_id for s in spans)  # stable

    runs = [e for e in events if e["kind"] in ("chain_start", "chat_model_start")]
    turns = {e["turn"] for e in events if e["kind"] == "turn_start"}
    assert len(spans) == len(runs) + len(turns)  # one span per run and per turn, nothing else
    spans_by_id = by_id(spans)
    roots = [s for s in spans if not s.parent_span_id]
    assert sorted(s.name for s in roots) == [f"turn {n}" for n in sorted(turns)]
    assert len({s.trace_id for s in roots}) == len(turns)  # a trace per turn
    for span in spans:
        a = attributes(span.attributes)
        assert a["session.id"] == a["gen_ai.conversation.id"] == session
        if span.parent_span_id:
            parent = spans_by_id[span.parent_span_id]
            assert parent.trace_id == span.trace_id
            expected = "CHAIN" if a["openinference.span.kind"] == "LLM" and not a.get("flowertui.maintenance") else None
            if expected:
                assert attributes(parent.attributes)["openinference.span.kind"] == expected
    models = [attributes(s.attributes) for s in spans if attributes(s.attributes)["openinference.span.kind"] == "LLM"]
    assert {m["gen_ai.provider.name"] for m in models} == {"flowertui"}
    assert {m["gen_ai.request.model"] for m in models} == {m["llm.model_name"] for m in models} == {"flowershop-offline"}
    assert all(m["gen_ai.operation.name"] == "chat" for m in models)
    upkeep = [m for m in models if m.get("flowertui.maintenance")]
    assert upkeep and all(m["tag.tags"] == ["memory-maintenance"] for m in upkeep)  # the summariser's calls
    assert len(upkeep) == sum(1 for e in events if e["kind"] == "llm_end" and e["maintenance"])
    assert llm_tokens(spans) == document["total_tokens"] == document["memories"]["summary_buffer"]["total_tokens"]
    assert sum(m["gen_ai.usage.input_tokens"] + m["gen_ai.usage.output_tokens"] for m in models) == \
        document["total_tokens"]
    first = next(attributes(s.attributes) for s in roots if s.name == "turn 1")
    assert first["input.value"] == document["turns"][0]["user"]
    assert first["output.value"] == document["turns"][0]["reply"]


def test_a_traced_agent_exports_its_run_tree_with_parent_links_and_the_trace_ledgers_tokens():
    done = flowertui("trace", "--json", "--offline", AGENT)
    document = json.loads(done.stdout)
    events = exported_events(document["session_id"])
    with otlp_receiver() as receiver:
        sent = flowertui("export", document["session_id"], "--format", "otlp", "--endpoint", receiver.url)
        assert sent.returncode == 0, sent.stderr
        spans = receiver.spans()
        resource = receiver.resources()[0]
    started = [e for e in events if e["kind"].endswith("_start") and e.get("run_id")]
    assert len(spans) == len(started)
    spans_by_id = by_id(spans)
    [root] = [s for s in spans if not s.parent_span_id]  # one top-level run: one trace
    assert root.name == "LangGraph" and {s.trace_id for s in spans} == {root.trace_id}
    assert all(s.parent_span_id in spans_by_id for s in spans if s is not root)
    for event in started:  # every LangChain parent link is kept
        span = next(s for s in spans if attributes(s.attributes)["flowertui.run_id"] == event["run_id"])
        if event["parent_run_id"]:
            assert attributes(spans_by_id[span.parent_span_id].attributes)["flowertui.run_id"] == event["parent_run_id"]
        assert span.start_time_unix_nano == int(event["wall"] * 1e9) <= span.end_time_unix_nano
    kinds = Counter(attributes(s.attributes)["openinference.span.kind"] for s in spans)
    assert kinds["LLM"] == document["models"]["gpt-4o-mini"]["calls"] == 2 and kinds["TOOL"] == 1
    [tool] = [attributes(s.attributes) for s in spans if attributes(s.attributes)["openinference.span.kind"] == "TOOL"]
    assert tool["tool.name"] == "price_of" and tool["output.value"] == "roses: 8 CNY a stem"
    models = [s for s in spans if attributes(s.attributes)["openinference.span.kind"] == "LLM"]
    assert all(s.kind == s.SPAN_KIND_CLIENT and attributes(s.attributes)["gen_ai.provider.name"] == "openai"
               for s in models)
    assert llm_tokens(spans) == document["models"]["gpt-4o-mini"]["total_tokens"] == document["runs"][0]["total_tokens"]
    assert resource["service.name"] == "flowertui" and resource["flowertui.session.kind"] == "trace"


def test_live_trace_otlp_sends_runs_as_they_end_with_errors_and_the_environments_headers(tmp_path):
    with otlp_receiver() as receiver:
        base = receiver.url.removesuffix("/v1/traces")
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": base,  # a base URL: v1/traces is appended
               "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Basic%20Zmxvd2VyOnNob3A=, x-team = roses ,broken"}
        done = flowertui("trace", "--json", "--otlp", "env", str(PROGRAMS / "failing.py"), env=env)
        assert done.returncode == 0, done.stderr
        spans = receiver.spans()
        got = receiver.received[0]
    document = json.loads(done.stdout)
    assert got.path == "/v1/traces"
    assert got.headers["authorization"] == "Basic Zmxvd2VyOnNob3A=" and got.headers["x-team"] == "roses"
    assert f"OTLP: sent {len(spans)} spans to {receiver.url}" in done.stderr.decode()
    assert len(spans) == 4  # the sequence, its prompt, the model and the lambda
    failed = {s.name: s for s in spans if s.status.code == s.status.STATUS_CODE_ERROR}
    assert set(failed) == {"RunnableSequence", "out_of_roses"}
    assert "no roses left" in failed["out_of_roses"].status.message
    [thrown] = failed["out_of_roses"].events
    assert thrown.name == "exception" and attributes(thrown.attributes)["exception.type"] == "ValueError"
    [model] = [attributes(s.attributes) for s in spans if attributes(s.attributes)["openinference.span.kind"] == "LLM"]
    assert model["flowertui.usage_missing"] is True  # tiktoken's count, as the ledger has it
    assert llm_tokens(spans) == document["models"]["unknown model"]["total_tokens"]

    with otlp_receiver() as receiver:  # the same session exported afterwards: the same spans
        flowertui("export", document["session_id"], "--format", "otlp", "--endpoint", receiver.url)
        assert sorted(s.span_id for s in receiver.spans()) == sorted(s.span_id for s in spans)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(("answers", "said"), [
    ((500,), "answered 500 Internal Server Error: try later"),  # the body's escape sequence is not shown
    ((404,), "no OTLP receiver at this path"),
    ((401,), "OTEL_EXPORTER_OTLP_HEADERS"),
    ((("reject", 2, "span too \x1b[1mlarge"),), "the endpoint rejected 2 spans: span too large"),
])
def test_an_endpoint_that_fails_or_rejects_is_said_in_one_line_and_exits_1(answers, said):
    done = flowertui("run", "--script", "lesson", "--json")
    session = json.loads(done.stdout)["session_id"]
    with otlp_receiver(*answers) as receiver:
        sent = flowertui("export", session, "--format", "otlp", "--endpoint", receiver.url)
    line = one_line(sent.stderr)
    assert sent.returncode == 1 and line.startswith("flowertui: error: OTLP: ") and said in line, line
    assert "\x1b" not in line
    assert receiver.attempts == 1  # not retried


def test_a_throttled_or_unavailable_endpoint_is_retried():
    done = flowertui("run", "--script", "lesson", "--json")
    session = json.loads(done.stdout)["session_id"]
    with otlp_receiver(429, 503) as receiver:
        sent = flowertui("export", session, "--format", "otlp", "--endpoint", receiver.url)
        assert sent.returncode == 0, sent.stderr
        assert receiver.attempts == 3 and receiver.spans()


def test_a_refusing_endpoint_is_one_line_for_export_and_never_changes_a_traced_programs_exit():
    port = _closed_port()
    url = f"http://user:sk-inurl0123456789@127.0.0.1:{port}/v1/traces?key=sk-query0123456789"
    done = flowertui("run", "--script", "lesson", "--json")
    session = json.loads(done.stdout)["session_id"]
    sent = flowertui("export", session, "--format", "otlp", "--endpoint", url)
    line = one_line(sent.stderr)
    assert sent.returncode == 1 and f"cannot reach http://127.0.0.1:{port}/v1/traces" in line
    assert "sk-" not in line  # the URL's credentials and query are never said

    traced = flowertui("trace", "--headless", "--otlp", url, str(PROGRAMS / "failing.py"))
    assert traced.returncode == 0 and traced.stdout.decode() == "failed: no roses left\n"
    said = [line for line in traced.stderr.decode().splitlines() if "OTLP" in line]
    assert "Traceback" not in traced.stderr.decode()
    assert said[0].startswith("flowertui: OTLP: cannot reach")  # at once, while the program runs
    assert said[-1].startswith("flowertui: OTLP: 4 of 4 spans not delivered")


@pytest.mark.parametrize("argv", [
    ["export", "latest", "--format", "otlp", "--endpoint", "http://127.0.0.1:9/v1/traces"],
    ["trace", "--headless", "--otlp", "http://127.0.0.1:9/v1/traces", "nothing.py"],
])
def test_without_the_otlp_extra_the_command_says_how_to_install_it(argv):
    code = ("import sys; sys.modules['opentelemetry'] = None; from flowertui.cli import main; "
            f"sys.exit(main({argv!r}))")
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=os.environ.copy())
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "pip install 'flowertui[otlp]'" in done.stderr, done.stderr


@pytest.mark.parametrize(("argv", "said"), [
    (["export", "latest", "--format", "otlp"], "no OTLP endpoint"),
    (["export", "latest", "--format", "otlp", "--endpoint", "localhost:4318"], "must be an http:// or https://"),
    (["export", "latest", "--format", "otlp", "--endpoint", "http://x/v1/traces", "-o", "a.pb"], "writes no file"),
    (["export", "latest", "--format", "md"], "give it with -o PATH"),
    (["export", "latest", "--format", "md", "-o", "-", "--endpoint", "http://x"], "--endpoint is for --format otlp"),
    (["trace", "--headless", "--otlp", "env", "x.py"], "--otlp: no OTLP endpoint"),
])
def test_otlp_flags_that_cannot_work_are_refused_in_one_line(argv, said):
    done = flowertui(*argv)
    assert done.returncode == 2 and said in one_line(done.stderr)


def test_a_listener_sends_a_watched_programs_runs():
    import signal
    import subprocess

    import flowertui as package

    with otlp_receiver() as receiver:
        listener = subprocess.Popen([sys.executable, "-m", "flowertui", "trace", "--listen", "--json", "--otlp",
                                     receiver.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert b"listening as session" in listener.stderr.readline()
        env = {**os.environ, "FLOWERTUI_SOURCE": str(Path(package.__file__).parent.parent),
               "DEMO_API_KEY": "demo-secret-value-123"}
        watched = Path(__file__).parent.parent / "trace" / "programs" / "watched.py"
        done = subprocess.run([sys.executable, str(watched)], capture_output=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        listener.send_signal(signal.SIGINT)
        out, err = listener.communicate(timeout=30)
        spans = receiver.spans()
    document = json.loads(out)
    assert listener.returncode == 0 and b"OTLP: sent 3 spans" in err
    assert sorted(s.name for s in spans) == ["ChatPromptTemplate", "FakeListChatModel", "RunnableSequence"]
    assert {attributes(s.attributes)["session.id"] for s in spans} == {document["session_id"]}
    assert not any(b"demo-secret-value-123" in s.SerializeToString() for s in spans)
