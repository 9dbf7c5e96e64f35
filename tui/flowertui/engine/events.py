"""The one event type and its schema: every event kind's payload is a typed, frozen record.

Panes, the ledger, the session store and exports all read these, so what is
exported is exactly what was seen. `docs/events.schema.json` is generated from
this module (docs/make_events_schema.py); the JSONL export's contract is that file.

Writers build a payload record and emit it (`bus.emit(TurnEnd(reply=...), ...)`);
the kind follows from the record's type. Readers read attributes. Old sessions
(schema version absent, trace runs stored in chat keys) are read by `payload_from`,
which upgrades what it knows and keeps unknown keys in `extra`, so nothing is lost.
Standard library only.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from reprlib import recursive_repr
from typing import Any, ClassVar, Literal, Union

SCHEMA_VERSION = 2  # 1: the unversioned event stream before the schema was published

# event kinds ----------------------------------------------------------------
SESSION_START = "session_start"
TURN_START, TURN_END, TURN_CANCELLED, TURN_ERROR = "turn_start", "turn_end", "turn_cancelled", "turn_error"
MEMORY_SWITCH, COMPARE_MODE, MEMORY_ESTIMATE = "memory_switch", "compare_mode", "memory_estimate"
MEMORY_CATCHUP_START, MEMORY_CATCHUP_END = "memory_catchup_start", "memory_catchup_end"
MEMORY_STATE = "memory_state"
PROGRAM_OUTPUT = "program_output"
AUDIT_CALL = "audit_call"
EMBEDDINGS = "embeddings"  # not a LangChain callback: an embeddings request flowertui's offline server answered
PROBE_HELLO, HANDLER_ERROR = "probe_hello", "handler_error"
CHAIN_START, CHAIN_END, CHAIN_ERROR = "chain_start", "chain_end", "chain_error"
CHAT_MODEL_START, LLM_START, LLM_NEW_TOKEN = "chat_model_start", "llm_start", "llm_new_token"
LLM_END, LLM_ERROR, TEXT, RETRY, CUSTOM_EVENT = "llm_end", "llm_error", "text", "retry", "custom_event"
TOOL_START, TOOL_END, TOOL_ERROR = "tool_start", "tool_end", "tool_error"
AGENT_ACTION, AGENT_FINISH = "agent_action", "agent_finish"
RETRIEVER_START, RETRIEVER_END, RETRIEVER_ERROR = "retriever_start", "retriever_end", "retriever_error"
TURN_CLOSED = (TURN_END, TURN_CANCELLED, TURN_ERROR)

# Event kinds by family; the app colours and filters by family.
FAMILIES: dict[str, tuple[str, ...]] = {
    "chain": (CHAIN_START, CHAIN_END),
    "chat_model": (CHAT_MODEL_START,),
    "llm": (LLM_START, LLM_NEW_TOKEN, LLM_END, TEXT, RETRY, CUSTOM_EVENT),
    "tool": (TOOL_START, TOOL_END, AGENT_ACTION, AGENT_FINISH),
    "retriever": (RETRIEVER_START, RETRIEVER_END),
    "error": (CHAIN_ERROR, LLM_ERROR, TOOL_ERROR, RETRIEVER_ERROR, TURN_ERROR, HANDLER_ERROR),
    "app": (SESSION_START, TURN_START, TURN_END, TURN_CANCELLED, MEMORY_SWITCH, COMPARE_MODE,
            MEMORY_ESTIMATE, MEMORY_CATCHUP_START, MEMORY_CATCHUP_END, MEMORY_STATE, PROBE_HELLO,
            PROGRAM_OUTPUT, AUDIT_CALL, EMBEDDINGS),
}
FAMILY_OF = {kind: family for family, kinds in FAMILIES.items() for kind in kinds}
CALLBACK_KINDS = frozenset(k for k, family in FAMILY_OF.items() if family != "app") - {TURN_ERROR, HANDLER_ERROR}



class SessionKind(StrEnum):
    """A chat with a model through a memory kind, or a traced program."""

    CHAT = "chat"
    TRACE = "trace"


class TraceVariant(StrEnum):
    """How a traced session's programs came: run by `trace`, received by `--listen`, or spooled by a `watch()`."""

    RUN = "run"  # `flowertui trace PROGRAM`: each run of the program is a turn
    LISTEN = "listen"  # `flowertui trace --listen`: each program that connects is a turn
    WATCH = "watch"  # a `flowertui.watch()` program's spool, imported on the next start


