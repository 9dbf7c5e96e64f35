"""The callback handler: every LangChain callback becomes one Event on the bus.

It only emits: no widgets, no files. One instance per way it is attached, so each
event says how the handler saw it (scope) and whether it was memory upkeep.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from typing_extensions import override

from flowertui.engine.bus import EventBus
from flowertui.engine.sanitize import clean
from flowertui.engine.tokens import count_tokens

TEXT_LIMIT = 4000
VALUE_LIMIT = 1000


class Recorder(BaseCallbackHandler):
    """Turns callbacks into events. `scope` is constructor, request or context."""

    run_inline = True  # keep event order when LangChain runs handlers from async code

    def __init__(self, bus: EventBus, scope: str, *, maintenance: bool = False, memory_kind: str | None = None):
        self.bus = bus
        self.scope = scope
        self.maintenance = maintenance
        self.memory_kind = memory_kind
        self._prompt_estimates: dict[UUID, tuple[str | None, int]] = {}

    def _emit(self, kind: str, run_id: UUID, parent_run_id: UUID | None, name: str, **payload: Any) -> None:
        self.bus.emit(
            kind,
            name=name,
            scope=self.scope,
            payload=payload,
            run_id=str(run_id),
            parent_run_id=str(parent_run_id) if parent_run_id else None,
            memory_kind=self.memory_kind,
            maintenance=self.maintenance,
        )

    def _text(self, value: Any, limit: int = TEXT_LIMIT) -> str:
        return clean(value if isinstance(value, str) else str(value), self.bus.redact, limit)

    def _values(self, values: Any) -> dict[str, str]:
        if not isinstance(values, dict):
            return {"value": self._text(values, VALUE_LIMIT)}
        return {str(k): self._text(v, VALUE_LIMIT) for k, v in values.items()}

    # chains -------------------------------------------------------------
    @override
    def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("chain_start", run_id, parent_run_id, _name(serialized, kwargs, "chain"), inputs=self._values(inputs))

    @override
    def on_chain_end(self, outputs, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("chain_end", run_id, parent_run_id, kwargs.get("name") or "chain", outputs=self._values(outputs))

    @override
    def on_chain_error(self, error, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("chain_error", run_id, parent_run_id, "chain", **self._error(error))

    # models -------------------------------------------------------------
    @override
    def on_chat_model_start(self, serialized, messages: list[list[BaseMessage]], *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        model = _model_name(kwargs)
        flat = [m for batch in messages for m in batch]
        estimate = count_tokens("\n".join(_content(m) for m in flat), model)
        self._prompt_estimates[run_id] = (model, estimate)
        shown = [{"role": m.type, "content": self._text(_content(m))} for m in flat]
        self._emit("chat_model_start", run_id, parent_run_id, _name(serialized, kwargs, "chat_model"),
                   model=model, messages=shown, prompt_tokens_estimate=estimate)

    @override
    def on_llm_start(self, serialized, prompts: list[str], *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        model = _model_name(kwargs)
        estimate = count_tokens("\n".join(prompts), model)
        self._prompt_estimates[run_id] = (model, estimate)
        self._emit("llm_start", run_id, parent_run_id, _name(serialized, kwargs, "llm"),
                   model=model, prompts=[self._text(p) for p in prompts], prompt_tokens_estimate=estimate)

    @override
    def on_llm_new_token(self, token: str, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("llm_new_token", run_id, parent_run_id, "token", token=self._text(token, 0))

    @override
    def on_llm_end(self, response: LLMResult, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        model, prompt_estimate = self._prompt_estimates.pop(run_id, (None, None))
        text, usage, reported_model, finish = _result_parts(response)
        model = reported_model or model
        self._emit("llm_end", run_id, parent_run_id, "llm", text=self._text(text), model=model,
                   usage=usage, finish_reason=finish, prompt_tokens_estimate=prompt_estimate,
                   completion_tokens_estimate=count_tokens(text, model))

    @override
    def on_llm_error(self, error, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._prompt_estimates.pop(run_id, None)
        self._emit("llm_error", run_id, parent_run_id, "llm", **self._error(error))

    # everything else --------------------------------------------------
    @override
    def on_text(self, text: str, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("text", run_id, parent_run_id, "text", text=self._text(text))

    @override
    def on_retry(self, retry_state, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        self._emit("retry", run_id, parent_run_id, "retry", attempt=retry_state.attempt_number,
                   error=self._text(error) if error else None)

    @override
    def on_tool_start(self, serialized, input_str: str, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("tool_start", run_id, parent_run_id, _name(serialized, kwargs, "tool"), input=self._text(input_str))

    @override
    def on_tool_end(self, output: Any, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("tool_end", run_id, parent_run_id, kwargs.get("name") or "tool", output=self._text(output))

    @override
    def on_tool_error(self, error, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("tool_error", run_id, parent_run_id, "tool", **self._error(error))

    @override
    def on_agent_action(self, action, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("agent_action", run_id, parent_run_id, "agent", tool=self._text(action.tool), log=self._text(action.log))

    @override
    def on_agent_finish(self, finish, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("agent_finish", run_id, parent_run_id, "agent", log=self._text(finish.log))

    @override
    def on_retriever_start(self, serialized, query: str, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("retriever_start", run_id, parent_run_id, _name(serialized, kwargs, "retriever"), query=self._text(query))

    @override
    def on_retriever_end(self, documents, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("retriever_end", run_id, parent_run_id, "retriever", documents=len(documents))

    @override
    def on_retriever_error(self, error, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit("retriever_error", run_id, parent_run_id, "retriever", **self._error(error))

    @override
    def on_custom_event(self, name: str, data: Any, *, run_id, tags=None, metadata=None, **kwargs: Any) -> None:
        self._emit("custom_event", run_id, None, self._text(name, 200), data=self._text(data))

    def _error(self, error: BaseException) -> dict[str, str]:
        return {"error": self._text(describe_error(error)), "type": type(error).__name__}


def describe_error(error: BaseException, server: str | None = None, timeout: float | None = None) -> str:
    """What failed, in a user's terms, and what to do about it; the provider's own words in brackets.

    `server` is the base URL the model talks to, named in the message when known; `timeout` the
    seconds the client waits for it.
    """
    if getattr(error, "user_cancel", False):
        return "Cancelled"
    at = f"the server at {server}" if server else "the server"
    status = getattr(error, "status_code", None)
    said = _provider_words(error)
    if status == 401:
        return (f"401: the API key was refused by {at} ({said}) — set {_key_variable(server)} "
                "(or api_key in config.toml) to a valid key and start again")
    if status == 403:
        return f"403: {at} refused the request ({said}) — the key may lack access to this model"
    if status == 404:
        return f"404: {at} does not know this model or path ({said}) — check --model and --base-url"
    if status == 429:
        return f"429: {at} is rate-limiting ({said}) — wait a moment and send it again"
    if status is not None and status >= 500:
        return f"{status}: {at} failed ({said}) — send it again when it has recovered"
    if status is not None:
        return f"{status}: {at} rejected the request ({said})"
    unreachable = _unreachable(error, at, timeout)
    if unreachable:
        return unreachable
    if "No generations found in stream" in str(error):
        return (f"{at} sent no streamed reply (a body that is not a stream, or an empty stream) — flowertui "
                "streams every reply: check that --base-url names an OpenAI-compatible /v1 API that supports "
                "\"stream\": true")
    bad_json = _find_cause(error, json.JSONDecodeError)
    if bad_json is not None:
        return (f"{at} sent a reply that is not valid JSON ({type(bad_json).__name__}: {bad_json}) — "
                "is the base URL an OpenAI-compatible API?")
    return f"{type(error).__name__}: {_with_cause(error, said)} — send it again when ready"


def _unreachable(error: BaseException, at: str, timeout: float | None) -> str | None:
    """A server that could not be reached or did not answer in time, with the setting to check."""
    names = {kind.__name__ for kind in type(error).__mro__}
    if names & {"APITimeoutError", "TimeoutException", "TimeoutError", "ReadTimeout", "ConnectTimeout"}:
        waited = f"within {timeout:g} s" if timeout else "in time"
        return (f"Timeout: {at} did not answer {waited} — check that it is up, or raise `timeout` in config.toml "
                "for a slow model")
    if not names & {"APIConnectionError", "ConnectError", "ConnectionError"}:
        return None
    said = _deepest_words(error)
    lowered = said.lower()
    if "refused" in lowered:
        return (f"nothing is listening at {at.removeprefix('the server at ')} ({said}) — start the server, or "
                "check --base-url (OPENAI_BASE_URL, base_url in config.toml)")
    if any(words in lowered for words in ("name or service not known", "nodename nor servname", "getaddrinfo",
                                          "name resolution", "no address associated")):
        return (f"the host of {at.removeprefix('the server at ')} was not found ({said}) — check --base-url "
                "for a typo (OPENAI_BASE_URL, base_url in config.toml) and that this machine is online")
    return (f"could not connect to {at} ({said or _provider_words(error)}) — check --base-url and the network, "
            "then send it again")


def _deepest_words(error: BaseException) -> str:
    """The last cause's own words ("[Errno 111] Connection refused"): the socket's, under the client's."""
    said, seen, depth = str(error), error, 0
    while seen is not None and depth < 8:
        if str(seen):
            said = str(seen).splitlines()[0]
        seen, depth = seen.__cause__ or seen.__context__, depth + 1
    return said


