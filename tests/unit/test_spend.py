"""What each part of a session spent (`Spend`), as the ledgers compute it for `flowertui diff`: a turn's kinds added
once, a memory kind's totals, every run of a traced tree with its children, and totals that stay the sessions'."""

from __future__ import annotations

from collections import Counter

import pytest

from flowertui.engine.events import CALLBACK_KINDS, Event
from flowertui.engine.prices import load_prices
from flowertui.engine.trace_ledger import TraceLedger
from tests.support.rigs import LESSON, offline_rig


@pytest.fixture(scope="module")
def compared():
    """The lesson's three turns in compare mode: buffer sent, the other kinds estimated, the summariser real."""
    rig = offline_rig(compare=True)
    for user in LESSON:
        rig.conversation.ask(user)
    return rig


def test_a_turn_spends_what_its_kinds_spent_and_the_session_what_its_turns_and_catch_ups_did(compared):
    ledger = compared.ledger
    turns = sorted({e.turn for e in compared.events if e.turn})
    for turn in turns:
        spend = ledger.turn_spend(turn)
        records = ledger.turn_records(turn)
        assert spend.total_tokens == sum(row["total_tokens"] for row in records.values()) > 0
        assert spend.estimated is True  # compare mode's other kinds are tiktoken's
        started, ended = (e.mono for e in compared.events if e.turn == turn and e.kind in ("turn_start", "turn_end"))
        assert spend.seconds == pytest.approx(ended - started)
        callbacks = Counter(e.scope for e in compared.events if e.turn == turn and e.kind in CALLBACK_KINDS)
        assert spend.handlers == dict(callbacks) and set(callbacks) == {"request", "constructor"}
    catch_ups = sum(c.total_tokens for found in ledger.catch_ups.values() for c in found)
    whole = ledger.spend()
    assert whole.total_tokens == sum(ledger.turn_spend(t).total_tokens for t in turns) + catch_ups
    assert whole.as_total() == ledger.total()


def test_a_memory_kind_spends_its_totals_and_only_a_sent_one_has_a_latency(compared):
    ledger = compared.ledger
    buffer, summary = ledger.totals("buffer").spend(), ledger.totals("summary").spend()
    assert buffer.total_tokens == ledger.totals("buffer").total_tokens and not buffer.estimated
    assert buffer.seconds > 0 and buffer.handlers["request"] > 0
    assert summary.estimated and summary.seconds is None  # its replies were never sent
    assert summary.maintenance_tokens > 0 and summary.handlers["constructor"] > 0  # its summariser ran for real
    rows = ledger.turns("summary")
    assert [row.spend(ledger.prices).seconds for row in rows] == [None] * len(rows)


def _event(seq: int, kind: str, run: str, parent: str | None, mono: float, **payload) -> Event:
    name = {"chain": "RunnableSequence", "chat": "ChatOpenAI"}[run.rstrip("0123456789")]
    handlers = [{"name": "Mine", "scope": "request", "acts": True}]
    return Event(seq=seq, wall=mono, mono=mono, session_id="s", turn=1, kind=kind, name=name, scope="request",
                 run_id=run, parent_run_id=parent, duration=0.5 if kind.endswith("_end") else None,
                 payload={**payload, "handlers": handlers})


def test_every_run_of_a_traced_tree_spends_what_its_calls_under_it_did():
    prices = load_prices()
    usage = {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100}
    ledger = TraceLedger(prices)
    events = [
        Event(seq=1, wall=0, mono=10.0, session_id="s", turn=1, kind="turn_start", name="run", scope="app",
              payload={"command": "app.py", "pid": 1, "run": 1}),
        _event(2, "chain_start", "chain1", None, 10.1, inputs={}),
        _event(3, "chat_model_start", "chat1", "chain1", 10.2, model="gpt-4o-mini", messages=[],
               prompt_tokens_estimate=990),
        _event(4, "llm_end", "chat1", "chain1", 10.3, text="roses", model="gpt-4o-mini", usage=usage),
        _event(5, "chat_model_start", "chat2", "chain1", 10.4, model="gpt-4o-mini", messages=[],
               prompt_tokens_estimate=990),
        _event(6, "llm_end", "chat2", "chain1", 10.5, text="lilies", model="gpt-4o-mini", usage=usage),
        _event(7, "chain_end", "chain1", None, 10.6, outputs={"output": "lilies"}),
        Event(seq=8, wall=0, mono=12.0, session_id="s", turn=1, kind="turn_end", name="run", scope="app",
              payload={"exit_state": "exited 0", "exit_code": 0}),
    ]
    for event in events:
        ledger(event)
    tree = {row.run_id: row for row in ledger.run_tree()}
    assert list(tree) == ["chain1", "chat1", "chat2"] and tree["chat1"].parent_run_id == "chain1"
    one_call = prices.lookup("gpt-4o-mini").price.cost(1000, 100, 0)
    chat, chain = tree["chat1"].spend(prices), tree["chain1"].spend(prices)
    assert (chat.prompt_tokens, chat.completion_tokens, chat.seconds) == (1000, 100, 0.5)
    assert chat.cost == pytest.approx(one_call) and chat.currency == "USD"
    assert chain.total_tokens == 2200 and chain.cost == pytest.approx(2 * one_call)
    assert chat.handlers == {"Mine": 2} and chain.handlers == {"Mine": 6}  # a run's events include its children's
    turn = ledger.turn_spend(1)
    assert (turn.total_tokens, turn.cost, turn.seconds) == (2200, chain.cost, pytest.approx(2.0))
    assert ledger.spend().as_total() == ledger.total() and ledger.total().tokens == 2200
    assert ledger.rows().to_dict()["runs"][0]["total_tokens"] == 2200  # `trace --json` is unchanged


def test_the_diff_table_marks_tokens_as_every_other_table_does():
    """`~` before an estimate, `?` after a count without reported usage (the trace table writes `484?`)."""
    from flowertui.engine.session_ledger import Spend
    from flowertui.session.diff_table import tokens

    assert tokens(Spend(400, 84, usage_missing=True)) == "484?"
    assert tokens(Spend(400, 84, estimated=True)) == "~484"
    assert tokens(None) == "—"
