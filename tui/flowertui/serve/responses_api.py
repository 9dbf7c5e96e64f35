"""POST /v1/responses: the Responses API that `ChatOpenAI(use_responses_api=True)` and newer SDK code call.

The request is read into a chat request (instructions, input items, function
calls and their outputs, tools, text.format), answered by the same assistant,
and shaped as a `response` object, or streamed as the API's typed events:
response.created, response.in_progress, output_item.added, content_part.added,
output_text.delta…, output_text.done, content_part.done, output_item.done,
response.completed with usage (function calls stream their arguments in
function_call_arguments.delta events).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

from flowertui.serve.bodies import (
    BadRequest, ChatRequest, Message, Options, Tool, ToolCall, request_model, request_object, response_format,
    tool_choice, tool_definition,
)
from flowertui.serve.replies import Answer, Choice

TEXT_PARTS = ("input_text", "output_text", "text")


def responses_request(body: Any) -> ChatRequest:
    """A /v1/responses body as the chat request the assistant answers."""
    body = request_object(body)
    model = request_model(body)
    messages: list[Message] = []
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise BadRequest("'instructions' must be a string", "instructions")
        messages.append(Message("system", instructions))
    messages += _input(body.get("input"))
    if not messages:
        raise BadRequest("'input' must be a string or a non-empty array of input items", "input")
    limit = body.get("max_output_tokens")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise BadRequest("'max_output_tokens' must be a positive integer", "max_output_tokens")
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise BadRequest("'stream' must be a boolean", "stream")
    tools = _tools(body.get("tools"))
    choice = tool_choice(body.get("tool_choice"), tools, lambda c: c.get("name"))
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    return ChatRequest(tuple(messages), Options(model, 1, limit, (), bool(stream), True), tools, choice,
                       response_format(text.get("format"), "text.format"))


def _input(raw: Any) -> list[Message]:
    if isinstance(raw, str):
        return [Message("user", raw)]
    if not isinstance(raw, list):
        raise BadRequest("'input' must be a string or an array of input items", "input")
    messages: list[Message] = []
    for index, item in enumerate(raw):
        where = f"input[{index}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where} must be an object", where)
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise BadRequest(f"{where}.role must be user, assistant, system or developer", f"{where}.role")
            messages.append(Message(role, _text(item.get("content"), where)))
        elif kind == "function_call":
            call = ToolCall(str(item.get("call_id", "")), str(item.get("name", "")), str(item.get("arguments", "")))
            messages.append(Message("assistant", "", tool_calls=(call,)))
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append(Message("tool", output if isinstance(output, str) else _text(output, where),
                                    tool_call_id=str(item.get("call_id", ""))))
        # reasoning and other items carry nothing the assistant reads
    return messages


def _text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        texts = [part.get("text") for part in content if part.get("type") in TEXT_PARTS]
        if all(isinstance(text, str) for text in texts):
            return "\n".join(texts)
    raise BadRequest(f"{where}.content must be a string or an array of content parts", f"{where}.content")


def _tools(tools: Any) -> tuple[Tool, ...]:
    """Function tools ({"type": "function", "name", …}); built-in tools (web search…) are not offered offline."""
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise BadRequest("'tools' must be an array", "tools")
    return tuple(tool_definition(tool, f"tools[{index}]") for index, tool in enumerate(tools)
                 if isinstance(tool, dict) and tool.get("type") == "function")


def usage(answer: Answer) -> dict[str, Any] | None:
    if not answer.usage_reported:
        return None
    return {"input_tokens": answer.prompt_tokens, "input_tokens_details": {"cached_tokens": answer.cached_tokens},
            "output_tokens": answer.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": answer.reasoning_tokens},
            "total_tokens": answer.total_tokens}


class Shaper:
    """One response's ids and envelope, shared by its whole object and its stream of events."""

    def __init__(self, request: ChatRequest, answer: Answer) -> None:
        self.request = request
        self.answer = answer
        self.choice: Choice = answer.choices[0]
        self.id = f"resp_{secrets.token_hex(24)}"
        self.created = int(time.time())
        self.item_ids = [f"fc_{secrets.token_hex(24)}" for _ in self.choice.calls] or [f"msg_{secrets.token_hex(24)}"]

    def envelope(self, status: str, output: list[dict[str, Any]], with_usage: bool) -> dict[str, Any]:
        request = self.request
        incomplete = status == "incomplete"
        choice = request.tool_choice
        return {
            "id": self.id, "object": "response", "created_at": self.created, "status": status,
            "background": False, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": next((m.content for m in request.messages if m.role == "system"), None),
            "max_output_tokens": request.options.max_tokens, "model": request.options.model, "output": output,
            "parallel_tool_calls": True, "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None}, "service_tier": "default", "store": False,
            "temperature": 1.0, "text": {"format": self._format()},
            "tool_choice": {"type": "function", "name": choice.split(":", 1)[1]} if choice.startswith("function:")
            else choice,
            "tools": [{"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters,
                       "strict": False} for t in request.tools],
            "top_p": 1.0, "truncation": "disabled", "user": None, "metadata": {},
            "usage": usage(self.answer) if with_usage else None,
        }

    def _format(self) -> dict[str, Any]:
        fmt = self.request.format
        if fmt.kind == "json_schema":
            return {"type": "json_schema", "name": "response", "schema": fmt.schema, "strict": False}
        return {"type": fmt.kind}

    def items(self, done: bool = True) -> list[dict[str, Any]]:
        status = "completed" if done else "in_progress"
        if self.choice.calls:
            return [{"type": "function_call", "id": item_id, "call_id": call.id, "name": call.name,
                     "arguments": call.arguments if done else "", "status": status}
                    for item_id, call in zip(self.item_ids, self.choice.calls)]
        content = [self._part(self.choice.text)] if done else []
        return [{"type": "message", "id": self.item_ids[0], "status": status, "role": "assistant", "content": content}]

    @staticmethod
    def _part(text: str) -> dict[str, Any]:
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    @property
    def status(self) -> str:
        return "incomplete" if self.choice.finish_reason == "length" else "completed"

    def response(self) -> dict[str, Any]:
        return self.envelope(self.status, self.items(), True)

    def events(self) -> Iterator[list[dict[str, Any]]]:
        """Rounds of typed events, numbered by sequence_number, as the API streams them."""
        numbers = iter(range(1_000_000_000))

        def event(kind: str, **fields: Any) -> dict[str, Any]:
            return {"type": kind, "sequence_number": next(numbers), **fields}

        yield [event("response.created", response=self.envelope("in_progress", [], False)),
               event("response.in_progress", response=self.envelope("in_progress", [], False))]
        if self.choice.calls:
            yield from self._call_events(event)
        else:
            yield from self._text_events(event)
        final = "response.incomplete" if self.status == "incomplete" else "response.completed"
        yield [event(final, response=self.response())]

    def _text_events(self, event: Any) -> Iterator[list[dict[str, Any]]]:
        item_id, text = self.item_ids[0], self.choice.text
        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        yield [event("response.output_item.added", output_index=0, item=self.items(done=False)[0]),
               event("response.content_part.added", **where, part=self._part(""))]
        for piece in self.choice.pieces:
            yield [event("response.output_text.delta", **where, delta=piece, logprobs=[])]
        yield [event("response.output_text.done", **where, text=text, logprobs=[]),
               event("response.content_part.done", **where, part=self._part(text)),
               event("response.output_item.done", output_index=0, item=self.items()[0])]

    def _call_events(self, event: Any) -> Iterator[list[dict[str, Any]]]:
        for index, (call, started, done) in enumerate(zip(self.choice.calls, self.items(False), self.items())):
            yield [event("response.output_item.added", output_index=index, item=started)]
            for piece in call.pieces:
                yield [event("response.function_call_arguments.delta", item_id=started["id"], output_index=index,
                             delta=piece)]
            yield [event("response.function_call_arguments.done", item_id=started["id"], output_index=index,
                         arguments=call.arguments),
                   event("response.output_item.done", output_index=index, item=done)]
