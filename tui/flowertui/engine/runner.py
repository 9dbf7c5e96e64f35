"""One conversation: turns through ConversationChain (or an agent), memory switching, compare mode, cancel.

Plain synchronous code meant for a worker thread: ConversationSummaryMemory has
no async save, so sync `invoke` is the path on which every memory kind works.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel

from flowertui.engine import legacy
from flowertui.engine.bus import EventBus
from flowertui.engine.events import (CompareMode, MemoryCatchupEnd, MemoryCatchupStart, MemoryEstimate, MemoryState,
                                     MemorySwitch, TurnEnd, TurnError, TurnStart, build)
from flowertui.engine.events import TurnCancelled as CancelledTurn  # the payload; TurnCancelled here is the guard's
from flowertui.engine.kinds import AGENT_KINDS, KINDS, SAVED, SUMMARISING, MemorySettings, UnknownMemoryKind
from flowertui.engine.ledger import Ledger
from flowertui.engine.memory import (
    SUMMARY_LIMIT,
    build_memory,
    carry_over,
    catch_up_estimate,
    prompt_for,
    restore,
    state_of,
    valid_state,
)
from flowertui.engine.recorder import Recorder, describe_error, maintenance_call
from flowertui.engine.sanitize import clean
from flowertui.engine.tokens import count_tokens


CANCEL_POLL = 0.05  # seconds between looks at the cancel flag while the provider works
CONSENT_TOKENS = 2_000  # a catch-up sending more than this to a priced model is asked for first

# LangChain logs every exception a handler raises; the guard's TurnCancelled is how a cancel works, not a fault.
logging.getLogger("langchain_core.callbacks.manager").addFilter(lambda record: "TurnCancelled" not in record.getMessage())

# The cancel flag of the engine step running on this thread: the summariser's guard reads it.
_CANCEL: ContextVar[threading.Event | None] = ContextVar("flowertui_cancel", default=None)


class TurnFailed(RuntimeError):
    """The provider failed; the message is the provider's, without a traceback."""


class TurnCancelled(Exception):
    """Raised from a callback to stop a model call the user cancelled (or the app closing)."""

    user_cancel = True  # describe_error reads this: a cancel is the user's, not a fault

    def __str__(self) -> str:
        return "Cancelled"


class Cancelled(Exception):
    """A memory switch, compare mode or catch-up stopped by a cancel or a quit; the memories stay consistent."""

    def __str__(self) -> str:
        return "Cancelled"


class CatchUpDeclined(Cancelled):
    """The user said no to a catch-up's cost; nothing was spent."""

    def __str__(self) -> str:
        return "Catch-up declined"


@dataclass(frozen=True)
class TurnResult:
    turn: int
    user: str
    reply: str
    status: str  # done | cancelled


@dataclass(frozen=True)
class CatchUpPlan:
    """What bringing some memories up to date would send to the model, estimated before any call."""

    kinds: tuple[str, ...]  # the summarising kinds that must read earlier turns
    turns: int  # the most turns any of them must read
    input_tokens: int  # ≈ tokens sent
    output_tokens: int  # ≈ tokens written back
    cost: float | None  # ≈ cost; None when the model has no price
    currency: str | None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def needs_consent(self) -> bool:
        """More than CONSENT_TOKENS sent to a model that costs money (offline and unpriced models never ask)."""
        return bool(self.cost) and self.input_tokens > CONSENT_TOKENS


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
        self.summarising: set[Any] = set()

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: Any, metadata: Any = None,
                            **kwargs: Any) -> None:
        if maintenance_call(metadata):  # an agent's summariser streams too: its words are not the reply
            self.summarising.add(run_id)

    def on_llm_new_token(self, token: str, *, run_id: Any = None, **kwargs: Any) -> None:
        if self.cancelled.is_set():
            raise TurnCancelled()
        if run_id not in self.summarising:
            self.partial.append(token)

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        if self.cancelled.is_set():
            raise TurnCancelled()


