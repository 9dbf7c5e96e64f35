"""What one request may cost the server: body size, nesting, text that cannot be sent back, prompt length.

A review found a 10 MB body blocking every other request for 45 s and a request
for 12,000 prompts × n=128 building a 198 MB answer. The body is capped before it
is read whole (413), the decoded JSON is walked once for depth and for lone
surrogates (which would fail later, mid-stream, when the reply is encoded), and a
prompt longer than the model's context is refused as the API refuses it.
"""

from __future__ import annotations

import json
from typing import Any

from flowertui.serve.bodies import BadRequest

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
DEFAULT_CONTEXT = 128_000
# Context windows (tokens) of the names programs send; longest prefix wins, others get DEFAULT_CONTEXT.
CONTEXT_WINDOWS = {
    "gpt-3.5-turbo-instruct": 4_096, "gpt-3.5-turbo": 16_385, "gpt-4-turbo": 128_000, "gpt-4-32k": 32_768,
    "gpt-4o": 128_000, "gpt-4.1": 1_047_576, "gpt-4": 8_192, "gpt-5": 400_000, "o1": 200_000, "o3": 200_000,
    "o4": 200_000, "text-embedding-": 8_192,
}


class TooLarge(ValueError):
    """A body over MAX_BODY_BYTES: answered with 413."""


class ContextExceeded(BadRequest):
    """A prompt longer than the model's context: the API's 400 with code context_length_exceeded."""

    code = "context_length_exceeded"


def context_window(model: str) -> int:
    lowered = model.lower()
    matches = [prefix for prefix in CONTEXT_WINDOWS if lowered.startswith(prefix)]
    return CONTEXT_WINDOWS[max(matches, key=len)] if matches else DEFAULT_CONTEXT


def check_context(model: str, prompt_tokens: int, max_tokens: int | None, param: str) -> None:
    """Refuse a prompt (plus the room asked for the reply) that does not fit the model's context."""
    window = context_window(model)
    wanted = prompt_tokens + (max_tokens or 0)
    if wanted > window:
        asked = f" ({prompt_tokens} in the messages, {max_tokens} in the completion)" if max_tokens else ""
        raise ContextExceeded(f"This model's maximum context length is {window} tokens. However, you requested "
                              f"{wanted} tokens{asked}. Please reduce the length of the messages.", param)


def decode(body: bytes) -> Any:
    """The body as JSON, refused (400) if it is not JSON, nests deeper than MAX_DEPTH or holds a lone surrogate."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise BadRequest(f"the request body nests deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    _walk(value)
    return value


def _walk(value: Any) -> None:
    """One pass over the decoded body, without recursion (a deep body must not exhaust the stack)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            _encodable(node, path)
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise BadRequest(f"the request body nests deeper than {MAX_DEPTH} levels", path or None)
        if isinstance(node, dict):
            for key, item in node.items():
                _encodable(key, path)
                stack.append((item, depth + 1, f"{path}.{key}" if path else key))
        else:
            stack.extend((item, depth + 1, f"{path}[{index}]") for index, item in enumerate(node))


def _encodable(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("the request holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text",
                         path or None) from None
