"""The callback handler: every LangChain callback becomes one Event on the bus.

It only emits: no widgets, no files. One instance per way it is attached, so each
event says how the handler saw it (scope) and whether it was memory upkeep.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from typing_extensions import override

from flowertui.engine import events as ev
from flowertui.engine.bus import EventBus
from flowertui.engine.normalise import Normaliser
from flowertui.trace.probe.flowertui_extract import extract


RUN_ENDS = frozenset({ev.CHAIN_END, ev.CHAIN_ERROR, ev.LLM_END, ev.LLM_ERROR})


def _relay(kind: str) -> Callable[..., None]:
    """The handler's `on_<kind>` method: it hands its positional arguments to the reader as they came
    (LangChain passes them by position); an error callback's first argument is also described for the user."""
    name = f"on_{kind}"
    if not hasattr(BaseCallbackHandler, name):  # what @override checks for a method written out
        raise TypeError(f"BaseCallbackHandler has no {name}")
    error = ev.FAMILY_OF[kind] == "error"

    def method(self: Recorder, *args: Any, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._callback(kind, args, kwargs, run_id, parent_run_id, args[0] if error else None)

    method.__name__, method.__qualname__ = name, f"Recorder.{name}"
    return method


class Recorder(BaseCallbackHandler):
    """Turns callbacks into events. `scope` is constructor, request or context.

    The callback's arguments are read by the probe's reader (the same reading a traced program gets), whole;
    the normaliser estimates, cleans and bounds them.
    """

    run_inline = True  # keep event order when LangChain runs handlers from async code

    def __init__(self, bus: EventBus, scope: str, *, maintenance: bool = False, memory_kind: str | None = None):
        self.bus = bus
        self.scope = scope
        self.maintenance = maintenance
        self.memory_kind = memory_kind
        self.normalise = Normaliser(bus.redact)
        self._upkeep: set[UUID] = set()  # runs of a summariser that runs inside a turn (an agent's middleware)

    def _emit(self, payload: ev.Payload, run_id: UUID, parent_run_id: UUID | None, name: str) -> None:
        self.bus.emit(
            payload,
            name=name,
            scope=self.scope,
            run_id=str(run_id),
            parent_run_id=str(parent_run_id) if parent_run_id else None,
            memory_kind=self.memory_kind,
            maintenance=self.maintenance or run_id in self._upkeep,
        )

    def _callback(self, kind: str, args: tuple, kwargs: dict[str, Any], run_id: UUID,
                  parent_run_id: UUID | None, error: BaseException | None = None) -> None:
        if maintenance_call(kwargs.get("metadata")):
            self._upkeep.add(run_id)
        read = extract(kind, args, kwargs, 0)
        fields = read["payload"]
        if error is not None:  # in the user's terms, with what to do about it
            fields["error"] = describe_error(error)
        self._emit(self.normalise(kind, fields, str(run_id)), run_id, parent_run_id,
                   self.normalise.run_name(kind, str(run_id), read["name"]))
        if kind in RUN_ENDS:
            self._upkeep.discard(run_id)

    # one line a callback: its positional arguments are what the reader reads
    on_chain_start = _relay(ev.CHAIN_START)
    on_chain_end = _relay(ev.CHAIN_END)
    on_chain_error = _relay(ev.CHAIN_ERROR)
    on_chat_model_start = _relay(ev.CHAT_MODEL_START)
    on_llm_start = _relay(ev.LLM_START)
    on_llm_end = _relay(ev.LLM_END)
    on_llm_error = _relay(ev.LLM_ERROR)
    on_text = _relay(ev.TEXT)
    on_retry = _relay(ev.RETRY)
    on_tool_start = _relay(ev.TOOL_START)
    on_tool_end = _relay(ev.TOOL_END)
    on_tool_error = _relay(ev.TOOL_ERROR)
    on_agent_action = _relay(ev.AGENT_ACTION)
    on_agent_finish = _relay(ev.AGENT_FINISH)
    on_retriever_start = _relay(ev.RETRIEVER_START)
    on_retriever_end = _relay(ev.RETRIEVER_END)
    on_retriever_error = _relay(ev.RETRIEVER_ERROR)

    @override
    def on_llm_new_token(self, token: str, *, run_id, parent_run_id=None, **kwargs: Any) -> None:
        self._emit(self.normalise.token(token), run_id, parent_run_id, "token")

    @override
    def on_custom_event(self, name: str, data: Any, *, run_id, tags=None, metadata=None, **kwargs: Any) -> None:
        self._callback(ev.CUSTOM_EVENT, (name, data), kwargs, run_id, None)


def maintenance_call(metadata: Any) -> bool:
    """A call SummarizationMiddleware makes to write its summary: memory upkeep, billed as maintenance."""
    return isinstance(metadata, dict) and metadata.get("lc_source") == "summarization"


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