class _SummariserGuard(BaseCallbackHandler):
    """On the summariser's model: stops its call when the engine step that made it is cancelled.

    It is given to the model's constructor (summariser calls inherit no request callbacks) and reads
    the step's flag from the calling thread's context, so an abandoned call stops at its next callback.
    """

    raise_error = True
    run_inline = True

    def _check(self, *args: Any, **kwargs: Any) -> None:
        cancelled = _CANCEL.get()
        if cancelled is not None and cancelled.is_set():
            raise TurnCancelled()

    on_chat_model_start = on_llm_start = on_llm_new_token = on_llm_end = _check


@dataclass
class _Outcome:
    result: Any = None
    error: BaseException | None = None
    abandoned: bool = False


def _interruptible(work: Callable[[], Any], cancelled: threading.Event, name: str) -> _Outcome:
    """Run `work` on its own thread and return when it ends, or at once when `cancelled` is set.

    An abandoned call is left to its thread; the guards stop it at its next callback, and it only
    touches memory objects the caller then replaces.
    """
    outcome, finished = _Outcome(), threading.Event()

    def run() -> None:
        _CANCEL.set(cancelled)
        try:
            outcome.result = work()
        except BaseException as exc:  # handed to the waiting thread below
            outcome.error = exc
        finally:
            finished.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    while not finished.wait(CANCEL_POLL):
        if cancelled.is_set():
            outcome.abandoned = True
            break
    return outcome


