"""Responses and stream chunks shaped as OpenAI's chat and legacy completions APIs send them.

Chat chunks open with a role delta, carry one piece each, close with an empty
delta and a finish_reason; asked for usage, every chunk has "usage": null and a
last chunk with empty choices carries it. The stream ends with `data: [DONE]`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

from flowertui.serve.replies import Answer, Choice

SYSTEM_FINGERPRINT = "fp_flowershop"
OWNER = "flowertui"


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def usage(answer: Answer) -> dict[str, Any] | None:
    if not answer.usage_reported:
        return None
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.total_tokens,
        "prompt_tokens_details": {"cached_tokens": answer.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": answer.reasoning_tokens, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def _head(prefix: str, kind: str, answer: Answer) -> dict[str, Any]:
    """The fields every response and chunk opens with: a fresh id, its object type, the time, the model."""
    return {"id": new_id(prefix), "object": kind, "created": int(time.time()), "model": answer.model}


def chat_response(answer: Answer) -> dict[str, Any]:
    return {
        **_head("chatcmpl", "chat.completion", answer),
        "choices": [{"index": c.index, "message": _message(c, answer.functions_api), "logprobs": None,
                     "finish_reason": c.finish_reason}
                    for c in answer.choices],
        "usage": usage(answer),
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def _message(choice: Choice, functions_api: bool) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None if choice.calls else choice.text,
                               "refusal": None, "annotations": []}
    if choice.calls and functions_api:
        message["function_call"] = {"name": choice.calls[0].name, "arguments": choice.calls[0].arguments}
    elif choice.calls:
        message["tool_calls"] = [{"id": call.id, "type": "function",
                                  "function": {"name": call.name, "arguments": call.arguments}}
                                 for call in choice.calls]
    return message


def chat_chunks(answer: Answer, include_usage: bool) -> Iterator[list[dict[str, Any]]]:
    """Rounds of chunks (one per choice each), so a paced stream can wait between rounds.

    A tool call streams as the API streams it: the first delta names the call
    (index, id, type, function name, empty arguments), later ones carry pieces
    of the arguments, the last an empty delta and finish_reason "tool_calls".
    """
    head = {**_head("chatcmpl", "chat.completion.chunk", answer), "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT}
    extra = {"usage": None} if include_usage else {}

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}

    legacy = answer.functions_api
    yield [chunk(c.index, _first_delta(c, legacy)) for c in answer.choices]
    steps = max(max(len(c.pieces), *(len(call.pieces) for call in c.calls), 0) for c in answer.choices)
    for step in range(steps):
        yield [chunk(c.index, delta) for c in answer.choices if (delta := _delta(c, step, legacy))]
    yield [chunk(c.index, {}, c.finish_reason) for c in answer.choices]
    if include_usage and answer.usage_reported:
        yield [{**head, "choices": [], "usage": usage(answer)}]


def _first_delta(choice: Choice, functions_api: bool) -> dict[str, Any]:
    if not choice.calls:
        return {"role": "assistant", "content": "", "refusal": None}
    if functions_api:
        return {"role": "assistant", "content": None, "refusal": None,
                "function_call": {"name": choice.calls[0].name, "arguments": ""}}
    return {"role": "assistant", "content": None, "refusal": None,
            "tool_calls": [{"index": i, "id": call.id, "type": "function",
                            "function": {"name": call.name, "arguments": ""}} for i, call in enumerate(choice.calls)]}


def _delta(choice: Choice, step: int, functions_api: bool) -> dict[str, Any]:
    if not choice.calls:
        return {"content": choice.pieces[step]} if step < len(choice.pieces) else {}
    if functions_api:
        pieces = choice.calls[0].pieces
        return {"function_call": {"arguments": pieces[step]}} if step < len(pieces) else {}
    pieces = [{"index": i, "function": {"arguments": call.pieces[step]}}
              for i, call in enumerate(choice.calls) if step < len(call.pieces)]
    return {"tool_calls": pieces} if pieces else {}


def completion_response(answer: Answer) -> dict[str, Any]:
    return {
        **_head("cmpl", "text_completion", answer),
        "choices": [{"text": c.text, "index": c.index, "logprobs": None, "finish_reason": c.finish_reason}
                    for c in answer.choices],
        "usage": usage(answer),
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def completion_chunks(answer: Answer, include_usage: bool) -> Iterator[list[dict[str, Any]]]:
    """Rounds of legacy completion chunks; the last of each choice has empty text and its finish_reason."""
    head = {**_head("cmpl", "text_completion", answer), "system_fingerprint": SYSTEM_FINGERPRINT}

    def chunk(index: int, text: str, finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"text": text, "index": index, "logprobs": None, "finish_reason": finish}]}

    for step in range(max(len(c.pieces) for c in answer.choices)):
        yield [chunk(c.index, c.pieces[step]) for c in answer.choices if step < len(c.pieces)]
    yield [chunk(c.index, "", c.finish_reason) for c in answer.choices]
    if include_usage and answer.usage_reported:
        yield [{**head, "choices": [], "usage": usage(answer)}]


def models(names: list[str]) -> dict[str, Any]:
    return {"object": "list", "data": [model(name) for name in names]}


def model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": OWNER}


def error(message: str, kind: str = "invalid_request_error", param: str | None = None,
          code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
