"""The one way a callback becomes a payload: the fields the probe's reader extracted, finished here.

Both the in-process Recorder (chat) and the probe's receiver (trace) hand their
extracted fields to a Normaliser: it adds tiktoken estimates (so a call without
reported usage is never 0), cleans every text (escapes, secrets, size) and builds
the typed payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowertui.engine.events import (CHAIN_END, CHAIN_START, CHAT_MODEL_START, LLM_END, LLM_ERROR, LLM_NEW_TOKEN,
                                     LLM_START, LlmNewToken, Payload, Receiver, payload_from)
from flowertui.engine.sanitize import Redactor, clean
from flowertui.engine.tokens import count_completion, count_prompt, count_tokens
from flowertui.trace.probe.flowertui_extract import NAME_LIMIT, TEXT_LIMIT, VALUE_LIMIT

__all__ = ["NAME_LIMIT", "TEXT_LIMIT", "VALUE_LIMIT", "Normaliser"]
NAMES_LIMIT = 10_000  # open runs whose names are remembered for their end events


class Normaliser:
    """Finishes one session's callbacks. `value_limit` bounds chain inputs and outputs (the probe bounded them
    already, so the receiver passes TEXT_LIMIT); `usage_hint` is said on a model call that reported no usage."""

    def __init__(self, redact: Redactor, *, value_limit: int = VALUE_LIMIT, usage_hint: str | None = None) -> None:
        self.redact = redact
        self.value_limit = value_limit
        self.usage_hint = usage_hint
        self._starts: dict[str, tuple[str | None, int]] = {}  # run id → (model, prompt estimate) until it ends
        self._names: dict[str, str] = {}  # open runs' names: LangChain gives an end event none of its own

    def text(self, value: Any, limit: int = TEXT_LIMIT) -> str:
        return clean("" if value is None else value if isinstance(value, str) else str(value), self.redact, limit)

    def run_name(self, kind: str, run_id: str | None, name: Any) -> str:
        """The event's name, cleaned; an end or error event is named as its run's start was."""
        name = self.text(name, NAME_LIMIT)
        if run_id and kind.endswith("_start") and len(self._names) < NAMES_LIMIT:
            self._names[run_id] = name
        elif run_id and kind.endswith(("_end", "_error")):
            name = self._names.pop(run_id, name)
        return name

    def token(self, token: Any, handlers: list[Receiver] | None = None) -> LlmNewToken:
        """The hot path: one streamed token, never cut."""
        return LlmNewToken(token=self.text(token, 0), handlers=handlers)

    def __call__(self, kind: str, fields: Mapping[str, Any], run_id: str | None = None,
                 handlers: list[Receiver] | None = None) -> Payload:
        raw = dict(fields)
        if kind in (CHAT_MODEL_START, LLM_START):
            messages = [m for m in raw.get("messages") or () if isinstance(m, Mapping)]
            if kind == CHAT_MODEL_START:
                tools = raw.get("tools") if isinstance(raw.get("tools"), list) else ()
                estimate = count_prompt(messages, tools, _name(raw.get("model")))
            else:
                estimate = count_tokens("\n".join(str(p) for p in raw.get("prompts") or ()), _name(raw.get("model")))
            raw["prompt_tokens_estimate"] = estimate
            if run_id:
                self._starts[run_id] = (raw.get("model"), estimate)
        elif kind in (LLM_END, LLM_ERROR):
            model, estimate = self._starts.pop(run_id or "", (None, None))
            if kind == LLM_END:  # the whole text is counted, then bounded below
                raw["model"] = raw.get("model") or model
                raw["prompt_tokens_estimate"] = estimate
                calls = [c for c in raw.get("tool_calls") or () if isinstance(c, Mapping)]
                raw["completion_tokens_estimate"] = count_completion(str(raw.get("text") or ""), calls,
                                                                     _name(raw["model"]))
                if not raw.get("usage"):
                    raw["usage"] = None
                    if self.usage_hint:
                        raw["usage_missing"] = self.usage_hint
        limit = 0 if kind == LLM_NEW_TOKEN else self.value_limit if kind in (CHAIN_START, CHAIN_END) else TEXT_LIMIT
        cleaned = self._clean(raw, limit)
        if handlers is not None:
            cleaned["handlers"] = handlers
        return payload_from(kind, cleaned)

    def _clean(self, value: Any, limit: int) -> Any:
        if isinstance(value, str):
            return self.text(value, limit)
        if isinstance(value, Mapping):
            return {self.text(k, NAME_LIMIT): self._clean(v, limit) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._clean(v, limit) for v in value]
        return value if value is None or isinstance(value, (bool, int, float)) else self.text(value, limit)


def _name(model: Any) -> str | None:
    return model if isinstance(model, str) else None
