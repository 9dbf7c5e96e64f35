"""A session's events as OpenTelemetry spans: one per LangChain run, one per chat turn and memory catch-up.

`SpanBuilder` is a sink: it follows the events (a recorded session's, or a traced program's as they
arrive) and hands each span over when its run ends. Spans carry both attribute sets that tools read:
OpenTelemetry's GenAI conventions (`gen_ai.*`) and OpenInference's (`openinference.span.kind`,
`llm.*`, `input.value`…), which Phoenix keys on. Token counts come from `spent`, the function both
ledgers count with, so the spans add up to the ledger's totals.

Ids are stable: a span's id is a hash of the session and its run id (or turn), so exporting a session
twice sends the same spans. A trace is one chat turn, or one top-level run of a traced program (its
outermost chain, graph or model call); `session.id` and `gen_ai.conversation.id` group a session's traces.
Standard library only: the builder runs in the viewer's event path and must stay cheap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowertui.engine.events import (CHAIN_START, CHAT_MODEL_START, LLM_NEW_TOKEN, LLM_START, MEMORY_CATCHUP_END,
                                     MEMORY_CATCHUP_START, RETRIEVER_START, SESSION_START, TOOL_START, TURN_CANCELLED,
                                     TURN_CLOSED, TURN_ERROR, TURN_START, CallbackError, ChainEnd, ChainStart,
                                     ChatModelStart, ChatSessionStart, Event, LlmEnd, LlmStart, RetrieverEnd,
                                     RetrieverStart, SessionKind, ToolEnd, ToolStart, TraceSessionStart, TurnError,
                                     TurnStart)
from flowertui.engine.ledger import cached, spent

VALUE_LIMIT = 8_000  # characters of one text attribute (input.value, a message's content); the rest is cut, counted
MESSAGES_LIMIT = 32  # the last messages of a prompt sent as llm.input_messages.N.*
MAINTENANCE_TAG = "memory-maintenance"  # tag.tags of the summariser's calls and catch-ups

Value = str | int | float | bool | list[str]

# OpenInference span kinds and GenAI operation names by the run's start event
_KINDS = {CHAIN_START: "CHAIN", CHAT_MODEL_START: "LLM", LLM_START: "LLM", TOOL_START: "TOOL",
          RETRIEVER_START: "RETRIEVER"}
_OPERATIONS = {CHAT_MODEL_START: "chat", LLM_START: "text_completion", TOOL_START: "execute_tool"}
_ROLES = {"human": "user", "ai": "assistant", "AIMessageChunk": "assistant", "generic": "user"}
# gen_ai.provider.name of a chat session's provider (an OpenAI-compatible server speaks OpenAI's API)
_CHAT_PROVIDERS = {"offline": "flowertui", "compatible": "openai"}
# ... and of a traced program's model, by its LangChain class
_CLASS_PROVIDERS = {
    "ChatOpenAI": "openai", "OpenAI": "openai", "AzureChatOpenAI": "azure.ai.openai", "AzureOpenAI": "azure.ai.openai",
    "ChatAnthropic": "anthropic", "ChatBedrock": "aws.bedrock", "ChatBedrockConverse": "aws.bedrock",
    "ChatVertexAI": "gcp.vertex_ai", "ChatGoogleGenerativeAI": "gcp.gemini", "ChatMistralAI": "mistral_ai",
    "ChatGroq": "groq", "ChatDeepSeek": "deepseek", "ChatCohere": "cohere", "ChatXAI": "x_ai",
    "ChatPerplexity": "perplexity", "ChatOllama": "ollama", "OllamaLLM": "ollama", "ChatTongyi": "dashscope",
}


@dataclass
class Span:
    """One finished span, as plain values (encode.py writes it as protobuf)."""

    trace_id: bytes  # 16 bytes
    span_id: bytes  # 8 bytes
    parent_span_id: bytes | None
    name: str
    client: bool  # a call to a model (SPAN_KIND_CLIENT); otherwise internal
    start_ns: int
    end_ns: int
    attributes: dict[str, Value]
    error: str | None = None  # status ERROR with this message; None: status unset
    events: list[tuple[str, int, dict[str, Value]]] = field(default_factory=list)  # (name, time, attributes)


@dataclass
class _Open:
    """A run, turn or catch-up whose span has begun."""

    start: Event
    trace_key: str
    span_key: str
    parent_key: str | None
    first_token: float | None = None
    pieces: int = 0


class SpanBuilder:
    """A sink over a session's events; `on_span` receives each span as its run ends, `finish` closes the rest."""

    def __init__(self, on_span: Callable[[Span], None]) -> None:
        self.on_span = on_span
        self.session_id = ""
        self.kind = SessionKind.CHAT
        self.provider: str | None = None  # a chat session's; a traced program's models name theirs
        self.command: str | None = None
        self.spans = 0
        self._runs: dict[str, _Open] = {}
        self._turns: dict[int, _Open] = {}
        self._catch_ups: dict[str, _Open] = {}  # by memory kind
        self._last_wall = 0.0

    def __call__(self, event: Event) -> None:
        kind = event.kind
        if kind == LLM_NEW_TOKEN:  # the hot path: only a model span's first piece and the count
            run = self._runs.get(event.run_id or "")
            if run is not None and event.payload.token:
                run.pieces += 1
                if run.first_token is None:
                    run.first_token = event.since_run_start
            return
        self.session_id = self.session_id or event.session_id
        self._last_wall = max(self._last_wall, event.wall)
        p = event.payload
        if kind == SESSION_START:
            self._session(p)
        elif kind == TURN_START and self.kind == SessionKind.CHAT:
            key = f"turn:{event.turn}"
            self._turns[event.turn] = _Open(event, key, key, None)
        elif kind in TURN_CLOSED:
            self._turn_closed(event)
        elif kind == MEMORY_CATCHUP_START and event.memory_kind:
            key = f"catch-up:{event.seq}"
            self._catch_ups[event.memory_kind] = _Open(event, key, key, None)
        elif kind == MEMORY_CATCHUP_END and event.memory_kind in self._catch_ups:
            opened = self._catch_ups.pop(event.memory_kind)
            error = getattr(p, "error", None)
            self._emit(opened, event.wall, error, self._catch_up_attributes(opened.start))
        elif event.run_id is not None and kind in _KINDS:
            self._run_started(event)
        elif event.run_id in self._runs and kind.endswith(("_end", "_error")):
            opened = self._runs.pop(event.run_id)
            error = p.error if isinstance(p, CallbackError) else None
            self._emit(opened, event.wall, error, self._run_attributes(opened, event), exception=p)

    def finish(self) -> None:
        """Close what never ended (flowertui or the program stopped first) at the last event's time, as errors."""
        for opened in list(self._runs.values()):
            self._emit(opened, self._last_wall, "did not end", self._run_attributes(opened, None))
        for opened in [*self._catch_ups.values(), *self._turns.values()]:
            attributes = (self._turn_attributes(opened.start, None) if opened.start.kind == TURN_START
                          else self._catch_up_attributes(opened.start))
            self._emit(opened, self._last_wall, "did not end", attributes)
        self._runs.clear()
        self._catch_ups.clear()
        self._turns.clear()

    def resource(self) -> dict[str, Value]:
        """What the spans' resource says besides the service: the session and, for a traced program, its command."""
        found: dict[str, Value] = {"flowertui.session.kind": str(self.kind)}
        if self.command:
            found["process.command_line"] = self.command
        return found

    # following ----------------------------------------------------------------

    def _session(self, p: Any) -> None:
        if isinstance(p, ChatSessionStart):
            self.kind, self.provider = SessionKind.CHAT, _CHAT_PROVIDERS.get(p.provider, p.provider)
        elif isinstance(p, TraceSessionStart):
            self.kind, self.command = SessionKind.TRACE, p.command

    def _run_started(self, event: Event) -> None:
        parent = self._runs.get(event.parent_run_id or "")
        span_key = f"run:{event.run_id}"
        if parent is not None:
            opened = _Open(event, parent.trace_key, span_key, parent.span_key)
        elif event.maintenance and event.memory_kind in self._catch_ups:  # the summariser reading earlier turns
            catch_up = self._catch_ups[event.memory_kind]
            opened = _Open(event, catch_up.trace_key, span_key, catch_up.span_key)
        elif event.turn in self._turns:  # a chat turn's chain, or a summariser call whose chain is not recorded
            turn = self._turns[event.turn]
            opened = _Open(event, turn.trace_key, span_key, turn.span_key)
        else:  # a top-level run: its own trace (runs under a parent never seen share that parent's)
            opened = _Open(event, f"run:{event.parent_run_id or event.run_id}", span_key, None)
        self._runs[event.run_id] = opened

    def _turn_closed(self, event: Event) -> None:
        """A chat turn's span ends with the turn; runs the turn (or a traced program's run) left open end with it."""
        for run_id, opened in list(self._runs.items()):
            if opened.start.turn == event.turn:
                del self._runs[run_id]
                how = getattr(event.payload, "exit_state", None) or ("cancelled" if event.kind == TURN_CANCELLED
                                                                       else "its turn ended")
                self._emit(opened, event.wall, f"did not end: {how}", self._run_attributes(opened, None))
        opened = self._turns.pop(event.turn, None)
        if opened is None:
            return
        error = event.payload.error if isinstance(event.payload, TurnError) else None
        if event.kind == TURN_ERROR and error is None:
            error = "failed"
        self._emit(opened, event.wall, error, self._turn_attributes(opened.start, event))

    # attributes ---------------------------------------------------------------

    def _common(self, event: Event) -> dict[str, Value]:
        found: dict[str, Value] = {"session.id": self.session_id, "gen_ai.conversation.id": self.session_id,
                                   "flowertui.turn": event.turn}
        metadata: dict[str, Any] = {"turn": event.turn}
        if event.memory_kind and self.kind == SessionKind.CHAT:
            found["flowertui.memory_kind"] = metadata["memory_kind"] = event.memory_kind
        if event.maintenance:
            found["flowertui.maintenance"] = metadata["maintenance"] = True
            found["tag.tags"] = [MAINTENANCE_TAG]
        found["metadata"] = json.dumps(metadata, ensure_ascii=False)
        return found

    def _turn_attributes(self, start: Event, end: Event | None) -> dict[str, Value]:
        p, cut = start.payload, _Cut()
        found = {**self._common(start), "openinference.span.kind": "CHAIN", "flowertui.name": f"turn {start.turn}"}
        if isinstance(p, TurnStart):
            found["input.value"] = cut(p.user)
            if p.kinds:
                found["flowertui.memory_kinds"] = list(p.kinds)
        if end is not None:
            found["flowertui.status"] = {TURN_CANCELLED: "cancelled", TURN_ERROR: "failed"}.get(end.kind, "done")
            if reply := getattr(end.payload, "reply", None):
                found["output.value"] = cut(reply)
        return cut.mark(found)

    def _catch_up_attributes(self, start: Event) -> dict[str, Value]:
        """A summary memory reading the turns it missed when it started: memory maintenance."""
        return {**self._common(start), "openinference.span.kind": "CHAIN", "tag.tags": [MAINTENANCE_TAG],
                "flowertui.maintenance": True, "flowertui.name": f"memory catch-up {start.memory_kind}",
                "flowertui.catch_up_turns": int(getattr(start.payload, "turns", 0) or 0)}

    def _run_attributes(self, opened: _Open, end: Event | None) -> dict[str, Value]:
        start, cut = opened.start, _Cut()
        p = start.payload
        span_kind = _KINDS[start.kind]
        if span_kind == "CHAIN" and "agent" in start.name.lower():
            span_kind = "AGENT"
        found = {**self._common(start), "openinference.span.kind": span_kind, "flowertui.name": start.name,
                 "flowertui.run_id": start.run_id or ""}
        if operation := ("invoke_agent" if span_kind == "AGENT" else _OPERATIONS.get(start.kind)):
            found["gen_ai.operation.name"] = operation
        if node := getattr(p, "langgraph_node", None):
            found["graph.node.id"] = node
        q = end.payload if end is not None else None
        if isinstance(p, (ChatModelStart, LlmStart)):
            self._model(found, start, p, end if isinstance(q, LlmEnd) else None, cut, opened)
        elif isinstance(p, ChainStart):
            found.update(_value("input", p.inputs, cut))
            if isinstance(q, ChainEnd):
                found.update(_value("output", q.outputs, cut))
        elif isinstance(p, ToolStart):
            found["tool.name"] = found["gen_ai.tool.name"] = start.name
            found["input.value"] = cut(p.input)
            if isinstance(q, ToolEnd):
                found["output.value"] = cut(q.output)
        elif isinstance(p, RetrieverStart):
            found["input.value"] = cut(p.query)
            if isinstance(q, RetrieverEnd):
                found["flowertui.documents"] = int(q.documents or 0)
        return cut.mark(found)

    def _model(self, found: dict[str, Value], start: Event, p: ChatModelStart | LlmStart, ended: Event | None,
               cut: _Cut, opened: _Open) -> None:
        end = ended.payload if ended is not None else None
        provider = self.provider if self.kind == SessionKind.CHAT else _CLASS_PROVIDERS.get(start.name)
        if provider:
            found["gen_ai.provider.name"] = found["llm.provider"] = provider
        if p.model:
            found["gen_ai.request.model"] = p.model
        model = (end.model if end is not None else None) or p.model
        if model:
            found["llm.model_name"] = model
        if isinstance(p, ChatModelStart):
            messages = p.messages[-MESSAGES_LIMIT:]
            if len(p.messages) > len(messages):
                found["flowertui.messages_not_sent"] = len(p.messages) - len(messages)
            for i, message in enumerate(messages):
                found[f"llm.input_messages.{i}.message.role"] = _ROLES.get(message.role, message.role)
                found[f"llm.input_messages.{i}.message.content"] = cut(message.content)
            found.update(_value("input", [{"role": _ROLES.get(m.role, m.role), "content": m.content}
                                          for m in p.messages], cut))
        else:
            found.update(_value("input", p.prompts, cut))
        if opened.pieces:
            found["flowertui.streamed_pieces"] = opened.pieces
            if opened.first_token is not None:
                found["flowertui.time_to_first_token_s"] = opened.first_token
        if ended is None:
            return
        if end.model:
            found["gen_ai.response.model"] = end.model
        spent_in, spent_out, missing = spent(ended)  # as both ledgers count it
        found["gen_ai.usage.input_tokens"] = found["llm.token_count.prompt"] = spent_in
        found["gen_ai.usage.output_tokens"] = found["llm.token_count.completion"] = spent_out
        found["llm.token_count.total"] = spent_in + spent_out
        if read := cached(ended):
            found["gen_ai.usage.cache_read.input_tokens"] = read
            found["llm.token_count.prompt_details.cache_read"] = read
        if end.usage is not None and (reasoning := end.usage.reasoning_tokens):
            found["gen_ai.usage.reasoning.output_tokens"] = int(reasoning)
            found["llm.token_count.completion_details.reasoning"] = int(reasoning)
        if missing:  # tiktoken's count, as the ledger has it
            found["flowertui.usage_missing"] = True
        if end.finish_reason:
            found["gen_ai.response.finish_reasons"] = [end.finish_reason]
        found["llm.output_messages.0.message.role"] = "assistant"
        found["llm.output_messages.0.message.content"] = cut(end.text or "")
        for j, call in enumerate(end.tool_calls or ()):
            prefix = f"llm.output_messages.0.message.tool_calls.{j}.tool_call.function"
            found[f"{prefix}.name"] = call.name
            found[f"{prefix}.arguments"] = cut(call.arguments)
        if end.text or not end.tool_calls:
            found["output.value"] = cut(end.text or "")
        else:
            found.update(_value("output", [c.to_dict() for c in end.tool_calls], cut))

    # spans ----------------------------------------------------------------------

    def _emit(self, opened: _Open, end_wall: float, error: str | None, attributes: dict[str, Value],
              exception: Any = None) -> None:
        start = opened.start
        start_ns = int(start.wall * 1e9)
        end_ns = max(start_ns, int(end_wall * 1e9))
        name = str(attributes.get("flowertui.name") or start.name)
        operation = attributes.get("gen_ai.operation.name")
        if operation in ("chat", "text_completion") and attributes.get("gen_ai.request.model"):
            name = f"{operation} {attributes['gen_ai.request.model']}"  # the GenAI convention's span name
        elif operation == "execute_tool":
            name = f"execute_tool {start.name}"
        events = []
        if error is not None:
            error = error[:1000]
        if isinstance(exception, CallbackError):  # what the run raised, as OpenTelemetry records exceptions
            thrown: dict[str, Value] = {"exception.message": error or ""}
            if exception.type:
                thrown["exception.type"] = exception.type
            events.append(("exception", end_ns, thrown))
        self.spans += 1
        self.on_span(Span(trace_id=self._id(f"trace:{opened.trace_key}", 16), span_id=self._id(opened.span_key, 8),
                          parent_span_id=self._id(opened.parent_key, 8) if opened.parent_key else None,
                          name=name, client=start.kind in (CHAT_MODEL_START, LLM_START), start_ns=start_ns,
                          end_ns=end_ns, attributes=attributes, error=error, events=events))

    def _id(self, key: str, size: int) -> bytes:
        digest = hashlib.blake2b(f"{self.session_id}\0{key}".encode(), digest_size=size).digest()
        return digest if any(digest) else b"\x01" * size  # an all-zero id is invalid in OTLP


class _Cut:
    """Bounds text attributes to VALUE_LIMIT characters and counts what it cut (`flowertui.cut_chars`)."""

    def __init__(self) -> None:
        self.cut = 0

    def __call__(self, text: str | None) -> str:
        text = text or ""
        if len(text) <= VALUE_LIMIT:
            return text
        self.cut += len(text) - VALUE_LIMIT
        return text[:VALUE_LIMIT] + "…"

    def mark(self, found: dict[str, Value]) -> dict[str, Value]:
        if self.cut:
            found["flowertui.cut_chars"] = self.cut
        return found


def _value(prefix: str, value: Any, cut: _Cut) -> dict[str, Value]:
    """`input.value` / `output.value` as JSON text (`…mime_type` application/json), or plain text once cut."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    shown = cut(text)
    mime = "application/json" if shown is text and not isinstance(value, str) else "text/plain"
    return {f"{prefix}.value": shown, f"{prefix}.mime_type": mime}
