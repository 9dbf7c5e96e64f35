"""What the offline assistant answers to a checked request, with usage counted by tiktoken.

The reply text is the offline chat model's (engine/shop_replies: same prompt, same
reply), cut at a stop word and at `max_tokens`, in the streaming pieces the
offline model uses. Tokens are counted with the encoding tiktoken uses for the
requested model, prompt tokens of a chat the way OpenAI documents it (3 per
message, 1 per name, 3 to prime the reply), so client-side estimates agree.

Offered tools, the assistant calls one (the one whose name or description the
customer's message matches, else the first) with arguments built from its JSON
schema, until the conversation holds a tool's result; then it answers in text
and quotes the result. Asked for JSON, it answers with an instance of the schema.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Protocol

from flowertui.engine import tokens
from flowertui.engine.shop_replies import catalog, cut_at_stop, language, reply_for
from flowertui.serve.bodies import ChatRequest, CompletionRequest, Message, Options, Tool
from flowertui.serve.instances import instance
from flowertui.serve.limits import check_context

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
MAX_QUOTED = 300  # characters of a tool's result quoted in the answer
READ_CHARS = 32_000  # the assistant reads a prompt's last 32,000 characters (its rules take ~3 µs a character)
COUNT_PIECE = 65_536  # long texts are counted in pieces this size, so no one call holds the GIL for long
CUES = ("price", "delivery", "recall", "greeting")  # the shop's cue words that tell tools apart
TOOL_RESULT = {"zh": "（{name} 的结果：{result}）", "en": "({name} says: {result})"}


@dataclass(frozen=True)
class Call:
    """A tool call the assistant makes: its arguments are JSON valid under the tool's schema."""

    id: str
    name: str
    arguments: str
    pieces: tuple[str, ...]  # the arguments in the pieces a stream sends


@dataclass(frozen=True)
class Choice:
    index: int
    text: str
    pieces: tuple[str, ...]
    finish_reason: str  # "stop", "length" when max_tokens cut the reply, "tool_calls"
    calls: tuple[Call, ...] = ()


@dataclass(frozen=True)
class Answer:
    model: str
    choices: tuple[Choice, ...]
    prompt_tokens: int
    completion_tokens: int
    functions_api: bool = False  # calls are shown as the older `function_call`, not `tool_calls`
    usage_reported: bool = True  # False: a replayed call whose provider reported none (the reply carries none)
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    headers: tuple[tuple[str, str], ...] = ()  # extra response headers (a replayed call says which it was)
    recorded_total: int | None = None  # a replayed call's total as its provider reported it

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens if self.recorded_total is None else self.recorded_total


class Replies(Protocol):
    """What answers chat and completion requests: the offline assistant (below) or a recorded session."""

    def chat(self, request: ChatRequest) -> Answer: ...

    def completion(self, request: CompletionRequest) -> Answer: ...


def answer_chat(request: ChatRequest) -> Answer:
    """n identical choices replying to the customer's last message: a tool call, JSON, or the shop's text."""
    options = request.options
    sent = chat_prompt_tokens(request.messages, options.model) + tools_tokens(request.tools, options.model)
    check_context(options.model, sent, options.max_tokens, "messages")
    asked = customer_message(request.messages)[-READ_CHARS:]
    tool = chosen_tool(request, asked)
    if tool is not None:
        call = make_call(tool, asked, request.messages, options.model)
        finish = "function_call" if request.functions_api else "tool_calls"
        choice = Choice(0, "", (), "stop" if request.tool_choice.startswith("function:") else finish, (call,))
        said = tokens.count_tokens(call.name, options.model) + tokens.count_tokens(call.arguments, options.model)
    else:
        choice = _choice(reply_text(request, asked), options)
        said = tokens.count_tokens(choice.text, options.model)
    choices = tuple(Choice(i, choice.text, choice.pieces, choice.finish_reason, choice.calls) for i in range(options.n))
    return Answer(options.model, choices, sent, said * options.n, request.functions_api)


def customer_message(messages: tuple[Message, ...]) -> str:
    """What the reply answers: the last message, or the customer's last one after tool calls and results."""
    if messages[-1].role not in ("tool", "function", "assistant"):
        return messages[-1].content
    return next((m.content for m in reversed(messages) if m.role == "user"), messages[-1].content)


def chosen_tool(request: ChatRequest, asked: str) -> Tool | None:
    """The tool to call now, or None for a text answer."""
    choice = request.tool_choice
    if not request.tools or choice == "none":
        return None
    if choice.startswith("function:"):
        return next(tool for tool in request.tools if tool.name == choice.split(":", 1)[1])
    if choice == "auto" and tool_results(request.messages):
        return None
    return matching_tool(request.tools, asked)


def matching_tool(tools: tuple[Tool, ...], message: str) -> Tool:
    """The tool whose name or description shares most with the message (the first on a tie).

    Shared words count once each; a shop cue found in both (price, delivery…: "how
    much" asks what a "price" tool answers) counts twice.
    """
    said = {word[:5] for word in re.findall(r"[a-z]{3,}", message.lower())}
    said_cjk = _bigrams(message)
    words = catalog().words
    cues = [words[cue] for cue in CUES]
    asked = {index for index, cue in enumerate(cues) if cue.find(message)}

    def score(tool: Tool) -> int:
        described = re.sub(r"([a-z])([A-Z])", r"\1 \2", f"{tool.name} {tool.description}").replace("_", " ")
        shared = {word[:5] for word in re.findall(r"[a-z]{4,}", described.lower())} & said
        cued = {index for index, cue in enumerate(cues) if cue.find(described)} & asked
        return len(shared) + len(_bigrams(described) & said_cjk) + 2 * len(cued)

    return max(tools, key=score)


