"""The audit's bounded body readers: fields found wherever the body is cut, big values skipped and counted."""

from __future__ import annotations

import json

from flowertui.trace.audit.scan import SSE, TopLevel
from flowertui.trace.audit.wire import CallObserver, normal_usage


def fed(data: bytes, step: int, wanted=("model", "stream", "stream_options")) -> TopLevel:
    reader = TopLevel(wanted)
    for start in range(0, len(data), step):
        reader.feed(data[start:start + step])
    return reader


def test_top_level_fields_after_a_huge_message_are_found_at_every_cut():
    body = json.dumps({"messages": [{"role": "user", "content": 'say "hi" \\ {[,:]} ' * 2000}],
                       "nested": {"model": "not this one"}, "model": "gpt-4o-mini", "stream": True,
                       "stream_options": {"include_usage": True}}).encode()
    for step in (1, 2, 3, 7, 64, 4096, len(body)):
        assert fed(body, step).values() == {"model": "gpt-4o-mini", "stream": True,
                                            "stream_options": {"include_usage": True}}, step


def test_a_wanted_value_over_the_cap_is_dropped_and_counted():
    body = json.dumps({"model": "m" * 100, "usage": {"prompt_tokens": 1}}).encode()
    reader = TopLevel(("model", "usage"), limit=50)
    reader.feed(body)
    assert reader.values() == {"usage": {"prompt_tokens": 1}}
    assert reader.dropped > 0


def test_server_sent_events_split_anywhere_and_an_oversized_event_is_counted():
    stream = b"data: {\"a\": 1}\r\n\r\n: comment\n\ndata: " + b"x" * 300 + b"\n\ndata: [DONE]\n\n"
    for step in (1, 5, len(stream)):
        reader, got = SSE(limit=200), []
        for start in range(0, len(stream), step):
            got += reader.feed(stream[start:start + step])
        assert got == ['{"a": 1}', "[DONE]"], step
        assert reader.dropped >= 300


def test_usage_of_each_api_is_normalised():
    chat = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 2}}
    assert normal_usage(chat) == {"prompt": 10, "completion": 5, "total": 15, "cached": 4, "reasoning": 2}
    responses = {"input_tokens": 8, "output_tokens": 3, "total_tokens": 11,
                 "input_tokens_details": {"cached_tokens": 1}, "output_tokens_details": {"reasoning_tokens": 0}}
    assert normal_usage(responses) == {"prompt": 8, "completion": 3, "total": 11, "cached": 1, "reasoning": 0}
    assert normal_usage({"prompt_tokens": 2, "total_tokens": 2}) == {"prompt": 2, "completion": 0, "total": 2,
                                                                    "cached": 0, "reasoning": 0}
    assert normal_usage({"prompt_tokens": "2"}) is None and normal_usage(None) is None


def test_a_responses_api_stream_and_a_gzip_body_are_read():
    import gzip

    call = CallObserver(1, "POST", "/v1/responses")
    call.request(b'{"model": "gpt-4o-mini", "stream": true}')
    call.response_start(200, [(b"content-type", b"text/event-stream")])
    done = {"type": "response.completed", "response": {"model": "gpt-4o-mini-2024-07-18",
                                                       "usage": {"input_tokens": 5, "output_tokens": 2}}}
    call.response(f"event: response.completed\ndata: {json.dumps(done)}\n\n".encode())
    record = call.record()
    assert (record["model_answered"], record["provider_usage"]["total"], record["usage_requested"]) == \
        ("gpt-4o-mini-2024-07-18", 7, None)

    call = CallObserver(2, "POST", "/v1/embeddings")
    call.request(b'{"input": [1, 2], "model": "text-embedding-3-small"}')
    call.response_start(200, [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")])
    body = gzip.compress(json.dumps({"data": [{"embedding": [0.1] * 5000}], "model": "text-embedding-3-small",
                                     "usage": {"prompt_tokens": 2, "total_tokens": 2}}).encode())
    for start in range(0, len(body), 100):
        call.response(body[start:start + 100])
    record = call.record()
    assert record["provider_usage"]["prompt"] == 2 and record["response_bytes"] == len(body)


def test_a_program_that_hangs_up_after_the_stream_s_end_did_not_abandon_it():
    """A paced stream: the program reads `[DONE]` and exits before the upstream's body has closed. Its stream
    ended (so a missing usage is the program's `stream_usage` to fix); one cut before `[DONE]` was abandoned."""
    chunk = {"model": "gpt-4o-mini", "choices": [{"delta": {"content": "roses"}, "finish_reason": "stop"}]}
    for pieces, abandoned in ((["data: " + json.dumps(chunk), "data: [DONE]"], False),
                              (["data: " + json.dumps(chunk)], True)):
        call = CallObserver(1, "POST", "/v1/chat/completions")
        call.request(b'{"model": "gpt-4o-mini", "stream": true}')
        call.response_start(200, [(b"content-type", b"text/event-stream")])
        for piece in pieces:
            call.response(f"{piece}\n\n".encode())
        call.client_gone = True  # the hang-up the proxy saw
        assert call.record()["client_gone"] is abandoned