SessionKindName = Literal["chat", "trace"]  # the JSON values of SessionKind (the schema reads these)
TraceVariantName = Literal["run", "listen", "watch"]
_OLD_TRACE_PROVIDER = "trace"  # how sessions recorded before kinds were written marked a traced program
_OLD_VARIANTS = {"trace": TraceVariant.RUN, "listen": TraceVariant.LISTEN, "watch": TraceVariant.WATCH}  # their `mode`


def session_kind(recorded: str | None, provider: str | None = None) -> SessionKind:
    """A session's kind as recorded (session_start, the store's row, an export's header); ValueError if unknown.

    Sessions recorded before the kind was written are told apart here, and only here, by their provider.
    """
    if recorded:
        return SessionKind.TRACE if recorded in _OLD_VARIANTS else SessionKind(recorded)
    return SessionKind.TRACE if provider == _OLD_TRACE_PROVIDER else SessionKind.CHAT


def trace_variant(data: Mapping[str, Any]) -> TraceVariant:
    """A traced session's variant, from its session_start payload (older ones wrote it as `mode`)."""
    if found := data.get("trace_variant"):
        return TraceVariant(found)
    return _OLD_VARIANTS.get(data.get("mode") or data.get("session_kind") or "", TraceVariant.RUN)


def family_of(kind: str) -> str:
    return FAMILY_OF.get(kind, "app")


# payload records --------------------------------------------------------------


def key(name: str, **options: Any) -> Any:
    """A field stored under another JSON key (`from` is a Python keyword)."""
    return field(metadata={"key": name}, **options)


# Every record's `__repr__` is Record's (what dataclass would write, read from the fields): dataclass compiles each
# method it writes, and 47 records' reprs cost a fifth of this module's import, which the app pays before it is
# ready to send.
_record = dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)


class Record:
    """A typed JSON object. Read-only mapping access by JSON key (`get`, `[]`, `in`, `==` a dict) is kept for
    readers not yet moved to attributes. Not a collections.abc.Mapping: isinstance checks on the hot path stay
    plain class checks."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: every field (optional ones only when set), then the unknown keys it was read with."""
        out = {}
        for name, json_key, optional in _fields(type(self)):
            value = getattr(self, name)
            if value is None and optional:
                continue
            out[json_key] = _plain(value)
        out.update(getattr(self, "extra", None) or {})
        return out

    def __getitem__(self, json_key: str) -> Any:
        attr = _attrs(type(self)).get(json_key)
        if attr is None:
            extra = getattr(self, "extra", None) or {}
            return extra[json_key]
        value = getattr(self, attr[0])
        if value is None and attr[1]:
            raise KeyError(json_key)
        return value

    def get(self, json_key: str, default: Any = None) -> Any:
        try:
            return self[json_key]
        except KeyError:
            return default

    def __contains__(self, json_key: object) -> bool:
        return json_key in self.to_dict()

    def keys(self):
        return self.to_dict().keys()

    def items(self):
        return self.to_dict().items()

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return type(other) is type(self) and other.to_dict() == self.to_dict()
        return isinstance(other, Mapping) and dict(other) == self.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable-looking values inside, like the dicts it replaces

    @recursive_repr()
    def __repr__(self) -> str:
        """The repr dataclass writes: `Name(field=value, …)`, every field in order."""
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _names(type(self)))
        return f"{type(self).__qualname__}({shown})"


