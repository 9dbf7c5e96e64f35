"""The LangChain 1.x kinds (create_agent + middleware) through the real engine and the offline assistant."""

from __future__ import annotations

import sys
import subprocess

import pytest

from flowertui.engine.kinds import AGENT_KINDS, KINDS
from flowertui.engine.scripts import load_script
from tests.support.faults import FAULTS, provider, serving
from tests.support.openai_server import Reply
from tests.support.rigs import LESSON, offline_rig

WEEK = load_script("week")


def _sent(rig, turn: int) -> list:
    """The messages of the turn's main model call (not the summariser's)."""
    starts = [e for e in rig.kinds("chat_model_start") if e.turn == turn and not e.maintenance]
    assert len(starts) == 1
    return starts[0].payload.messages


def _run(kind: str, turns: list[str], **kwargs):
    rig = offline_rig(kind, **kwargs)
    for user in turns:
        rig.conversation.ask(user)
    return rig


def test_agent_window_sends_the_last_two_exchanges_and_keeps_every_message():
    rig = _run("agent_window", WEEK[:5])
    assert [len(_sent(rig, turn)) for turn in range(1, 6)] == [2, 4, 6, 6, 6]  # system + ≤ 4 + the new one
    assert _sent(rig, 5)[1].content == WEEK[2]  # the oldest sent is a human message, two exchanges back
    assert len(rig.conversation.memory.messages) == 10  # the checkpointer keeps the whole conversation
    last = _run("agent_window", WEEK).conversation.transcript[-1][1]
    assert "姐姐" not in last and "粉色玫瑰" not in last  # as the lesson's window, it forgot turn 1


def test_agent_tokens_sends_what_fits_the_token_limit():
    rig = _run("agent_tokens", WEEK)
    buffer = _run("buffer", WEEK)
    from flowertui.engine.tokens import count_tokens

    for turn in range(1, 11):
        history = _sent(rig, turn)[1:-1]
        assert count_tokens("\n".join(m.content for m in history), "flowershop-offline") <= 300
        assert not history or history[0].role in ("human", "user")
    assert rig.ledger.turns("agent_tokens")[-1].prompt_tokens < buffer.ledger.turns("buffer")[-1].prompt_tokens
    assert len(rig.conversation.memory.messages) == 20


def test_agent_summary_bills_the_middlewares_calls_as_maintenance():
    rig = _run("agent_summary", WEEK)
    rows = rig.ledger.turns("agent_summary")
    assert rows[0].maintenance_tokens == 0 and sum(row.maintenance_tokens for row in rows) > 0
    upkeep = [e for e in rig.kinds("llm_end") if e.maintenance]
    assert upkeep and all(e.memory_kind == "agent_summary" for e in upkeep)
    assert sum(row.maintenance_tokens for row in rows) == sum(
        e.payload.usage.input_tokens + e.payload.usage.output_tokens for e in upkeep)
    # the summariser streams too: its words are not the reply
    replies = [e.payload.reply for e in rig.kinds("turn_end")]
    assert replies == [reply for _, reply in rig.conversation.transcript]
    assert not any("顾客说" in reply for reply in replies)
    messages = rig.conversation.memory.messages
    assert messages[0].content.startswith("Here is a summary of the conversation to date:")
    assert len(messages) < 20
    assert "姐姐" in rig.conversation.transcript[-1][1]  # the summary remembers what the window forgot


def test_compare_mode_feeds_every_kind_and_an_agents_estimate_is_what_it_then_sends():
    rig = _run("buffer", WEEK, compare=True)
    assert [t.kind for t in (r.totals for r in rig.ledger.rows())] == list(KINDS)
    for kind in KINDS:
        assert [row.turn for row in rig.ledger.turns(kind)] == list(range(1, 11))
    assert rig.ledger.total().tokens == sum(rig.ledger.totals(kind).total_tokens for kind in KINDS)
    assert sum(row.maintenance_tokens for row in rig.ledger.turns("agent_summary")) > 0
    for kind in AGENT_KINDS:  # a twin made active for the last turn sends what compare mode estimated
        twin = _run("buffer", WEEK[:9], compare=True)
        twin.conversation.switch(kind)
        twin.conversation.ask(WEEK[9])
        estimated, sent = rig.ledger.turns(kind)[-1], twin.ledger.turns(kind)[-1]
        assert estimated.estimated and not sent.estimated
        assert (estimated.prompt_tokens, estimated.maintenance_tokens) == (sent.prompt_tokens, sent.maintenance_tokens)


