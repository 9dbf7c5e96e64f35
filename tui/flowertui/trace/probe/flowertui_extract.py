"""What a LangChain callback says, read from its arguments: names, models, usage, texts bounded.

The one reading of callbacks: the probe runs it inside a traced program (this
folder is on the program's PYTHONPATH, so it is imported as `flowertui_extract`)
and flowertui's in-process Recorder runs it as `flowertui.trace.probe.flowertui_extract`.
Standard library only; arguments are read by duck typing (langchain_core is never
imported here). Each reader takes a callback's positional and keyword arguments,
as LangChain's `handle_event` passes them, and returns {"name", "payload"}.
"""

import json

TEXT_LIMIT = 4000  # characters of one text kept in an event
VALUE_LIMIT = 1000  # characters of one chain input or output value
ITEMS_LIMIT = 50  # chain input or output values kept
NAME_LIMIT = 200
TOOLS_LIMIT = 64  # tool definitions or calls kept per model call
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode  # bound: a program may patch json


def extract(kind, args, kwargs, limit=TEXT_LIMIT):
    """The event's name and payload fields; `limit` bounds texts (0: whole, the caller bounds them later)."""
    return _READERS.get(kind, _nothing)(args, kwargs, limit)


def text(value, limit=TEXT_LIMIT):
    try:
        value = value if isinstance(value, str) else str(value)
    except Exception:
        value = "<unprintable>"
    return value if limit <= 0 or len(value) <= limit else value[:limit] + " [+%d chars]" % (len(value) - limit)


def name(serialized, kwargs, fallback):
    """A run's name: the one it was given, else its serialized name, else its class path's last part."""
    if kwargs.get("name"):
        return str(kwargs["name"])
    serialized = serialized or {}
    if isinstance(serialized, dict):
        if serialized.get("name"):
            return str(serialized["name"])
        ids = serialized.get("id") or []
        if ids:
            return str(ids[-1])
    return fallback


def model(kwargs):
    """The model a run asked for, from its invocation parameters or LangSmith metadata."""
    params = kwargs.get("invocation_params") or {}
    meta = kwargs.get("metadata") or {}
    return params.get("model_name") or params.get("model") or meta.get("ls_model_name")


def content(message):
    """A message's text (multimodal content: its text parts)."""
    value = getattr(message, "content", message)
    if isinstance(value, str):
        return value
    try:
        return message.text if isinstance(message.text, str) else message.text()
    except Exception:
        return text(value, 0)


def result(response):
    """An LLMResult's text, provider-reported usage (None when it sent none), model, finish reason, generations."""
    generations = getattr(response, "generations", None) or []
    generation = generations[0][0] if generations and generations[0] else None
    said = getattr(generation, "text", "") or ""
    usage = reported = finish = None
    message = getattr(generation, "message", None)
    if message is not None:
        meta = getattr(message, "response_metadata", None) or {}
        reported = meta.get("model_name") or meta.get("model")
        finish = meta.get("finish_reason")
        raw = getattr(message, "usage_metadata", None)
        if raw:
            usage = {k: int(raw.get(k) or 0) for k in ("input_tokens", "output_tokens", "total_tokens")}
            usage.update(_details(raw.get("input_token_details"), "cache_read", raw.get("output_token_details"),
                                  "reasoning"))
    llm_output = getattr(response, "llm_output", None) or {}
    if usage is None and llm_output.get("token_usage"):
        raw = llm_output["token_usage"]
        usage = {"input_tokens": int(raw.get("prompt_tokens") or 0),
                 "output_tokens": int(raw.get("completion_tokens") or 0),
                 "total_tokens": int(raw.get("total_tokens") or 0)}
        usage.update(_details(raw.get("prompt_tokens_details"), "cached_tokens", raw.get("completion_tokens_details"),
                              "reasoning_tokens"))
    reported = reported or llm_output.get("model_name")
    if usage is not None and usage["input_tokens"] + usage["output_tokens"] == 0:
        usage = None  # a provider that counted nothing did not report usage
    if generation is not None and finish is None:
        finish = (getattr(generation, "generation_info", None) or {}).get("finish_reason")
    return said, usage, reported, finish, sum(len(g) for g in generations)


def _details(prompt, cached_key, completion, reasoning_key):
    """Cached prompt tokens (part of the input, priced lower) and reasoning tokens (already part of the output)."""
    found = {"cached_input_tokens": prompt.get(cached_key) if isinstance(prompt, dict) else None,
             "reasoning_tokens": completion.get(reasoning_key) if isinstance(completion, dict) else None}
    return {key: int(value) for key, value in found.items() if type(value) is int and value > 0}


def tool_calls(message):
    """The tool calls a message carries, arguments as compact JSON text."""
    calls = []
    for call in (getattr(message, "tool_calls", None) or [])[:TOOLS_LIMIT]:
        if isinstance(call, dict):
            args = call.get("args")
            try:
                said = args if isinstance(args, str) else _dumps(args or {})
            except Exception:
                said = text(args)
            calls.append({"name": text(call.get("name"), NAME_LIMIT), "arguments": said})
    return calls


