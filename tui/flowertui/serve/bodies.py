"""Request bodies of the chat and legacy completions APIs, checked before any reply is made.

Anything the API would refuse becomes a BadRequest carrying the message and the
offending parameter, which the server answers with the API's 400 error shape.
Parameters that change sampling only (temperature, top_p, penalties, seed…) are
accepted and have no effect: the assistant is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MAX_N = 128


class BadRequest(ValueError):
    """A request the API refuses: answered with 400 and {"error": {"message", "type", "param"}}."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    name: str | None = None


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


@dataclass(frozen=True)
class CompletionRequest:
    prompts: tuple[str, ...]
    options: Options


def chat_request(body: Any) -> ChatRequest:
    """A /v1/chat/completions body, checked."""
    body = _object(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array of messages", "messages")
    parsed = tuple(_message(item, index) for index, item in enumerate(messages))
    name = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    return ChatRequest(parsed, _options(body, body.get(name), name))


def completion_request(body: Any) -> CompletionRequest:
    """A /v1/completions body, checked; the prompt may be one string or an array of them."""
    body = _object(body)
    prompt = body.get("prompt", "<|endoftext|>")
    prompts = (prompt,) if isinstance(prompt, str) else prompt
    if not isinstance(prompts, (list, tuple)) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise BadRequest("'prompt' must be a string or a non-empty array of strings", "prompt")
    options = _options(body, body.get("max_tokens", 16), "max_tokens")
    return CompletionRequest(tuple(prompts), options)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


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
    return Message(role, _content(content, where), name)


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
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' must be a non-empty string", "model")
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