@_record
class Usage(Record):
    """Token usage the provider reported."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cached_input_tokens: int | None = None  # part of input_tokens, read from the provider's cache (priced lower)
    reasoning_tokens: int | None = None  # part of output_tokens (never added again)


@_record
class ToolCall(Record):
    """A tool call a model asked for: its name and arguments as the compact JSON text the API carries."""

    name: str
    arguments: str


@_record
class EstimatedCall(Record):
    """A model call that never ended (flowertui and its program were killed): tiktoken's count of its prompt
    and of what had streamed, counted by the ledger and marked estimated."""

    run_id: str
    model: str | None
    prompt_tokens: int
    completion_tokens: int


@_record
class Message(Record):
    role: str
    content: str
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    images: list[str] | None = None  # the detail level of each image part (the estimate prices them)


@_record
class Receiver(Record):
    """A handler of the traced program that received the event, how it was attached, whether it has own code."""

    name: str
    scope: str
    acts: bool


@_record
class Payload(Record):
    """An event's payload. `KIND` is the event kind when the type has exactly one. `extra` keeps the keys a
    payload was read with that its type does not know (an older or newer flowertui's), so nothing is lost."""

    KIND: ClassVar[str | None] = None
    extra: dict[str, Any] | None = None


# the session and its turns


@_record
class SessionStart(Payload):
    KIND = SESSION_START
    schema: int = SCHEMA_VERSION
    session_kind: SessionKindName
    flowertui: str | None


@_record
class ChatSessionStart(SessionStart):
    session_kind: SessionKindName = "chat"
    provider: str
    model: str | None
    base_url: str | None = None
    api_key_used: bool | None = None  # whether one was used (never the key): resuming needs one too
    memory_kind: str | None
    compare: bool
    memory_settings: dict[str, Any]
    resumed: bool | None = None


@_record
class TraceSessionStart(SessionStart):
    """A traced program's session: `command` is what was run (or listened for)."""

    session_kind: SessionKindName = "trace"
    trace_variant: TraceVariantName = "run"
    command: str


@_record
class TurnStart(Payload):
    KIND = TURN_START
    user: str
    kinds: list[str] | None = None
    model: str | None = None
    compare: bool | None = None


@_record
class RunStart(Payload):
    """A run of a traced program: a turn of its session."""

    KIND = TURN_START
    command: str
    pid: int | None
    run: int | None


@_record
class TurnEnd(Payload):
    KIND = TURN_END
    reply: str


@_record
class TurnCancelled(Payload):
    KIND = TURN_CANCELLED
    reply: str
    completion_tokens: int | None = None
    interrupted: str | None = None  # why the turn was closed at a later start (its writer had died)


@_record
class TurnError(Payload):
    KIND = TURN_ERROR
    error: str


@_record
class RunEnd(Payload):
    """How a traced program's run ended; emitted as turn_end, turn_error (it failed) or turn_cancelled (stopped)."""

    # "exited 0", "killed by SIGTERM", "exited 0 without running exit handlers (os._exit)", "exited" (a watched
    # program's probe said bye), "disconnected before a normal exit (…)", "recovered N events from the spool",
    # "interrupted: flowertui and the program were killed"
    exit_state: str
    exit_code: int | None
    signal: int | None = None
    error: str | None = None
    langchain: bool | None = None
    dropped_events: int | None = None
    elapsed: float | None = None
    recovered: int | None = None
    pid: int | None = None
    coverage: str | None = None  # what was traced: traced, no model call, no langchain, not traced (trace/coverage.py)
    coverage_note: str | None = None  # the one line that says so, and what to do
    estimated_calls: list[EstimatedCall] | None = None  # calls in flight when flowertui and the program died


@_record
class Embeddings(Payload):
    """An embeddings request flowertui's offline server answered for a traced program. LangChain emits no
    callback for embeddings, so only the server sees them; the trace ledger counts each as a call of `model`
    (its tokens as prompt tokens)."""

    KIND = EMBEDDINGS
    model: str
    inputs: int  # texts (or token arrays) embedded
    prompt_tokens: int  # as the server counted them (and answered in `usage`)
    dimensions: int


@_record
class ProgramOutput(Payload):
    """A traced run's console lines as shown (redacted, cut): [stream, text] with stream out, err or in."""

    KIND = PROGRAM_OUTPUT
    lines: list[list[str]]
    not_saved: int | None = None  # lines past the run's limit, counted, not kept


@_record
class MemorySwitch(Payload):
    KIND = MEMORY_SWITCH
    from_: str = key("from")
    to: str
    from_turn: int


@_record
class CompareMode(Payload):
    KIND = COMPARE_MODE
    on: bool


@_record
class MemoryEstimate(Payload):
    """What a memory kind not sent in compare mode would have cost (tiktoken)."""

    KIND = MEMORY_ESTIMATE
    model: str | None
    prompt_tokens: int
    completion_tokens: int


@_record
class MemoryCatchupStart(Payload):
    KIND = MEMORY_CATCHUP_START
    turns: int


@_record
class MemoryCatchupEnd(Payload):
    KIND = MEMORY_CATCHUP_END
    turns: int
    error: str | None = None
    calls: int | None = None
    total_tokens: int | None = None
    usage_missing: bool | None = None
    cost: float | None = None
    currency: str | None = None
    cancelled: bool | None = None  # a quit stopped it between calls
    read: int | None = None  # turns it read (fewer than `turns` when it was stopped)


@_record
class MemoryState(Payload):
    """What a summarising memory holds after it read `turns` turns: a resume restores it instead of paying again."""

    KIND = MEMORY_STATE
    turns: int
    summary: str
    kept_messages: int | None = None  # summary_buffer: the latest messages it keeps word for word


# a traced program's probe


@_record
class ProbeHello(Payload):
    KIND = PROBE_HELLO
    pid: int | None
    python: str
    langchain_core: str
    argv: list[str]
    protocol: int | None = None  # the probe's protocol version (absent from probes before version 1 was written)
    hooked: bool | None = None  # false: LangChain imported, its callback manager never (no runs); version 2


@_record
class HandlerError(Payload):
    """A handler of the traced program raised; LangChain only logged it."""

    KIND = HANDLER_ERROR
    handler: str | None
    callback: str | None
    error: str
    of_run: str | None


# `trace --audit`: the HTTP calls the audit proxy saw


@_record
class WireUsage(Record):
    """Usage as the provider's response carried it (chat, completions, embeddings and the Responses API
    normalised): `cached` is part of `prompt`, `reasoning` part of `completion`."""

    prompt: int
    completion: int
    total: int
    cached: int = 0
    reasoning: int = 0


@_record
class AuditCall(Payload):
    """One HTTP call of a traced program, seen at the wire by the audit proxy (never a header or a body text)."""

    KIND = AUDIT_CALL
    call: int  # the proxy's number for it, in the order calls arrived
    method: str
    endpoint: str  # the request's path, without its query
    api: str  # chat, completions, responses, embeddings or other
    model_asked: str | None
    model_answered: str | None
    status: int  # 502: the proxy could not reach the upstream
    latency_ms: float  # request received to the response's last byte forwarded
    ttfb_ms: float | None  # to the response's headers
    stream: bool
    usage_requested: bool | None  # a streamed chat or completions call's stream_options.include_usage; else None
    provider_usage: WireUsage | None
    started: float  # wall clock, when the request arrived
    request_bytes: int
    response_bytes: int
    unparsed_bytes: int | None = None  # bytes over the readers' caps, forwarded but not read
    error: str | None = None  # the API error's code or type (never its message), or why the proxy failed
    client_gone: bool | None = None  # the program hung up before the response ended
    extra: dict[str, Any] | None = None


# LangChain callbacks


@_record
class Callback(Payload):
    """Fields every callback payload may carry when it came from a traced program's probe."""

    handlers: list[Receiver] | None = None
    langgraph_node: str | None = None
    probe_error: str | None = None  # the probe could not read the callback's arguments


@_record
class ChainStart(Callback):
    KIND = CHAIN_START
    inputs: dict[str, str]


@_record
class ChainEnd(Callback):
    KIND = CHAIN_END
    outputs: dict[str, str]


@_record
class CallbackError(Callback):
    error: str
    type: str


@_record
class ChainError(CallbackError):
    KIND = CHAIN_ERROR


@_record
class LlmError(CallbackError):
    KIND = LLM_ERROR


@_record
class ToolError(CallbackError):
    KIND = TOOL_ERROR


@_record
class RetrieverError(CallbackError):
    KIND = RETRIEVER_ERROR


@_record
class ChatModelStart(Callback):
    KIND = CHAT_MODEL_START
    model: str | None
    messages: list[Message]
    prompt_tokens_estimate: int | None
    tools: list[dict[str, Any]] | None = None  # the tool definitions sent (at most TOOLS_LIMIT; the estimate counts them)


@_record
class LlmStart(Callback):
    KIND = LLM_START
    model: str | None
    prompts: list[str]
    prompt_tokens_estimate: int | None


@_record
class LlmNewToken(Callback):
    KIND = LLM_NEW_TOKEN
    token: str


@_record
class LlmEnd(Callback):
    KIND = LLM_END
    text: str
    model: str | None
    usage: Usage | None  # None: the provider reported none (the estimates count instead)
    finish_reason: str | None
    prompt_tokens_estimate: int | None
    completion_tokens_estimate: int | None
    generations: int | None = None
    usage_missing: str | None = None  # a traced program's hint on how to make its provider report usage
    tool_calls: list[ToolCall] | None = None  # the tool calls the reply asked for


@_record
class TextEvent(Callback):
    KIND = TEXT
    text: str


@_record
class Retry(Callback):
    KIND = RETRY
    attempt: int | None
    error: str | None


@_record
class ToolStart(Callback):
    KIND = TOOL_START
    input: str


@_record
class ToolEnd(Callback):
    KIND = TOOL_END
    output: str


@_record
class AgentAction(Callback):
    KIND = AGENT_ACTION
    tool: str
    log: str


@_record
class AgentFinish(Callback):
    KIND = AGENT_FINISH
    log: str


@_record
class RetrieverStart(Callback):
    KIND = RETRIEVER_START
    query: str


@_record
class RetrieverEnd(Callback):
    KIND = RETRIEVER_END
    documents: int


@_record
class CustomEvent(Callback):
    KIND = CUSTOM_EVENT
    data: str


# the JSONL export's first line


@_record
class ChatHeader(Record):
    """The header line of a chat session's JSONL export."""

    schema: int
    flowertui: str | None
    session_kind: SessionKindName
    provider: str | None
    model: str | None
    memory_kind: str | None
    memory_settings: dict[str, Any]
    session_id: str | None


@_record
class TraceHeader(Record):
    """The header line of a traced session's JSONL export."""

    schema: int
    flowertui: str | None
    session_kind: SessionKindName
    trace_variant: TraceVariantName | None = None
    command: str | None
    session_id: str | None


@_record
class Unknown(Payload):
    """A kind this version does not know (a newer flowertui's): its payload kept as it was."""



# every payload type an event kind may carry, the first the usual one
PAYLOADS: dict[str, tuple[type[Payload], ...]] = {
    SESSION_START: (ChatSessionStart, TraceSessionStart),
    TURN_START: (TurnStart, RunStart),
    TURN_END: (TurnEnd, RunEnd),
    TURN_CANCELLED: (TurnCancelled, RunEnd),
    TURN_ERROR: (TurnError, RunEnd),
    MEMORY_SWITCH: (MemorySwitch,), COMPARE_MODE: (CompareMode,), MEMORY_ESTIMATE: (MemoryEstimate,),
    MEMORY_CATCHUP_START: (MemoryCatchupStart,), MEMORY_CATCHUP_END: (MemoryCatchupEnd,), MEMORY_STATE: (MemoryState,), PROGRAM_OUTPUT: (ProgramOutput,),
    AUDIT_CALL: (AuditCall,),
    EMBEDDINGS: (Embeddings,),
    PROBE_HELLO: (ProbeHello,), HANDLER_ERROR: (HandlerError,),
    CHAIN_START: (ChainStart,), CHAIN_END: (ChainEnd,), CHAIN_ERROR: (ChainError,),
    CHAT_MODEL_START: (ChatModelStart,), LLM_START: (LlmStart,), LLM_NEW_TOKEN: (LlmNewToken,),
    LLM_END: (LlmEnd,), LLM_ERROR: (LlmError,), TEXT: (TextEvent,), RETRY: (Retry,),
    TOOL_START: (ToolStart,), TOOL_END: (ToolEnd,), TOOL_ERROR: (ToolError,),
    AGENT_ACTION: (AgentAction,), AGENT_FINISH: (AgentFinish,),
    RETRIEVER_START: (RetrieverStart,), RETRIEVER_END: (RetrieverEnd,), RETRIEVER_ERROR: (RetrieverError,),
    CUSTOM_EVENT: (CustomEvent,),
}
assert set(PAYLOADS) == set(FAMILY_OF)


# reading ------------------------------------------------------------------------


def payload_from(kind: str, data: Mapping[str, Any] | None) -> Payload:
    """The typed payload of a stored or received event. Lenient: old shapes are upgraded, keys this version does
    not know are kept in `extra`, missing fields are None."""
    if isinstance(data, Payload):
        return data
    data = dict(data or {})
    types = PAYLOADS.get(kind)
    if types is None:
        return Unknown(extra=data or None)
    cls = types[0]
    if kind == SESSION_START:
        try:
            kind_of = session_kind(data.get("session_kind"), data.get("provider"))
        except ValueError:
            return Unknown(extra=data or None)
        if kind_of is SessionKind.TRACE:
            cls = TraceSessionStart
            data["trace_variant"] = trace_variant(data).value
            data["session_kind"] = kind_of.value
            data.setdefault("command", data.get("model"))
            for old in ("provider", "model", "mode", "memory_kind", "memory_settings", "compare"):
                data.pop(old, None)  # before: a fake provider, the command as the model
        else:
            data["session_kind"] = kind_of.value
        data.setdefault("schema", 1)
    elif kind == TURN_START and ("run" in data or "command" in data):
        cls = RunStart
        if "command" not in data:  # before: the command was stored as the user's message
            data["command"] = data.pop("user", "")
    elif kind in TURN_CLOSED and ("exit_state" in data or "exit_code" in data):
        cls = RunEnd
        if "exit_state" not in data:  # before: the exit state was stored as the reply
            data["exit_state"] = data.pop("reply", "")
    return build(cls, data)


def build(cls: type[Record], data: Mapping[str, Any]) -> Record:
    """A record from a JSON object; unknown keys go to `extra` (or are dropped where the record keeps none)."""
    values: dict[str, Any] = {}
    hints = _hints(cls)
    known = set()
    for name, json_key, _optional in _fields(cls):
        known.add(json_key)
        values[name] = _convert(hints[name], data.get(json_key))
    if "extra" in hints:
        unknown = {k: v for k, v in data.items() if k not in known and k != "extra"}
        values["extra"] = unknown or None
    return cls(**values)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if isinstance(hint, type) and issubclass(hint, Record):
        if isinstance(value, hint):
            return value
        return build(hint, value) if isinstance(value, Mapping) else None
    if origin is list:
        if not isinstance(value, (list, tuple)):
            return []
        [item] = typing.get_args(hint)
        return [_convert(item, v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


_FIELDS: dict[type, tuple[tuple[str, str, bool], ...]] = {}
_ATTRS: dict[type, dict[str, tuple[str, bool]]] = {}
_HINTS: dict[type, dict[str, Any]] = {}
_NAMES: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[tuple[str, str, bool], ...]:
    """(attribute, JSON key, optional) of every field but `extra`; optional ones are left out of JSON when None."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(
            (f.name, f.metadata.get("key", f.name), f.default is None)
            for f in dataclasses.fields(cls) if f.name != "extra")
    return found


def _names(cls: type) -> tuple[str, ...]:
    """Every field's attribute name, `extra` included, in the dataclass's order."""
    found = _NAMES.get(cls)
    if found is None:
        found = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return found


def _attrs(cls: type) -> dict[str, tuple[str, bool]]:
    found = _ATTRS.get(cls)
    if found is None:
        found = _ATTRS[cls] = {json_key: (name, optional) for name, json_key, optional in _fields(cls)}
    return found


def _hints(cls: type) -> dict[str, Any]:
    found = _HINTS.get(cls)
    if found is None:
        found = _HINTS[cls] = typing.get_type_hints(cls)
    return found


def required(cls: type[Record]) -> list[str]:
    """The JSON keys a record always has (the schema's `required`)."""
    return [json_key for _name, json_key, optional in _fields(cls) if not optional]


# the event ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened. Times are seconds; `mono` orders events within a process."""

    seq: int
    wall: float
    mono: float
    session_id: str
    turn: int
    kind: str
    name: str
    scope: str
    memory_kind: str | None = None
    maintenance: bool = False
    run_id: str | None = None
    parent_run_id: str | None = None
    duration: float | None = None
    since_run_start: float | None = None
    payload: Payload = field(default_factory=Unknown)

    def __post_init__(self) -> None:
        if type(self.payload) is dict:  # a plain JSON object (an old reader's or a test's)
            object.__setattr__(self, "payload", payload_from(self.kind, self.payload))

    @property
    def family(self) -> str:
        return family_of(self.kind)

    @property
    def counted_token(self) -> bool:
        """A streamed token that carries text (ChatOpenAI also emits "" for role/usage chunks)."""
        return self.kind == LLM_NEW_TOKEN and bool(self.payload.token)

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in _EVENT_FIELDS}
        out["payload"] = self.payload.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        values = {name: data[name] for name in _EVENT_FIELDS if name in data}
        values["payload"] = payload_from(str(data.get("kind", "")), data.get("payload"))
        return cls(**values)


_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(Event) if f.name != "payload")

