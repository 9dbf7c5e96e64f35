"""The span builder on real recorded sessions, the OTLP settings as the OpenTelemetry specification reads them,
and the live exporter when its endpoint is down."""

from __future__ import annotations

import pytest

from flowertui.engine.providers import ProviderSettings
from flowertui.otlp import encode
from flowertui.otlp.deliver import LiveExporter, send_events
from flowertui.otlp.endpoint import EndpointError, parse_headers, resolve
from flowertui.otlp.spans import VALUE_LIMIT, SpanBuilder
from tests.support.otlp_receiver import attributes, otlp_receiver
from tests.support.rigs import LESSON, offline_rig, record_session

PLANTED = "sk-planted-otlp-key-0123456789abcdef"


def spans_of(events):
    spans = []
    builder = SpanBuilder(spans.append)
    for event in events:
        builder(event)
    builder.finish()
    return spans, builder


def test_a_planted_key_never_reaches_the_request_body():
    rig, _ = record_session([f"我的密钥是 {PLANTED}", LESSON[0]], "summary",
                            provider=ProviderSettings(speed=0, api_key=PLANTED))
    spans, builder = spans_of(rig.events)
    body = encode.request(spans, {"service.name": "flowertui"})
    assert PLANTED.encode() not in body and "redacted".encode() in body


def test_long_text_is_cut_to_the_limit_and_what_was_cut_is_counted():
    rig = offline_rig()
    long = "玫瑰" * (VALUE_LIMIT // 2 + 500)  # 1,000 characters over the limit
    rig.conversation.ask(long)
    spans, _ = spans_of(rig.events)
    turn = next(s for s in spans if s.name == "turn 1").attributes
    assert len(turn["input.value"]) == VALUE_LIMIT + 1 and turn["input.value"].endswith("…")
    assert turn["flowertui.cut_chars"] == 1000


def test_compare_mode_sends_only_real_calls_and_tags_every_summariser_call():
    rig = offline_rig("buffer", compare=True)
    for line in LESSON:
        rig.conversation.ask(line)
    spans, _ = spans_of(rig.events)
    models = [s.attributes for s in spans if s.attributes["openinference.span.kind"] == "LLM"]
    real = sum(1 for e in rig.events if e.kind == "llm_end")
    assert len(models) == real  # compare mode's estimates for the other kinds are not calls
    upkeep = [m for m in models if m.get("flowertui.maintenance")]
    assert upkeep and {m["flowertui.memory_kind"] for m in upkeep} <= {"summary", "summary_buffer", "agent_summary"}
    assert all(m["tag.tags"] == ["memory-maintenance"] for m in upkeep)
    paid = rig.ledger.totals("buffer").total_tokens + sum(rig.ledger.totals(kind).maintenance_tokens
                                                           for kind in rig.ledger.kinds() if kind != "buffer")
    assert sum(m["llm.token_count.total"] for m in models) == paid  # the ledger's real spend, not its estimates


def test_a_memory_catch_up_is_its_own_trace_with_the_summarisers_calls_beneath_it():
    rig = offline_rig("buffer")
    rig.conversation.ask(LESSON[0])
    rig.conversation.ask(LESSON[1])
    rig.conversation.switch("summary")  # reads the two turns it missed
    spans, _ = spans_of(rig.events)
    [catch_up] = [s for s in spans if s.name == "memory catch-up summary"]
    assert catch_up.parent_span_id is None and catch_up.attributes["tag.tags"] == ["memory-maintenance"]
    under = [s for s in spans if s.parent_span_id == catch_up.span_id]
    assert under and all(s.trace_id == catch_up.trace_id and s.attributes["flowertui.maintenance"] for s in under)
    assert sum(s.attributes["llm.token_count.total"] for s in under) == rig.ledger.totals("summary").catch_up_tokens


def test_a_cancelled_reply_ends_its_model_span_with_the_turn():
    rig = offline_rig()
    rig.cancel_on_token(3)
    rig.conversation.ask(LESSON[0])
    spans, _ = spans_of(rig.events)
    turn = next(s for s in spans if s.name == "turn 1")
    assert turn.attributes["flowertui.status"] == "cancelled" and turn.error is None
    model = next(s for s in spans if s.attributes["openinference.span.kind"] == "LLM")
    assert model.error and "cancel" in model.error.lower() and model.end_ns <= turn.end_ns


@pytest.mark.parametrize(("flag", "env", "url"), [
    ("http://h:6006/v1/traces", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318"}, "http://h:6006/v1/traces"),
    ("http://h:4318", {}, "http://h:4318/v1/traces"),  # a bare server gets the traces path
    ("https://h/", {}, "https://h/v1/traces"),
    (None, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://h:1/custom", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"},
     "http://h:1/custom"),  # the per-signal variable is used as it is
    (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:4318"}, "http://h:4318/v1/traces"),
    ("env", {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://cloud.langfuse.com/api/public/otel/"},
     "https://cloud.langfuse.com/api/public/otel/v1/traces"),
])
def test_the_endpoint_follows_the_specification(flag, env, url):
    assert resolve(flag, env).url == url


def test_headers_timeout_and_compression_come_from_the_variables_the_per_signal_one_first():
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "a=1", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "X-Key=a%3Db%2Cc, ,bad,=x,k=v",
           "OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip"}
    endpoint = resolve("http://h/v1/traces", env)
    assert endpoint.headers == {"x-key": "a=b,c", "k": "v"} and endpoint.skipped_headers == 2
    assert endpoint.timeout == 2.5 and endpoint.gzip
    assert parse_headers("a=b\r\nInjected: 1") == ({}, 1)
    with pytest.raises(EndpointError, match="gzip or none"):
        resolve("http://h", {"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"})
    assert resolve("http://u:p@h:9/v1/traces?key=secret").shown == "http://h:9/v1/traces"


def test_gzip_compression_reaches_the_receiver_decodable():
    rig = offline_rig()
    rig.conversation.ask(LESSON[0])
    with otlp_receiver() as receiver:
        report = send_events(rig.events, resolve(receiver.url, {"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}))
        assert report.ok and receiver.received[0].headers["content-encoding"] == "gzip"
        assert len(receiver.spans()) == report.sent == 3  # the turn, its chain, its model call
        assert attributes(receiver.spans()[0].attributes)["session.id"] == rig.bus.session_id


def test_the_live_exporter_never_holds_up_the_events_and_counts_what_a_full_queue_dropped():
    """Its endpoint is down: each batch is retried in the background while events keep coming; what the full
    queue could not hold is dropped and said."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rig = offline_rig("buffer", compare=True)
    for line in LESSON:
        rig.conversation.ask(line)
    said: list[str] = []
    exporter = LiveExporter(resolve(f"http://127.0.0.1:{port}/v1/traces", {}), say=said.append, batch=1, size=2)
    for event in rig.events:
        exporter(event)
    report = exporter.close(wait=0.2)
    assert report.spans > 3 and report.sent == 0 and report.dropped >= report.spans - 3
    assert f"{report.spans} of {report.spans} spans not delivered" in report.line()
    assert "dropped while the queue was full" in report.line()
