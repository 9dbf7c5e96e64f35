"""One reading of callbacks: the chat Recorder and a traced program's probe give the same payloads."""

from __future__ import annotations

import uuid

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from flowertui.engine.bus import EventBus
from flowertui.engine.recorder import Recorder
from flowertui.engine.tokens import count_tokens
from flowertui.trace.probe import flowertui_extract
from flowertui.trace.receiver import Translator

MODEL = "gpt-4o-mini"


def _record(kind: str, args: tuple, kwargs: dict, run_id: str) -> dict:
    """What the probe sends for a callback (its reading, bounded for the wire)."""
    return {"t": "event", "kind": kind, "run_id": run_id, "parent_run_id": None, "wall": 1.0, "mono": 1.0,
            "handlers": [], **flowertui_extract.extract(kind, args, kwargs)}


def test_the_recorder_and_the_probe_read_a_model_call_the_same_way():
    run = uuid.uuid4()
    messages = [[SystemMessage("be brief"), HumanMessage("which roses for a birthday? " * 3)]]
    kwargs = {"invocation_params": {"model": MODEL}, "name": None}
    reply = AIMessage("Pink ones.", usage_metadata={"input_tokens": 20, "output_tokens": 3, "total_tokens": 23},
                      response_metadata={"model_name": MODEL, "finish_reason": "stop"})
    result = LLMResult(generations=[[ChatGeneration(message=reply)]])

    chat, traced = EventBus("chat"), EventBus("trace")
    seen_chat, seen_traced = [], []
    chat.subscribe(seen_chat.append)
    traced.subscribe(seen_traced.append)
    recorder = Recorder(chat, "request")
    recorder.on_chat_model_start({"name": "ChatOpenAI"}, messages, run_id=run, **kwargs)
    recorder.on_llm_end(result, run_id=run)
    translator = Translator(traced)
    translator(_record("chat_model_start", ({"name": "ChatOpenAI"}, messages), kwargs, str(run)))
    translator(_record("llm_end", (result,), {}, str(run)))

    for mine, theirs in zip(seen_chat, seen_traced, strict=True):
        assert (mine.kind, mine.name) == (theirs.kind, theirs.name)
        assert mine.payload.to_dict() == {k: v for k, v in theirs.payload.to_dict().items() if k != "handlers"}
    assert seen_chat[0].payload.prompt_tokens_estimate > 0 and seen_chat[1].payload.usage.output_tokens == 3


def test_a_traced_reply_longer_than_the_text_limit_is_counted_whole():
    """The viewer used to cut the reply to 4000 characters before counting it: a long reply without usage was
    undercounted."""
    bus = EventBus("s")
    seen = []
    bus.subscribe(seen.append)
    translator = Translator(bus)
    text = "roses and tulips " * 1000
    translator({"t": "event", "kind": "chat_model_start", "run_id": "r", "handlers": [], "name": "m", "wall": 1.0,
                "mono": 1.0, "payload": {"model": MODEL, "messages": [{"role": "human", "content": "hi"}]}})
    translator({"t": "event", "kind": "llm_end", "run_id": "r", "handlers": [], "name": "llm", "wall": 2.0,
                "mono": 2.0, "payload": {"text": text, "model": MODEL, "usage": None}})
    end = seen[-1]
    assert end.payload["completion_tokens_estimate"] == count_tokens(text, MODEL) > 3000
    assert len(end.payload["text"]) < 4100