def _message(message, limit):
    """Role and text, plus name, tool calls and images when the message has them (the estimate counts them)."""
    shown = {"role": getattr(message, "type", "message"), "content": text(content(message), limit)}
    called = getattr(message, "name", None)
    if called:
        shown["name"] = text(called, NAME_LIMIT)
    calls = tool_calls(message)
    if calls:
        shown["tool_calls"] = calls
    parts = getattr(message, "content", None)
    if isinstance(parts, list):
        images = [_detail(part) for part in parts if isinstance(part, dict) and part.get("type") in ("image_url", "image")]
        if images:
            shown["images"] = images
    return shown


def _detail(part):
    url = part.get("image_url")
    return str((url.get("detail") if isinstance(url, dict) else part.get("detail")) or "auto")


def _values(values, limit):
    limit = min(limit, VALUE_LIMIT) if limit > 0 else 0
    if isinstance(values, dict):
        return {str(k): text(v, limit) for k, v in list(values.items())[:ITEMS_LIMIT]}
    return {"value": text(values, limit)}


def _error(args, kwargs, limit, family):
    error = args[0] if args else kwargs.get("error")
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return {"name": kwargs.get("name") or family,
            "payload": {"error": text("%s: %s" % (type(error).__name__, message), limit),
                        "type": type(error).__name__}}


def _chain_start(args, kwargs, limit):
    return {"name": name(args[0] if args else None, kwargs, "chain"),
            "payload": {"inputs": _values(args[1] if len(args) > 1 else kwargs.get("inputs"), limit)}}


def _chain_end(args, kwargs, limit):
    return {"name": kwargs.get("name") or "chain", "payload": {"outputs": _values(args[0], limit)}}


def _chat_model_start(args, kwargs, limit):
    messages = [m for batch in args[1] for m in batch]
    payload = {"model": model(kwargs), "messages": [_message(m, limit) for m in messages]}
    params = kwargs.get("invocation_params") or {}
    tools = params.get("tools") or params.get("functions")
    if isinstance(tools, (list, tuple)) and tools:  # what bind_tools sends: the estimate counts it
        payload["tools"] = list(tools)[:TOOLS_LIMIT]
    return {"name": name(args[0], kwargs, "chat_model"), "payload": payload}


def _llm_start(args, kwargs, limit):
    return {"name": name(args[0], kwargs, "llm"),
            "payload": {"model": model(kwargs), "prompts": [text(p, limit) for p in args[1]]}}


def _llm_new_token(args, kwargs, limit):
    token = args[0] if args else kwargs.get("token", "")
    return {"name": "token", "payload": {"token": token if isinstance(token, str) else text(token)}}


def _llm_end(args, kwargs, limit):
    said, usage, reported, finish, generations = result(args[0])
    # the whole text: its token estimate is counted before it is bounded
    payload = {"text": text(said, 0), "model": reported, "usage": usage, "finish_reason": finish,
               "generations": generations}
    found = getattr(args[0], "generations", None) or []
    calls = tool_calls(getattr(found[0][0], "message", None)) if found and found[0] else []
    if calls:
        payload["tool_calls"] = calls
    return {"name": "llm", "payload": payload}


def _tool_start(args, kwargs, limit):
    return {"name": name(args[0], kwargs, "tool"), "payload": {"input": text(args[1], limit)}}


def _tool_end(args, kwargs, limit):
    output = args[0]
    return {"name": kwargs.get("name") or "tool", "payload": {"output": text(getattr(output, "content", output), limit)}}


def _text_event(args, kwargs, limit):
    return {"name": "text", "payload": {"text": text(args[0], limit)}}


def _retry(args, kwargs, limit):
    state = args[0]
    outcome = getattr(state, "outcome", None)
    error = outcome.exception() if outcome is not None and outcome.failed else None
    return {"name": "retry", "payload": {"attempt": getattr(state, "attempt_number", None),
                                         "error": text(error, limit) if error else None}}


def _agent_action(args, kwargs, limit):
    return {"name": "agent", "payload": {"tool": text(getattr(args[0], "tool", ""), limit),
                                         "log": text(getattr(args[0], "log", ""), limit)}}


def _agent_finish(args, kwargs, limit):
    return {"name": "agent", "payload": {"log": text(getattr(args[0], "log", ""), limit)}}


def _retriever_start(args, kwargs, limit):
    return {"name": name(args[0], kwargs, "retriever"), "payload": {"query": text(args[1], limit)}}


def _retriever_end(args, kwargs, limit):
    return {"name": "retriever", "payload": {"documents": len(args[0])}}


def _custom_event(args, kwargs, limit):
    return {"name": text(args[0], NAME_LIMIT), "payload": {"data": text(args[1], limit)}}


def _nothing(args, kwargs, limit):
    return {"name": "event", "payload": {}}


def _errors(family):
    return lambda args, kwargs, limit: _error(args, kwargs, limit, family)


_READERS = {
    "chain_start": _chain_start, "chain_end": _chain_end, "chain_error": _errors("chain"),
    "chat_model_start": _chat_model_start, "llm_start": _llm_start, "llm_new_token": _llm_new_token,
    "llm_end": _llm_end, "llm_error": _errors("llm"), "tool_start": _tool_start, "tool_end": _tool_end,
    "tool_error": _errors("tool"), "text": _text_event, "retry": _retry, "agent_action": _agent_action,
    "agent_finish": _agent_finish, "retriever_start": _retriever_start, "retriever_end": _retriever_end,
    "retriever_error": _errors("retriever"), "custom_event": _custom_event,
}
