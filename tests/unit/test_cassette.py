"""The cassette read from a session's events: what each recorded call replays as (serve/cassette.py)."""

from __future__ import annotations

from flowertui.engine.events import Event
from flowertui.engine.normalise import TEXT_LIMIT
from flowertui.engine.sanitize import truncate
from flowertui.serve.bodies import ChatRequest, Message, Options
from flowertui.serve.cassette import Cassette, recorded_calls

USAGE = {"input_tokens": 10, "output_tokens": 5000, "total_tokens": 5013, "cached_input_tokens": 4}  # a total of its own


def event(seq: int, kind: str, run_id: str, **payload) -> Event:
    return Event(seq, 0.0, float(seq), "s", 1, kind, kind, "context", run_id=run_id, payload=payload)


def start(seq: int, run_id: str, content: str) -> Event:
    return event(seq, "chat_model_start", run_id, model="gpt-4o-mini",
                 messages=[{"role": "human", "content": content}], prompt_tokens_estimate=1)


def end(seq: int, run_id: str, text: str, **more) -> Event:
    return event(seq, "llm_end", run_id, text=text, model="gpt-4o-mini-2024-07-18", usage=USAGE,
                 finish_reason="stop", prompt_tokens_estimate=1, completion_tokens_estimate=1, **more)


def ask(cassette: Cassette, content: str):
    return cassette.chat(ChatRequest((Message("user", content),), Options("gpt-4o-mini")))


def test_a_streamed_reply_the_record_cut_is_replayed_whole_from_its_pieces():
    whole = "petal " * 1000
    pieces = [whole[i:i + 7] for i in range(0, len(whole), 7)]
    events = [start(1, "a", "tell me"), *(event(2 + n, "llm_new_token", "a", token=p) for n, p in enumerate(pieces)),
              end(9999, "a", truncate(whole, TEXT_LIMIT))]
    calls, unfinished = recorded_calls(events)
    answer = ask(Cassette("s", calls), "tell me")
    assert answer.choices[0].text == whole and answer.choices[0].pieces == tuple(pieces)
    assert "x-flowertui-replay-cut" not in dict(answer.headers) and unfinished == 0
    assert (answer.prompt_tokens, answer.completion_tokens, answer.cached_tokens) == (10, 5000, 4)
    assert answer.total_tokens == 5013  # as the provider reported it
    assert answer.model == "gpt-4o-mini-2024-07-18"  # the model that answered, not the one asked


def test_cut_tool_arguments_are_counted_as_cut_and_a_call_that_never_ended_is_left_out():
    arguments = '{"note": "' + "x" * 5000 + '"}'
    events = [start(1, "a", "one"), start(2, "b", "two"),
              end(3, "b", "", tool_calls=[{"name": "note", "arguments": truncate(arguments, TEXT_LIMIT)}])]
    calls, unfinished = recorded_calls(events)
    assert unfinished == 1 and [call.number for call in calls] == [1]
    answer = ask(Cassette("s", calls), "two")
    [call] = answer.choices[0].calls
    assert call.arguments == arguments[:TEXT_LIMIT] and answer.choices[0].finish_reason == "stop"
    assert dict(answer.headers)["x-flowertui-replay-cut"] == str(len(arguments) - TEXT_LIMIT)
