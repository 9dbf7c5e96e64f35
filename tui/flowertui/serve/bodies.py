"""Request bodies of the chat and legacy completions APIs, checked before any reply is made.

Anything the API would refuse becomes a BadRequest carrying the message and the
offending parameter, which the server answers with the API's 400 error shape.
Parameters that change sampling only (temperature, top_p, penalties, seed…) are
accepted and have no effect: the assistant is deterministic. `tools`,
`tool_choice` and `response_format` are read, since they change what the reply is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MAX_N = 128
MAX_PROMPTS = 2048  # the legacy API's limit on a prompt array
MAX_CHOICES = 512  # n × prompts: what one response may hold (12,000 × 128 made a 198 MB answer)
MAX_TOOLS = 128


class BadRequest(ValueError):
    """A request the API refuses: answered with 400 and {"error": {"message", "type", "param", "code"}}."""

    code: str | None = None
    status = 400  # a replayed session answers some refusals with another status (serve/cassette.py)
    headers: dict[str, str] | None = None

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class ToolCall:
    """A call the assistant made earlier in the conversation (an assistant message's tool_calls)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True)
class Tool:
    """A function the caller offers: its JSON schema is what the arguments must validate against."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Format:
    """What the reply's text must be: "text", "json_object", or "json_schema" with its schema."""

    kind: str = "text"
    schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Options:
    """What both APIs share: model, choices, stopping and streaming."""

    model: str
    n: int = 1
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    include_usage: bool = False


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[Message, ...]
    options: Options
    tools: tuple[Tool, ...] = ()
    tool_choice: str = "auto"  # "auto", "none", "required", or "function:NAME"
    format: Format = Format()
    functions_api: bool = False  # tools came as the older `functions`: answer with `function_call`


@dataclass(frozen=True)
class CompletionRequest:
    prompts: tuple[str, ...]
    options: Options


def chat_request(body: Any) -> ChatRequest:
    """A /v1/chat/completions body, checked."""
    body = request_object(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array of messages", "messages")
    parsed = tuple(_message(item, index) for index, item in enumerate(messages))
    name = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    tools = chat_tools(body.get("tools"))
    choice = tool_choice(body.get("tool_choice"), tools, lambda c: c.get("function", {}).get("name"))
    functions_api = not tools and body.get("functions") is not None
    if functions_api:
        tools = legacy_functions(body["functions"])
        choice = tool_choice(body.get("function_call"), tools, lambda c: c.get("name"))
    return ChatRequest(parsed, _options(body, body.get(name), name), tools, choice,
                       response_format(body.get("response_format"), "response_format"), functions_api)


def legacy_functions(functions: Any) -> tuple[Tool, ...]:
    """The older `functions` parameter: [{"name", "description", "parameters"}]."""
    if not isinstance(functions, list) or not functions or len(functions) > MAX_TOOLS:
        raise BadRequest(f"'functions' must be an array of 1 to {MAX_TOOLS} functions", "functions")
    if not all(isinstance(function, dict) for function in functions):
        raise BadRequest("each of 'functions' must be an object", "functions")
    return tuple(tool_definition(function, f"functions[{index}]") for index, function in enumerate(functions))


def chat_tools(tools: Any) -> tuple[Tool, ...]:
    """The chat API's tools: [{"type": "function", "function": {"name", "description", "parameters"}}]."""
    if tools is None:
        return ()
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise BadRequest(f"'tools' must be an array of at most {MAX_TOOLS} tools", "tools")
    parsed = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("function"), dict):
            raise BadRequest(f"{where} must be {{\"type\": \"function\", \"function\": {{...}}}}", where)
        parsed.append(tool_definition(tool["function"], f"{where}.function"))
    return tuple(parsed)


def tool_definition(function: dict[str, Any], where: str) -> Tool:
    """One function's name, description and parameters, checked as the API checks them."""
    name = function.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or not all(c.isalnum() or c in "_-" for c in name):
        raise BadRequest(f"{where}.name must be 1 to 64 letters, digits, '_' or '-'", f"{where}.name")
    description = function.get("description") or ""
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    if not isinstance(description, str) or not isinstance(parameters, dict):
        raise BadRequest(f"{where}: 'description' must be a string and 'parameters' an object", where)
    return Tool(name, description, parameters)


def tool_choice(choice: Any, tools: tuple[Tool, ...], named: Any) -> str:
    """"auto" (the default with tools), "none" (the default without), "required", or "function:NAME"."""
    if choice is None:
        return "auto" if tools else "none"
    if choice in ("auto", "none", "required"):
        if choice != "none" and not tools:
            raise BadRequest("'tool_choice' is only allowed when 'tools' are specified", "tool_choice")
        return choice
    name = named(choice) if isinstance(choice, dict) else None
    if not isinstance(name, str):
        raise BadRequest("'tool_choice' must be 'none', 'auto', 'required' or a named function", "tool_choice")
    if name not in {tool.name for tool in tools}:
        raise BadRequest(f"'tool_choice' names the function {name!r}, which is not in 'tools'", "tool_choice")
    return f"function:{name}"


def response_format(spec: Any, where: str) -> Format:
    """{"type": "text" | "json_object" | "json_schema", "json_schema": {"name", "schema", "strict"}}."""
    if spec is None:
        return Format()
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise BadRequest(f"'{where}.type' must be 'text', 'json_object' or 'json_schema'", where)
    if kind != "json_schema":
        return Format(kind)
    holder = spec.get("json_schema", spec)  # the Responses API puts name and schema on the format itself
    schema = holder.get("schema") if isinstance(holder, dict) else None
    if not isinstance(schema, dict):
        raise BadRequest(f"'{where}' of type json_schema needs a 'schema' object", where)
    return Format(kind, schema)


def completion_request(body: Any) -> CompletionRequest:
    """A /v1/completions body, checked; the prompt may be one string or an array of them."""
    body = request_object(body)
    prompt = body.get("prompt", "<|endoftext|>")
    prompts = (prompt,) if isinstance(prompt, str) else prompt
    if not isinstance(prompts, (list, tuple)) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise BadRequest("'prompt' must be a string or a non-empty array of strings", "prompt")
    if len(prompts) > MAX_PROMPTS:
        raise BadRequest(f"'prompt' may hold at most {MAX_PROMPTS} prompts; got {len(prompts)}", "prompt")
    options = _options(body, body.get("max_tokens", 16), "max_tokens")
    if options.n * len(prompts) > MAX_CHOICES:
        raise BadRequest(f"'n' × the number of prompts must be at most {MAX_CHOICES}; got "
                         f"{options.n} × {len(prompts)} = {options.n * len(prompts)}", "n")
    return CompletionRequest(tuple(prompts), options)


def request_object(body: Any) -> dict[str, Any]:
    """A request body, which every endpoint wants as a JSON object."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def request_model(body: dict[str, Any]) -> str:
    """The model a request names: a non-empty string."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' must be a non-empty string", "model")
    return model


