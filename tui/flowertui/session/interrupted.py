"""Closing turns whose writer died: flowertui killed (with its traced program) mid-turn.

Such a turn stays "running" in the database with no total, since the process that
would have closed it is gone. At the next start (after spooled events are imported),
each turn left running by a session whose writer lock is free (`session/locks.py`) is
closed as `turn_cancelled`: it was stopped from outside, not failed by itself. The
calls that finished count as usual (their events are stored); a call in flight (a
model start with no end) is counted as tiktoken's estimate of its prompt plus what had
streamed, and marked estimated (`~`). A traced run whose program still runs is left
alone: its probe spools what it sends, and the import that follows its exit closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flowertui.engine.bus import EventBus
from flowertui.engine.events import (LLM_END, LLM_ERROR, LLM_NEW_TOKEN, TURN_CANCELLED, TURN_START, ChatModelStart,
                                     ChatSessionStart, EstimatedCall, Event, LlmStart, RunEnd, RunStart,
                                     SessionKind, TurnCancelled)
from flowertui.engine.prices import PriceBook
from flowertui.engine.session_kinds import ledger_of
from flowertui.engine.tokens import count_tokens
from flowertui.locks import abandoned
from flowertui.session.store import SessionStore, SessionWriter
from flowertui.trace.spool import pid_alive

TRACE_STATE = "interrupted: flowertui and the program were killed"
CHAT_STATE = "interrupted: flowertui was killed"


@dataclass(frozen=True)
class Closed:
    """What one start closed in one session: its turns, and whether a call in flight was estimated."""

    session_id: str
    turns: tuple[int, ...]
    estimated: bool


def close_interrupted(database: Path, prices: PriceBook) -> list[Closed]:
    """Close every turn left running by a writer that died; what was closed, per session."""
    closed = []
    with abandoned(database.parent) as found:
        if not found.sessions:
            return []
        store = SessionStore(database)
        try:
            stored = {sid: ([t for t, _, _, status in store.turns(sid) if status == "running"], store.events(sid))
                      for sid in found.sessions}
        finally:
            store.close()
        for session_id, (running, events) in stored.items():
            done = _close(database, prices, session_id, running, events) if running and events else None
            if done is not None and done.turns:
                closed.append(done)
            if done is None or len(done.turns) == len(running):  # a run whose program lives on waits for it
                found.settle(session_id)
    return closed


def _close(database: Path, prices: PriceBook, session_id: str, running: list[int], events: list[Event]) -> Closed:
    chat = isinstance(events[0].payload, ChatSessionStart)
    turns = [turn for turn in running if chat or not _program_alive(events, turn)]
    if not turns:
        return Closed(session_id, (), False)
    ledger = ledger_of(SessionKind.CHAT if chat else SessionKind.TRACE, events, prices)
    writer = SessionWriter(database, ledger, recorded=True, locked=False)
    bus = EventBus(session_id, seq=max(e.seq for e in events), turn=max(e.turn for e in events))
    bus.subscribe(ledger)
    bus.subscribe(writer)
    estimated = False
    try:
        for turn in turns:
            last = max((e for e in events if e.turn == turn), key=lambda e: e.seq)
            at = (last.wall, last.mono)  # closed as of the last thing known of it, not when this start found it
            in_flight = _in_flight([e for e in events if e.turn == turn])
            estimated |= bool(in_flight)
            if chat:
                start = next((e for e in events if e.turn == turn and e.kind == TURN_START), None)
                main = next((call for call, text in in_flight if not call.maintenance), None)
                text = next((text for call, text in in_flight if call is main), "")
                bus.emit(TurnCancelled(reply=text, completion_tokens=_count(text, main), interrupted=CHAT_STATE),
                         name="turn", scope="app", turn=turn, memory_kind=start.memory_kind if start else None, at=at)
            else:
                calls = estimated_calls([e for e in events if e.turn == turn])
                bus.emit(RunEnd(exit_state=TRACE_STATE, exit_code=None, estimated_calls=calls or None),
                         kind=TURN_CANCELLED, name="run", scope="app", turn=turn, at=at)
    finally:
        writer.close()
    return Closed(session_id, tuple(turns), estimated)


def estimated_calls(turn: list[Event]) -> list[EstimatedCall]:
    """A traced run's calls that never ended, as the ledger counts them: prompt and streamed text, estimated."""
    return [EstimatedCall(run_id=call.run_id or "", model=call.payload.model,
                          prompt_tokens=int(call.payload.prompt_tokens_estimate or 0),
                          completion_tokens=_count(text, call)) for call, text in _in_flight(turn)]


def _program_alive(events: list[Event], turn: int) -> bool:
    start = next((e.payload for e in events if e.turn == turn and isinstance(e.payload, RunStart)), None)
    return start is not None and start.pid is not None and pid_alive(start.pid)


def _in_flight(events: list[Event]) -> list[tuple[Event, str]]:
    """The model calls of a turn that started and never ended, each with the text it had streamed."""
    starts = {e.run_id: e for e in events if isinstance(e.payload, (ChatModelStart, LlmStart)) and e.run_id}
    for event in events:
        if event.kind in (LLM_END, LLM_ERROR):
            starts.pop(event.run_id, None)
    return [(start, "".join(e.payload.token or "" for e in events if e.kind == LLM_NEW_TOKEN and e.run_id == run_id))
            for run_id, start in starts.items()]


def _count(text: str, call: Event | None) -> int:
    if not text:
        return 0
    try:
        return count_tokens(text, call.payload.model if call is not None else None)
    except Exception:  # no tokenizer data: a rough count beats 0 (about 4 characters a token)
        return max(1, len(text) // 4)
