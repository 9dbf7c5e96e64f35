"""Callback events: scopes, memory maintenance, JSON round trip, secrets."""

from __future__ import annotations

import json

from flowertui.engine.events import Event
from flowertui.engine.providers import ProviderSettings
from tests.support.rigs import LESSON, offline_rig

PLANTED = "sk-planted-test-key-0123456789abcdef"


def test_request_scope_covers_the_chain_and_its_model_in_order():
    rig = offline_rig("buffer")
    rig.conversation.ask(LESSON[0])
    callbacks = [e for e in rig.events if e.scope != "app"]
    kinds = [e.kind for e in callbacks]
    # LLMChain reports its formatted prompt with on_text (what verbose=True prints) before the model starts.
    assert kinds[:3] == ["chain_start", "text", "chat_model_start"]
    assert kinds[-2:] == ["llm_end", "chain_end"]
    assert set(kinds[3:-2]) == {"llm_new_token"}
    assert {e.scope for e in callbacks} == {"request"}
    chain, model = callbacks[0], callbacks[2]
    assert chain.name == "ConversationChain" and chain.parent_run_id is None
    assert model.parent_run_id == chain.run_id
    assert all(e.memory_kind == "buffer" and not e.maintenance for e in callbacks)
    assert [e.seq for e in rig.events] == sorted(e.seq for e in rig.events)


def test_token_events_carry_the_reply_and_time_since_run_start():
    rig = offline_rig("buffer")
    reply = rig.conversation.ask(LESSON[0]).reply
    tokens = rig.kinds("llm_new_token")
    assert "".join(e.payload["token"] for e in tokens) == reply
    assert all(e.since_run_start is not None and e.since_run_start >= 0 for e in tokens)
    end = rig.kinds("llm_end")[0]
    assert end.duration is not None and end.duration >= tokens[-1].since_run_start
    # A CJK character can span two tiktoken tokens; the stream never splits a character, so pieces <= tokens.
    usage = end.payload["usage"]
    assert 0 < sum(e.counted_token for e in tokens) <= usage["output_tokens"] == end.payload["completion_tokens_estimate"]


def test_summariser_calls_are_seen_with_constructor_scope_and_marked_maintenance():
    rig = offline_rig("summary")
    rig.conversation.ask(LESSON[0])
    upkeep = [e for e in rig.events if e.maintenance]
    assert [e.kind for e in upkeep][:1] == ["chat_model_start"]
    assert {e.scope for e in upkeep} == {"constructor"}
    assert {e.memory_kind for e in upkeep} == {"summary"}
    assert "Progressively summarize" in upkeep[0].payload["messages"][0]["content"]
    request_runs = {e.run_id for e in rig.events if e.scope == "request"}
    assert not request_runs & {e.run_id for e in upkeep}


def test_events_are_json_round_trippable():
    rig = offline_rig("summary_buffer")
    for user in LESSON:
        rig.conversation.ask(user)
    for event in rig.events:
        assert Event.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_a_planted_key_never_appears_in_any_event():
    rig = offline_rig("summary", provider=ProviderSettings(speed=0, api_key=PLANTED))
    rig.conversation.ask(f"我的钥匙是 {PLANTED}，帮我记住。")
    rig.conversation.ask(LESSON[0])
    dumped = json.dumps([e.to_dict() for e in rig.events], ensure_ascii=False)
    assert PLANTED not in dumped
    assert "[redacted]" in dumped