def _message(item: Any, index: int) -> Message:
    where = f"messages[{index}]"
    if not isinstance(item, dict):
        raise BadRequest(f"{where} must be an object with 'role' and 'content'", where)
    role = item.get("role")
    if role not in ROLES:
        raise BadRequest(f"{where}.role must be one of {', '.join(ROLES)}; got {role!r}", f"{where}.role")
    content = item.get("content")
    if content is None and role in ("assistant", "function"):
        content = ""
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise BadRequest(f"{where}.name must be a string", f"{where}.name")
    calls = _tool_calls(item.get("tool_calls"), where) if role == "assistant" else ()
    legacy = item.get("function_call")
    if role == "assistant" and isinstance(legacy, dict):
        calls += (ToolCall("", str(legacy.get("name", "")), str(legacy.get("arguments", ""))),)
    call_id = item.get("tool_call_id")
    if role == "tool" and not isinstance(call_id, str):
        raise BadRequest(f"{where}.tool_call_id must be the id of the call this message answers", f"{where}.tool_call_id")
    return Message(role, _content(content, where), name, calls, call_id if role == "tool" else None)


def _tool_calls(calls: Any, where: str) -> tuple[ToolCall, ...]:
    if calls is None:
        return ()
    if not isinstance(calls, list):
        raise BadRequest(f"{where}.tool_calls must be an array", f"{where}.tool_calls")
    parsed = []
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(call.get("id"), str) \
                or not isinstance(function.get("name"), str) or not isinstance(function.get("arguments"), str):
            raise BadRequest(f"{where}.tool_calls[{index}] must have an id and a function's name and arguments",
                             f"{where}.tool_calls[{index}]")
        parsed.append(ToolCall(call["id"], function["name"], function["arguments"]))
    return tuple(parsed)


def _content(content: Any, where: str) -> str:
    """A string, or an array of parts of which the text parts are read."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        texts = [part.get("text") for part in content if part.get("type") == "text"]
        if all(isinstance(text, str) for text in texts):
            return "\n".join(texts)
    raise BadRequest(f"{where}.content must be a string or an array of content parts", f"{where}.content")


def _options(body: dict[str, Any], limit: Any, limit_name: str) -> Options:
    model = request_model(body)
    n = body.get("n", 1)
    n = 1 if n is None else n
    if not _is_int(n) or not 1 <= n <= MAX_N:
        raise BadRequest(f"'n' must be an integer from 1 to {MAX_N}", "n")
    if limit is not None and (not _is_int(limit) or limit < 1):
        raise BadRequest(f"'{limit_name}' must be a positive integer", limit_name)
    temperature = body.get("temperature")
    if temperature is not None and (not _is_number(temperature) or not 0 <= temperature <= 2):
        raise BadRequest("'temperature' must be a number from 0 to 2", "temperature")
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise BadRequest("'stream' must be a boolean", "stream")
    stream_options = body.get("stream_options")
    if stream_options is not None and (not isinstance(stream_options, dict) or not stream):
        raise BadRequest("'stream_options' is an object, allowed only when 'stream' is true", "stream_options")
    return Options(model, n, limit, _stop(body.get("stop")), bool(stream),
                   bool((stream_options or {}).get("include_usage")))


def _stop(stop: Any) -> tuple[str, ...]:
    if stop is None:
        return ()
    words = [stop] if isinstance(stop, str) else stop
    if not isinstance(words, list) or len(words) > 4 or not all(isinstance(w, str) for w in words):
        raise BadRequest("'stop' must be a string or an array of at most 4 strings", "stop")
    return tuple(words)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
