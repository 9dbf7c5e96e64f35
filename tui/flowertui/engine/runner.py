"""One conversation: turns through ConversationChain, memory switching, compare mode, cancel.

Plain synchronous code meant for a worker thread: ConversationSummaryMemory has
no async save, so sync `invoke` is the path on which every memory kind works.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel

from flowertui.engine import legacy
from flowertui.engine.bus import EventBus
from flowertui.engine.events import (CompareMode, MemoryCatchupEnd, MemoryCatchupStart, MemoryEstimate, MemorySwitch,
                                     TurnEnd, TurnError, TurnStart, build)
from flowertui.engine.events import TurnCancelled as CancelledTurn  # the payload; TurnCancelled here is the guard's
from flowertui.engine.kinds import KINDS, SUMMARISING, MemorySettings, UnknownMemoryKind
from flowertui.engine.ledger import Ledger
from flowertui.engine.memory import build_memory, carry_over, prompt_for
from flowertui.engine.recorder import Recorder, describe_error
from flowertui.engine.retry import with_provider_retry
from flowertui.engine.sanitize import clean
from flowertui.engine.tokens import count_tokens


CANCEL_POLL = 0.05  # seconds between looks at the cancel flag while the provider works

# LangChain logs every exception a handler raises; the guard's TurnCancelled is how a cancel works, not a fault.
logging.getLogger("langchain_core.callbacks.manager").addFilter(lambda record: "TurnCancelled" not in record.getMessage())


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
    """Collects the reply as it streams; once its turn is cancelled, stops the call at its next step.

    Raising before the chain returns is what keeps a cancelled reply out of memory:
    ConversationChain saves the turn only after the model call succeeds.
    """

    raise_error = True
    run_inline = True

    def __init__(self, cancelled: threading.Event) -> None:
        self.cancelled = cancelled
        self.partial: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        if self.cancelled.is_set():
            raise TurnCancelled()
        self.partial.append(token)

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        if self.cancelled.is_set():
            raise TurnCancelled()


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
        retries: int = 0,
        ledger: Ledger | None = None,
    ) -> None:
        """`transcript` holds earlier turns (a resumed session); `retries` after a 429 or 5xx answer.

        `ledger` is the session's ledger (a sink of `bus`): a catch-up's end event quotes what it cost.
        """
        self.model = model
        self.ledger = ledger
        self._chain_llm = with_provider_retry(model, retries + 1) if retries else model
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
        if self.transcript and kind in SUMMARISING:
            self._catch_up(kind, memory)
        else:
            carry_over(memory, self.transcript)
        return memory

    def _catch_up(self, kind: str, memory) -> None:
        """Run the summariser over the transcript, between two events that say so and what it cost."""
        turns = len(self.transcript)
        self.bus.emit(MemoryCatchupStart(turns=turns), name=kind, scope="app", memory_kind=kind)
        ended: dict[str, Any] = {"turns": turns}
        try:
            carry_over(memory, self.transcript)
        except Exception as exc:
            ended["error"] = clean(describe_error(exc), self.bus.redact)
            raise
        finally:
            spent = self.ledger.catching_up(kind) if self.ledger else None
            if spent is not None:
                ended |= {key: value for key, value in spent.to_dict(self.ledger.prices).items()
                          if key in ("calls", "total_tokens", "usage_missing", "cost", "currency")}
            self.bus.emit(build(MemoryCatchupEnd, ended), name=kind, scope="app", memory_kind=kind)

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
        self.chain = legacy.ConversationChain(llm=self._chain_llm, memory=self.memories[kind])
        if previous:
            self.bus.emit(MemorySwitch(from_=previous, to=kind, from_turn=self.bus.turn + 1), name="memory",
                          scope="app", memory_kind=kind)

    def set_compare(self, on: bool) -> None:
        """Compare mode keeps all five memories fed with the same transcript."""
        if on != self.compare:
            self._keep_memories(on)
            self.bus.emit(CompareMode(on=on), name="memory", scope="app")

    def _keep_memories(self, compare: bool) -> None:
        self.compare = compare
        for kind in KINDS if compare else ():
            if kind not in self.memories:
                self.memories[kind] = self._new_memory(kind)
        if not compare:
            self.memories = {self.active: self.memory}

    def cancel(self) -> None:
        """Stop the reply in flight now; a provider still working is left to fail, out of memory."""
        self._cancelled.set()

    def ask(self, user: str) -> TurnResult:
        """Run one turn; raises TurnFailed with the provider's message when the model fails.

        The chain runs in its own thread so that a cancel returns at once, even while
        a provider has not sent its first token; the abandoned call is stopped by its
        guard at its next callback and never reaches memory.
        """
        self._cancelled = cancelled = threading.Event()
        turn = self.bus.begin_turn()
        kinds = list(self.memories) if self.compare else [self.active]
        self.bus.emit(TurnStart(user=clean(user, self.bus.redact), kinds=kinds, model=self.model_name,
                                compare=self.compare), name="turn", scope="app")
        guard = _Guard(cancelled)
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def call() -> None:
            try:
                outcome["result"] = self.chain.invoke({"input": user}, config={"callbacks": [self._request, guard]})
            except BaseException as exc:  # handed to the waiting thread below
                outcome["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=call, name=f"flowertui-turn-{turn}", daemon=True).start()
        while not finished.wait(CANCEL_POLL):
            if cancelled.is_set():
                break
        if cancelled.is_set():
            reply = "".join(guard.partial)
            self.bus.emit(CancelledTurn(reply=clean(reply, self.bus.redact),
                                        completion_tokens=count_tokens(reply, self.model_name)),
                          name="turn", scope="app")
            return TurnResult(turn, user, reply, "cancelled")
        if "error" in outcome:
            server = getattr(self.model, "openai_api_base", None) or (
                "https://api.openai.com/v1" if hasattr(self.model, "openai_api_base") else None)
            message = clean(describe_error(outcome["error"], server), self.bus.redact)
            self.bus.emit(TurnError(error=message), name="turn", scope="app")
            raise TurnFailed(message) from outcome["error"]
        reply = outcome["result"]["response"]
        if self.compare:
            self._feed_others(user, reply)
        self.transcript.append((user, reply))
        self.bus.emit(TurnEnd(reply=clean(reply, self.bus.redact)), name="turn", scope="app")
        return TurnResult(turn, user, reply, "done")

    def _feed_others(self, user: str, reply: str) -> None:
        """Every other kind: count the prompt it would have sent, then let it remember the turn."""
        for kind, memory in self.memories.items():
            if kind == self.active:
                continue
            prompt = prompt_for(memory, user)
            self.bus.emit(MemoryEstimate(model=self.model_name, prompt_tokens=count_tokens(prompt, self.model_name),
                                         completion_tokens=count_tokens(reply, self.model_name)),
                          name=kind, scope="app", memory_kind=kind)
            memory.save_context({"input": user}, {"response": reply})