class Conversation:
    """The flower-shop conversation with one active memory kind (or all of them in compare mode).

    Every memory built is kept, with how many transcript turns it has read: a kind switched away and
    back (or compare mode turned off and on) reads only the turns it missed, so no turn is summarised
    twice. A summarising memory's state is an event (`memory_state`) whenever it changes, and a resumed
    session restores it from there instead of summarising again.
    """

    def __init__(
        self,
        model: BaseChatModel,
        bus: EventBus,
        *,
        memory_kind: str = "buffer",
        settings: MemorySettings | None = None,
        compare: bool = False,
        transcript: Iterable[tuple[str, str]] = (),
        memory_states: Mapping[str, dict[str, Any]] | None = None,
        retries: int = 0,
        ledger: Ledger | None = None,
    ) -> None:
        """`transcript` holds earlier turns (a resumed session) and `memory_states` what its summarising
        memories had read (the last memory_state payload per kind); `retries` after a 429 or 5xx answer.

        `ledger` is the session's ledger (a sink of `bus`): a catch-up's end event quotes what it cost.
        Building reads nothing paid: turns a summarising memory has not read wait for `catch_up()`
        (which `ask` runs first), so the app can ask before paying for them.
        """
        self.model = model
        self.ledger = ledger
        if retries:  # tenacity and LangChain's RunnableRetry: not for the offline assistant, which never retries
            from flowertui.engine.retry import with_provider_retry

            self._chain_llm = with_provider_retry(model, retries + 1)
        else:
            self._chain_llm = model
        self.bus = bus
        self.settings = settings or MemorySettings()
        self.transcript: list[tuple[str, str]] = list(transcript)
        self.kept: dict[str, Any] = {}  # every memory built this session, fed or not
        self.read: dict[str, int] = {}  # how many transcript turns each kept memory has read
        self._recorded = dict(memory_states or {})
        self.compare = compare
        self.consent: Callable[[CatchUpPlan], bool] | None = None  # asked before a costly catch-up; None: go on
        self._cancelled = threading.Event()
        self._closed = threading.Event()
        self._request = Recorder(bus, "request")
        self.active = memory_kind
        if memory_kind not in KINDS:
            raise UnknownMemoryKind(memory_kind)
        self.bus.memory_kind = memory_kind
        for kind in self._fed_kinds():
            self._keep(kind)
        self._rechain()

    @property
    def model_name(self) -> str:
        return str(getattr(self.model, "model_name", None) or getattr(self.model, "model", "unknown"))

    @property
    def memory(self):
        return self.kept[self.active]

    @property
    def memories(self) -> dict[str, Any]:
        """The memories fed every turn: the active one, or every kind in compare mode."""
        return {kind: self.kept[kind] for kind in self._fed_kinds()}

    def _fed_kinds(self, kind: str | None = None, compare: bool | None = None) -> list[str]:
        compare = self.compare if compare is None else compare
        return list(KINDS) if compare else [kind or self.active]

    # memories ----------------------------------------------------------------
    def _summariser(self, kind: str) -> BaseChatModel:
        """A copy of the model with a constructor-scope recorder: the summariser's calls do not inherit
        request callbacks, so this is where they can be seen (and stopped).

        An agent's summariser runs inside the agent's turn and inherits its request recorder, which bills
        it as maintenance by its `lc_source` tag: it gets the guard only (a recorder here would count twice).
        """
        if kind in AGENT_KINDS:
            return self.model.model_copy(update={"callbacks": [_SummariserGuard()]})
        recorder = Recorder(self.bus, "constructor", maintenance=True, memory_kind=kind)
        # the guard first: a call stopped at its end is not recorded as a turn's spend after its catch-up closed
        return self.model.model_copy(update={"callbacks": [_SummariserGuard(), recorder]})

    def _rebuilt(self, kind: str, read: int, state: dict[str, Any] | None):
        """A memory of `kind` as it was after reading the first `read` turns (no model call)."""
        memory = build_memory(kind, self._summariser(kind), self.settings, self._chain_llm)
        restore(kind, memory, self.transcript[:read], state)
        self.kept[kind], self.read[kind] = memory, read
        return memory

    def _keep(self, kind: str) -> None:
        """Build `kind` if it is new: a kind that needs no model reads the transcript at once; a summarising
        one starts from its recorded state, if the resumed session has one, else from nothing."""
        if kind in self.kept:
            return
        if kind not in SAVED:
            self._rebuilt(kind, len(self.transcript), None)
            return
        state = self._recorded.pop(kind, None)
        turns = state.get("turns") if isinstance(state, dict) else None
        if (isinstance(turns, int) and not isinstance(turns, bool) and 0 < turns <= len(self.transcript)
                and valid_state(kind, state, turns)):
            self._rebuilt(kind, turns, state)
        else:  # an agent reads the whole transcript free: its middleware summarises it at the next turn
            self._rebuilt(kind, len(self.transcript) if kind in AGENT_KINDS else 0, None)

    def _rechain(self) -> None:
        """The active kind's chain: ConversationChain around a lesson memory; an agent kind is its own."""
        memory = self.kept[self.active]
        self.chain = memory if self.active in AGENT_KINDS else legacy.ConversationChain(llm=self._chain_llm,
                                                                                        memory=memory)

    def _snapshot(self, kinds: Iterable[str]) -> dict[str, tuple[int, dict[str, Any] | None]]:
        return {kind: (self.read[kind], state_of(kind, self.kept[kind])) for kind in kinds}

    def _roll_back(self, snapshot: dict[str, tuple[int, dict[str, Any] | None]]) -> None:
        """Put memories back as they were (a cancelled or failed step may have half-fed them)."""
        for kind, (read, state) in snapshot.items():
            self._rebuilt(kind, read, state)
        self._rechain()

    def _save_state(self, kind: str) -> None:
        """Record what a summarising memory holds, so a resume restores it instead of paying for it again."""
        state = state_of(kind, self.kept[kind])
        if state is None:
            return
        state["summary"] = clean(state["summary"], self.bus.redact, SUMMARY_LIMIT)
        self.bus.emit(build(MemoryState, {"turns": self.read[kind], **state}), name=kind, scope="app", memory_kind=kind)

    # catching up -------------------------------------------------------------
    def plan(self, kind: str | None = None, compare: bool | None = None) -> CatchUpPlan:
        """What making `kind` active (or compare mode `compare`) would spend reading earlier turns."""
        kinds, turns, sent, written = [], 0, 0, 0
        for each in self._fed_kinds(kind, compare):
            if each not in SUMMARISING:
                continue
            self._keep(each)
            behind = len(self.transcript) - self.read[each]
            if behind <= 0:
                continue
            spend = catch_up_estimate(each, self.transcript, self.read[each], self.settings, self.model_name)
            kinds.append(each)
            turns, sent, written = max(turns, behind), sent + spend[0], written + spend[1]
        price = self.ledger.prices.lookup(self.model_name).price if self.ledger else None
        cost = price.cost(sent, written) if price else None
        return CatchUpPlan(tuple(kinds), turns, sent, written, cost, price.currency if price else None)

    def _agree(self, plan: CatchUpPlan) -> None:
        """Ask before a costly catch-up; raises CatchUpDeclined when the answer is no."""
        if plan.kinds and plan.needs_consent and self.consent is not None and not self._closed.is_set():
            if not self.consent(plan):
                raise CatchUpDeclined()

    def _begin(self) -> threading.Event:
        """A fresh cancel flag for the next engine step (already set once the conversation is closed)."""
        self._cancelled = cancelled = threading.Event()
        if self._closed.is_set():
            cancelled.set()
        return cancelled

    def catch_up(self) -> None:
        """Bring every fed memory up to date. Declined, the conversation goes on with buffer memory
        (compare mode off), which needs no model to remember; cancelled, it raises Cancelled."""
        cancelled = self._begin()
        try:
            self._agree(self.plan())
        except CatchUpDeclined:
            self.set_compare(False)
            self.switch("buffer")
            return
        self._catch_up_all(self._fed_kinds(), cancelled)

    def _catch_up_all(self, kinds: Iterable[str], cancelled: threading.Event) -> None:
        for kind in kinds:
            self._keep(kind)
            if self.read[kind] < len(self.transcript):
                if kind in SUMMARISING:
                    self._catch_up(kind, cancelled)
                else:
                    carry_over(self.kept[kind], self.transcript[self.read[kind]:])
                    self.read[kind] = len(self.transcript)

    def _catch_up(self, kind: str, cancelled: threading.Event) -> None:
        """Run the summariser over the turns `kind` has not read, one call at a time, between two events
        that say so and what it cost. A cancel stops it between calls (a call in flight is abandoned);
        what was read until then is kept, and recorded."""
        start = self.read[kind]
        behind = self.transcript[start:]
        self.bus.emit(MemoryCatchupStart(turns=len(behind)), name=kind, scope="app", memory_kind=kind)
        ended: dict[str, Any] = {"turns": len(behind)}
        try:
            for user, reply in behind:
                if cancelled.is_set():
                    raise Cancelled()
                memory, snapshot = self.kept[kind], self._snapshot([kind])
                step = _interruptible(lambda m=memory, u=user, r=reply: m.save_context({"input": u}, {"response": r}),
                                      cancelled, f"flowertui-catch-up-{kind}")
                if step.abandoned or isinstance(step.error, TurnCancelled):
                    self._roll_back(snapshot)
                    raise Cancelled()
                if step.error is not None:
                    self._roll_back(snapshot)
                    ended["error"] = clean(describe_error(step.error, self._server(), self._timeout()), self.bus.redact)
                    raise TurnFailed(ended["error"]) from step.error
                self.read[kind] += 1
        except Cancelled:
            ended["cancelled"] = True
            raise
        finally:
            ended["read"] = self.read[kind] - start
            spent = self.ledger.catching_up(kind) if self.ledger else None
            if spent is not None:
                ended |= {key: value for key, value in spent.to_dict(self.ledger.prices).items()
                          if key in ("calls", "total_tokens", "usage_missing", "cost", "currency")}
            self.bus.emit(build(MemoryCatchupEnd, ended), name=kind, scope="app", memory_kind=kind)
            if self.read[kind] > start:
                self._save_state(kind)

    # switching ---------------------------------------------------------------
    def switch(self, kind: str) -> None:
        """Make `kind` active; it first reads the turns it has not read (asking first if that costs much)."""
        if kind not in KINDS:
            raise UnknownMemoryKind(kind)
        cancelled = self._begin()
        self._agree(self.plan(kind=kind))
        self._catch_up_all([kind], cancelled)
        previous, self.active = self.active, kind
        self.bus.memory_kind = kind
        self._rechain()
        if previous != kind:
            self.bus.emit(MemorySwitch(from_=previous, to=kind, from_turn=self.bus.turn + 1), name="memory",
                          scope="app", memory_kind=kind)

    def set_compare(self, on: bool) -> None:
        """Compare mode keeps every kind's memory fed with the same transcript."""
        if on == self.compare:
            return
        if on:
            cancelled = self._begin()
            self._agree(self.plan(compare=True))
            self._catch_up_all(KINDS, cancelled)
        self.compare = on
        self.bus.emit(CompareMode(on=on), name="memory", scope="app")

    def cancel(self) -> None:
        """Stop the step in flight now (a reply, a catch-up); a provider still working is left to fail, out of memory."""
        self._cancelled.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        """Cancel what is in flight and every step after it: the app is quitting."""
        self._closed.set()
        self._cancelled.set()

    def _server(self) -> str | None:
        return getattr(self.model, "openai_api_base", None) or (
            "https://api.openai.com/v1" if hasattr(self.model, "openai_api_base") else None)

    def _timeout(self) -> float | None:
        timeout = getattr(self.model, "request_timeout", None)
        return float(timeout) if isinstance(timeout, (int, float)) else None

    # turns -------------------------------------------------------------------
    def ask(self, user: str) -> TurnResult:
        """Run one turn; raises TurnFailed with the provider's message when the model fails.

        Memories that have not read every earlier turn catch up first. The chain (and, in compare
        mode, feeding the other kinds) runs in its own thread so that a cancel returns at once, even
        while a provider has not sent its first token; the memories are then put back as they were
        before the turn, so a cancelled turn is in none of them.
        """
        self.catch_up()
        cancelled = self._begin()
        turn = self.bus.begin_turn()
        kinds = self._fed_kinds()
        self.bus.emit(TurnStart(user=clean(user, self.bus.redact), kinds=kinds, model=self.model_name,
                                compare=self.compare), name="turn", scope="app")
        guard = _Guard(cancelled)
        snapshot = self._snapshot(kinds)
        chain = self.chain

        def work() -> str:
            reply = chain.invoke({"input": user}, config={"callbacks": [self._request, guard]})["response"]
            if self.compare:
                self._feed_others(user, reply, cancelled)
            return reply

        outcome = _interruptible(work, cancelled, f"flowertui-turn-{turn}")
        if outcome.abandoned or cancelled.is_set() or isinstance(outcome.error, TurnCancelled):
            self._roll_back(snapshot)
            reply = "".join(guard.partial)
            self.bus.emit(CancelledTurn(reply=clean(reply, self.bus.redact),
                                        completion_tokens=count_tokens(reply, self.model_name)),
                          name="turn", scope="app")
            return TurnResult(turn, user, reply, "cancelled")
        if outcome.error is not None:
            self._roll_back(snapshot)
            message = clean(describe_error(outcome.error, self._server(), self._timeout()), self.bus.redact)
            self.bus.emit(TurnError(error=message), name="turn", scope="app")
            raise TurnFailed(message) from outcome.error
        reply = outcome.result
        self.transcript.append((user, reply))
        for kind in kinds:
            self.read[kind] = len(self.transcript)
            if kind in SAVED:
                self._save_state(kind)
        self.bus.emit(TurnEnd(reply=clean(reply, self.bus.redact)), name="turn", scope="app")
        return TurnResult(turn, user, reply, "done")

    def _feed_others(self, user: str, reply: str, cancelled: threading.Event) -> None:
        """Every other kind: count the prompt it would have sent, then let it remember the turn."""
        for kind, memory in self.memories.items():
            if kind == self.active:
                continue
            if cancelled.is_set():
                raise TurnCancelled()
            prompt = prompt_for(memory, user, [Recorder(self.bus, "request", memory_kind=kind)])
            self.bus.emit(MemoryEstimate(model=self.model_name, prompt_tokens=count_tokens(prompt, self.model_name),
                                         completion_tokens=count_tokens(reply, self.model_name)),
                          name=kind, scope="app", memory_kind=kind)
            memory.save_context({"input": user}, {"response": reply})
