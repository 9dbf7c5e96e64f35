"""One conversation: turns through ConversationChain, memory switching, compare mode, cancel.

Plain synchronous code meant for a worker thread: ConversationSummaryMemory has
no async save, so sync `invoke` is the path on which every memory kind works.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel

from flowertui.engine import legacy
from flowertui.engine.bus import EventBus
from flowertui.engine.kinds import KINDS, MemorySettings, UnknownMemoryKind
from flowertui.engine.memory import build_memory, carry_over, prompt_for
from flowertui.engine.recorder import Recorder, describe_error
from flowertui.engine.sanitize import clean
from flowertui.engine.tokens import count_tokens


class TurnFailed(RuntimeError):
    """The provider failed; the message is the provider's, without a traceback."""


class TurnCancelled(Exception):
    """Raised from the token callback to stop a reply the user cancelled."""


@dataclass(frozen=True)
class TurnResult:
    turn: int
    user: str
    reply: str
    status: str  # done | cancelled


class _Guard(BaseCallbackHandler):
    """Collects the reply as it streams and stops it when the user cancels."""

    raise_error = True
    run_inline = True

    def __init__(self, cancelled: threading.Event) -> None:
        self.cancelled = cancelled
        self.partial: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        if self.cancelled.is_set():
            raise TurnCancelled()
        self.partial.append(token)


class Conversation:
    """The flower-shop conversation with one active memory kind (or all five in compare mode)."""

    def __init__(
        self,
        model: BaseChatModel,
        bus: EventBus,
        *,
        memory_kind: str = "buffer",
        settings: MemorySettings | None = None,
        compare: bool = False,
        transcript: Iterable[tuple[str, str]] = (),
    ) -> None:
        """`transcript` holds earlier turns (a resumed session); the memories are given them."""
        self.model = model
        self.bus = bus
        self.settings = settings or MemorySettings()
        self.transcript: list[tuple[str, str]] = list(transcript)
        self.memories: dict[str, Any] = {}
        self.compare = False
        self._request = Recorder(bus, "request")
        self._cancelled = threading.Event()
        self.active = ""
        self.switch(memory_kind)
        self._keep_memories(compare)

    @property
    def model_name(self) -> str:
        return str(getattr(self.model, "model_name", None) or getattr(self.model, "model", "unknown"))

    @property
    def memory(self):
        return self.memories[self.active]

    def _new_memory(self, kind: str):
        """A memory whose summariser/counter is a copy of the model with a constructor-scope recorder.

        The summariser's calls do not inherit request callbacks, so this is where they can be seen.
        """
        recorder = Recorder(self.bus, "constructor", maintenance=True, memory_kind=kind)
        memory = build_memory(kind, self.model.model_copy(update={"callbacks": [recorder]}), self.settings)
        carry_over(memory, self.transcript)
        return memory

    def switch(self, kind: str) -> None:
        """Make `kind` active; a memory new to this conversation is given the transcript so far."""
        if kind not in KINDS:
            raise UnknownMemoryKind(kind)
        previous, self.active = self.active, kind
        self.bus.memory_kind = kind
        if kind not in self.memories:
            self.memories[kind] = self._new_memory(kind)
        if not self.compare:
            self.memories = {kind: self.memories[kind]}
        self.chain = legacy.ConversationChain(llm=self.model, memory=self.memories[kind])
        if previous:
            self.bus.emit("memory_switch", name="memory", scope="app", memory_kind=kind,
                          payload={"from": previous, "to": kind, "from_turn": len(self.transcript) + 1})

    def set_compare(self, on: bool) -> None:
        """Compare mode keeps all five memories fed with the same transcript."""
        if on != self.compare:
            self._keep_memories(on)
            self.bus.emit("compare_mode", name="memory", scope="app", payload={"on": on})

    def _keep_memories(self, compare: bool) -> None:
        self.compare = compare
        for kind in KINDS if compare else ():
            if kind not in self.memories:
                self.memories[kind] = self._new_memory(kind)
        if not compare:
            self.memories = {self.active: self.memory}

    def cancel(self) -> None:
        """Stop the reply in flight at its next token; it is not stored in memory."""
        self._cancelled.set()

    def ask(self, user: str) -> TurnResult:
        """Run one turn; raises TurnFailed with the provider's message when the model fails."""
        self._cancelled.clear()
        self.bus.turn += 1
        turn = self.bus.turn
        kinds = list(self.memories) if self.compare else [self.active]
        self.bus.emit("turn_start", name="turn", scope="app",
                      payload={"user": clean(user, self.bus.redact), "kinds": kinds, "model": self.model_name,
                               "compare": self.compare})
        guard = _Guard(self._cancelled)
        try:
            result = self.chain.invoke({"input": user}, config={"callbacks": [self._request, guard]})
        except TurnCancelled:
            reply = "".join(guard.partial)
            self.bus.emit("turn_cancelled", name="turn", scope="app", payload={"reply": clean(reply, self.bus.redact)})
            return TurnResult(turn, user, reply, "cancelled")
        except Exception as exc:  # any provider failure ends the turn, never the app
            message = describe_error(exc)
            self.bus.emit("turn_error", name="turn", scope="app", payload={"error": clean(message, self.bus.redact)})
            raise TurnFailed(clean(message, self.bus.redact)) from exc
        reply = result["response"]
        if self.compare:
            self._feed_others(user, reply)
        self.transcript.append((user, reply))
        self.bus.emit("turn_end", name="turn", scope="app", payload={"reply": clean(reply, self.bus.redact)})
        return TurnResult(turn, user, reply, "done")

    def _feed_others(self, user: str, reply: str) -> None:
        """Every other kind: count the prompt it would have sent, then let it remember the turn."""
        for kind, memory in self.memories.items():
            if kind == self.active:
                continue
            prompt = prompt_for(memory, user)
            self.bus.emit("memory_estimate", name=kind, scope="app", memory_kind=kind, payload={
                "model": self.model_name,
                "prompt_tokens": count_tokens(prompt, self.model_name),
                "completion_tokens": count_tokens(reply, self.model_name),
            })
            memory.save_context({"input": user}, {"response": reply})