def _provider_words(error: BaseException) -> str:
    return getattr(error, "message", None) or str(error) or type(error).__name__


def _with_cause(error: BaseException, message: str) -> str:
    """A vague message ("Connection error.") with the first cause that says why (the socket's own words)."""
    cause, depth = error.__cause__ or error.__context__, 0
    while cause is not None and depth < 5:
        said = str(cause).splitlines()[0] if str(cause) else ""
        if said and said not in message:
            return f"{message} ({type(cause).__name__}: {said})"
        cause, depth = cause.__cause__ or cause.__context__, depth + 1
    return message


def _find_cause(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen, depth = error, 0
    while seen is not None and depth < 6:
        if isinstance(seen, kind):
            return seen
        seen, depth = seen.__cause__ or seen.__context__, depth + 1
    return None


def _key_variable(server: str | None) -> str:
    """The environment variable that holds the key for this server (a preset's own, else OPENAI_API_KEY)."""
    from flowertui.engine.providers import PRESETS

    for preset in PRESETS.values():
        if preset.key_env and server and preset.base_url and server.rstrip("/") == preset.base_url.rstrip("/"):
            return preset.key_env
    return "OPENAI_API_KEY"


def _name(serialized: dict[str, Any] | None, kwargs: dict[str, Any], fallback: str) -> str:
    if kwargs.get("name"):
        return str(kwargs["name"])
    serialized = serialized or {}
    if serialized.get("name"):
        return str(serialized["name"])
    ids = serialized.get("id") or []
    return str(ids[-1]) if ids else fallback


def _model_name(kwargs: dict[str, Any]) -> str | None:
    params = kwargs.get("invocation_params") or {}
    metadata = kwargs.get("metadata") or {}
    return params.get("model_name") or params.get("model") or metadata.get("ls_model_name")


def _content(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else message.text


def _result_parts(response: LLMResult) -> tuple[str, dict[str, int] | None, str | None, str | None]:
    """Text, provider-reported usage (None when the provider sent none), model and finish reason."""
    generation = response.generations[0][0] if response.generations and response.generations[0] else None
    text = generation.text if generation else ""
    usage = None
    model = finish = None
    if isinstance(generation, ChatGeneration):
        meta = generation.message.response_metadata or {}
        model = meta.get("model_name") or meta.get("model")
        finish = meta.get("finish_reason")
        raw = getattr(generation.message, "usage_metadata", None)
        if raw:
            usage = {k: int(raw.get(k) or 0) for k in ("input_tokens", "output_tokens", "total_tokens")}
    if usage is None and response.llm_output and response.llm_output.get("token_usage"):
        raw = response.llm_output["token_usage"]
        usage = {
            "input_tokens": int(raw.get("prompt_tokens") or 0),
            "output_tokens": int(raw.get("completion_tokens") or 0),
            "total_tokens": int(raw.get("total_tokens") or 0),
        }
    if usage is not None and usage["input_tokens"] + usage["output_tokens"] == 0:
        usage = None  # a provider that counted nothing did not report usage
    if generation is not None and finish is None:
        finish = (generation.generation_info or {}).get("finish_reason")
    return text, usage, model, finish