def test_agent_summary_switched_away_and_back_keeps_its_summary():
    back = _run("agent_summary", WEEK[:8])
    back.conversation.switch("buffer")
    back.conversation.ask(WEEK[8])
    spent = back.ledger.totals("agent_summary").total_tokens
    back.conversation.switch("agent_summary")
    assert back.ledger.totals("agent_summary").total_tokens == spent  # switching back costs nothing
    back.conversation.ask(WEEK[9])
    fresh = _run("buffer", WEEK[:9])
    fresh.conversation.switch("agent_summary")
    fresh.conversation.ask(WEEK[9])
    kept = back.ledger.turns("agent_summary")[-1].maintenance_tokens
    reread = fresh.ledger.turns("agent_summary")[-1].maintenance_tokens
    assert 0 < kept < reread  # it summarised only what came since, not the week again


def test_a_cancelled_agent_turn_leaves_nothing_in_the_agents_state():
    rig = offline_rig("agent_window")
    rig.conversation.ask(LESSON[0])
    rig.cancel_on_token(3)
    assert rig.conversation.ask(LESSON[1]).status == "cancelled"
    assert [m.content for m in rig.conversation.memory.messages][::2] == [LESSON[0]]
    assert rig.ledger.turns("agent_window")[-1].status == "cancelled"


def test_the_agent_kinds_do_not_load_langchain_agents_until_one_is_used():
    code = ("import sys; from tests.support.rigs import offline_rig; rig = offline_rig('buffer'); "
            "rig.conversation.ask('hi'); print('langchain.agents' in sys.modules); "
            "rig.conversation.switch('agent_window'); print('langchain.agents' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "True"], done.stderr[-2000:]


@pytest.mark.parametrize("kind", AGENT_KINDS)
def test_every_agent_kind_answers_from_its_own_memory(kind):
    reply = _run(kind, LESSON).conversation.transcript[-1][1]
    assert "姐姐" in reply  # three turns fit every kind's limits: all remember the first


def test_a_turn_cancelled_after_the_summariser_wrote_keeps_only_the_replys_words():
    rig = _run("agent_summary", WEEK[:2])
    conversation = rig.conversation

    def cancel(event):  # on the reply's second token, after the middleware's summary streamed in full
        if event.counted_token and not event.maintenance and event.turn == 3 and sum(
                e.counted_token and not e.maintenance for e in rig.events if e.turn == 3) == 2:
            conversation.cancel()

    rig.bus.subscribe(cancel)
    assert conversation.ask(WEEK[2]).status == "cancelled"
    assert [e for e in rig.events if e.turn == 3 and e.maintenance and e.counted_token]  # the summariser streamed
    reply = "".join(e.payload.token for e in rig.events if e.turn == 3 and e.counted_token and not e.maintenance)
    cancelled = rig.kinds("turn_cancelled")[-1].payload.reply
    assert cancelled and reply.startswith(cancelled)  # (the token that saw the cancel is not kept)
    assert len(conversation.memory.messages) == 4  # nor is the summary: the state is as before the turn


def test_an_agent_kind_retries_a_429_as_the_lessons_kinds_do():
    fault = next(f for f in FAULTS if f.name == "429 then success")
    with serving(fault, Reply()) as (_, url):
        rig = offline_rig("agent_window", provider=provider(url, fault))
        assert rig.conversation.ask(LESSON[0]).status == "done"
    assert len(rig.kinds("retry")) == 1
    assert rig.ledger.turns("agent_window")[-1].prompt_tokens > 0