def _bigrams(text: str) -> set[str]:
    return {a + b for a, b in zip(text, text[1:]) if "\u3400" <= a <= "\u9fff" and "\u3400" <= b <= "\u9fff"}


def make_call(tool: Tool, asked: str, messages: tuple[Message, ...], model: str) -> Call:
    arguments = json.dumps(instance(tool.parameters, asked), ensure_ascii=False)
    seed = json.dumps([[m.role, m.content] for m in messages] + [tool.name], ensure_ascii=False)
    call_id = "call_" + hashlib.sha256(seed.encode("utf-8", "replace")).hexdigest()[:24]
    return Call(call_id, tool.name, arguments, tuple(tokens.split_tokens(arguments, model)))


def tool_results(messages: tuple[Message, ...]) -> list[Message]:
    """Tool results given since the customer last spoke."""
    results: list[Message] = []
    for message in reversed(messages):
        if message.role == "user":
            break
        if message.role in ("tool", "function"):
            results.insert(0, message)
    return results


def reply_text(request: ChatRequest, asked: str) -> str:
    """The shop's reply; JSON of the asked schema; or the reply quoting the tools' results."""
    if request.format.kind == "json_schema":
        return json.dumps(instance(request.format.schema, asked), ensure_ascii=False)
    reply = reply_for(asked)
    if request.format.kind == "json_object":
        return json.dumps({"reply": reply}, ensure_ascii=False)
    names = {call.id: call.name for m in request.messages for call in m.tool_calls}
    quoted = [TOOL_RESULT[language(asked)].format(name=names.get(m.tool_call_id or "", m.name or "tool"),
                                                  result=m.content[:MAX_QUOTED])
              for m in tool_results(request.messages)]
    return "\n".join([reply, *quoted])


def answer_completion(request: CompletionRequest) -> Answer:
    """n choices per prompt, numbered prompt by prompt as the legacy API numbers them."""
    options = request.options
    choices: list[Choice] = []
    completion = 0
    for prompt in request.prompts:
        check_context(options.model, count(prompt, options.model), options.max_tokens, "prompt")
        choice = _choice(reply_for(prompt[-READ_CHARS:]), options)
        completion += tokens.count_tokens(choice.text, options.model) * options.n
        first = len(choices)
        choices += [Choice(first + i, choice.text, choice.pieces, choice.finish_reason) for i in range(options.n)]
    sent = sum(count(prompt, options.model) for prompt in request.prompts)
    return Answer(options.model, tuple(choices), sent, completion)


def chat_prompt_tokens(messages: tuple[Message, ...], model: str) -> int:
    """Prompt tokens of a chat request, counted as OpenAI's cookbook counts them."""
    total = REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE + tokens.count_tokens(message.role, model) + count(message.content, model)
        if message.name:
            total += TOKENS_PER_NAME + tokens.count_tokens(message.name, model)
        for call in message.tool_calls:
            total += tokens.count_tokens(call.name, model) + count(call.arguments, model)
    return total


def count(text: str, model: str) -> int:
    """tiktoken's count, taken in pieces for long texts: one call on 8 MB holds the GIL 0.3 s.

    Pieces end before a single space between two non-spaces, where tiktoken's
    pre-tokeniser splits anyway, so the count is exact wherever such a space is
    found (a long text without spaces is cut where it must be, off by at most one
    token a piece).
    """
    if len(text) <= COUNT_PIECE:
        return tokens.count_tokens(text, model)
    total, start = 0, 0
    while start < len(text):
        end = min(start + COUNT_PIECE, len(text))
        if end < len(text):
            space = text.rfind(" ", start + COUNT_PIECE // 2, end)
            while space > start and (text[space - 1].isspace() or text[space + 1].isspace()):
                space = text.rfind(" ", start + COUNT_PIECE // 2, space)
            end = space if space > start else end
        total += tokens.count_tokens(text[start:end], model)
        start = end
    return total


def tools_tokens(tools: tuple[Tool, ...], model: str) -> int:
    """Tool definitions count as prompt: their JSON's tokens (close to what the API charges)."""
    if not tools:
        return 0
    described = [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in tools]
    return count(json.dumps(described, ensure_ascii=False), model)


def _choice(reply: str, options: Options) -> Choice:
    text = cut_at_stop(reply, list(options.stop))
    limited = _limit(text, options.max_tokens, options.model)
    finish = "length" if limited != text else "stop"
    return Choice(0, limited, tuple(tokens.split_tokens(limited, options.model)), finish)


def _limit(text: str, max_tokens: int | None, model: str) -> str:
    """The text cut to at most max_tokens tokens, never in the middle of a character."""
    if max_tokens is None or tokens.count_tokens(text, model) <= max_tokens:
        return text
    kept: list[str] = []
    used = 0
    for piece in tokens.split_tokens(text, model):
        used += tokens.count_tokens(piece, model)
        if used > max_tokens:
            break
        kept.append(piece)
    while kept and tokens.count_tokens("".join(kept), model) > max_tokens:
        kept.pop()
    return "".join(kept)
