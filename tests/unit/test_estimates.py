"""Estimates when a provider sends no usage: counted as OpenAI bills a chat call, not as bare text.

The expected numbers are the API's own `usage.prompt_tokens`, as OpenAI's cookbook records them
("How to count tokens with tiktoken", sections 6 and 7): 129 (gpt-4, gpt-3.5-turbo) and 124 (gpt-4o,
gpt-4o-mini) for its jargon-translation messages; 105 and 101 for its weather tool and two messages.
"""

from __future__ import annotations

from uuid import uuid4

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from flowertui.engine.bus import EventBus
from flowertui.engine.recorder import Recorder
from flowertui.engine.tokens import count_completion, count_prompt, count_tokens, image_tokens

JARGON = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon "
                                  "into plain English."},
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch "
                                                         "base on opportunities for increased leverage."},
    {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to "
                                                              "do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client "
                                "deliverable."},
]
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "description": "The unit of temperature to return",
                 "enum": ["celsius", "fahrenheit"]}},
        "required": ["location"]}}}
WEATHER = [{"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
           {"role": "user", "content": "What's the weather like in San Francisco?"}]


def test_hello_is_eight_tokens_not_one():
    assert count_tokens("Hello", "gpt-4o-mini") == 1
    assert count_prompt([{"role": "human", "content": "Hello"}], model="gpt-4o-mini") == 8


@pytest.mark.parametrize(("model", "reported"), [("gpt-4", 129), ("gpt-3.5-turbo", 129), ("gpt-4o", 124),
                                                 ("gpt-4o-mini-2024-07-18", 124)])
def test_messages_with_names_match_the_apis_count(model, reported):
    assert count_prompt(JARGON, model=model) == reported


@pytest.mark.parametrize(("model", "reported"), [("gpt-4", 105), ("gpt-3.5-turbo", 105), ("gpt-4o", 101),
                                                 ("gpt-4o-mini", 101)])
def test_tool_definitions_match_the_apis_count(model, reported):
    assert count_prompt(WEATHER, [WEATHER_TOOL], model=model) == reported


def test_images_cost_their_documented_tokens():
    assert image_tokens("low") == 85
    assert image_tokens("high", 2048, 4096) == 1105  # the vision guide's example: 6 tiles
    assert image_tokens("auto") == image_tokens("high", 1024, 1024) == 765  # size unknown: 1024² → 4 tiles
    text_only = count_prompt([{"role": "user", "content": "What is this?"}], model="gpt-4o")
    assert count_prompt([{"role": "user", "content": "What is this?", "images": ["low", "auto"]}],
                        model="gpt-4o") == text_only + 85 + 765


def test_tool_calls_and_tool_results_are_counted():
    asked = [{"role": "user", "content": "Weather in Paris?"}]
    call = {"name": "get_current_weather", "arguments": '{"location":"Paris, France"}'}
    with_call = asked + [{"role": "ai", "content": "", "tool_calls": [call]}]
    with_result = with_call + [{"role": "tool", "content": '{"temperature": 18}'}]
    counts = [count_prompt(m, model="gpt-4o-mini") for m in (asked, with_call, with_result)]
    assert counts[0] < counts[1] < counts[2]
    assert counts[1] - counts[0] >= count_tokens(call["arguments"], "gpt-4o-mini") + 3


def test_a_reply_that_produced_something_is_never_estimated_at_zero():
    call = {"name": "get_current_weather", "arguments": '{"location":"Paris"}'}
    assert count_completion("", [call], "gpt-4o-mini") > count_tokens(call["arguments"], "gpt-4o-mini")
    assert count_completion(" ", (), "gpt-4o-mini") >= 1
    assert count_completion("", (), "gpt-4o-mini") == 0


def test_the_recorder_captures_tools_and_tool_calls_and_estimates_with_them():
    bus = EventBus()
    events = []
    bus.subscribe(events.append)
    recorder = Recorder(bus, "request")
    run_id = uuid4()
    messages = [SystemMessage(WEATHER[0]["content"]), HumanMessage(WEATHER[1]["content"])]
    recorder.on_chat_model_start({}, [messages], run_id=run_id,
                                 invocation_params={"model": "gpt-4o-mini", "tools": [WEATHER_TOOL]})
    reply = AIMessage("", tool_calls=[{"name": "get_current_weather", "args": {"location": "San Francisco, CA"},
                                       "id": "call_1"}])
    recorder.on_llm_end(LLMResult(generations=[[ChatGeneration(message=reply)]]), run_id=run_id)
    start, end = events
    assert start.payload["prompt_tokens_estimate"] == 101  # what the API reported for this call
    assert start.payload["tools"][0]["function"]["name"] == "get_current_weather"
    assert end.payload["tool_calls"] == [{"name": "get_current_weather",
                                          "arguments": '{"location":"San Francisco, CA"}'}]
    assert end.payload["completion_tokens_estimate"] > 0

    # a later turn sends the call and its result back: both are in the prompt estimate
    later = messages + [reply, ToolMessage('{"temperature": 18}', tool_call_id="call_1")]
    recorder.on_chat_model_start({}, [later], run_id=uuid4(), invocation_params={"model": "gpt-4o-mini"})
    shown = events[-1].payload["messages"]
    assert shown[2]["tool_calls"][0]["name"] == "get_current_weather" and shown[3]["role"] == "tool"
    assert events[-1].payload["prompt_tokens_estimate"] > count_prompt(WEATHER, model="gpt-4o-mini")
