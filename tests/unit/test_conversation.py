"""The memory kinds through the real ConversationChain (or agent), with the offline assistant."""

from __future__ import annotations

import pytest

from flowertui.engine.kinds import KINDS
from flowertui.engine.scripts import load_script
from tests.support.rigs import LESSON, offline_rig, summary_text


@pytest.mark.parametrize("script", ["lesson", "week"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_runs_every_bundled_script(kind, script):
    rig = offline_rig(kind)
    turns = load_script(script)
    replies = [rig.conversation.ask(user).reply for user in turns]
    assert all(reply.strip() for reply in replies)
    rows = rig.ledger.turns(kind)
    assert [row.turn for row in rows] == list(range(1, len(turns) + 1))
    assert all(row.prompt_tokens > 0 and row.completion_tokens > 0 and not row.usage_missing for row in rows)
    if kind in ("summary", "summary_buffer", "agent_summary") and script == "week":
        assert sum(row.maintenance_tokens for row in rows) > 0
    if kind not in ("summary", "summary_buffer", "agent_summary"):
        assert all(row.maintenance_tokens == 0 for row in rows)


def test_on_the_lesson_window_matches_buffer_for_three_turns_then_forgets():
    prompts, replies = {}, {}
    for kind in ("buffer", "window"):
        rig = offline_rig(kind)
        replies[kind] = [rig.conversation.ask(user).reply for user in load_script("lesson")]
        prompts[kind] = [row.prompt_tokens for row in rig.ledger.turns(kind)]
    assert prompts["window"][:3] == prompts["buffer"][:3] and prompts["window"][3] < prompts["buffer"][3]
    assert "姐姐" in replies["buffer"][3] and "姐姐" not in replies["window"][3]


def _last_reply(kind: str) -> str:
    rig = offline_rig(kind)
    return [rig.conversation.ask(user).reply for user in load_script("week")][-1]


def test_on_the_week_buffer_recalls_the_first_turn_and_window_does_not():
    assert "姐姐" in _last_reply("buffer") and "粉色玫瑰" in _last_reply("buffer")
    window = _last_reply("window")
    assert "姐姐" not in window and "粉色玫瑰" not in window


def test_on_the_week_buffer_sends_the_largest_last_prompt():
    last = {}
    for kind in ("buffer", "window", "token_buffer"):
        rig = offline_rig(kind)
        for user in load_script("week"):
            rig.conversation.ask(user)
        last[kind] = rig.ledger.turns(kind)[-1].prompt_tokens
    assert last["buffer"] > last["window"]
    assert last["buffer"] > last["token_buffer"]


def test_summary_memory_holds_a_summary_after_turn_two_under_sync_invoke():
    rig = offline_rig("summary")
    rig.conversation.ask(LESSON[0])
    rig.conversation.ask(LESSON[1])
    summary = summary_text(rig.conversation.memory)
    assert summary and summary.strip()
    assert "姐姐" in summary or "生日" in summary
    assert "生日" in rig.conversation.ask(LESSON[2]).reply


def test_switching_kind_carries_the_transcript():
    rig = offline_rig("window")
    rig.conversation.ask(LESSON[0])
    rig.conversation.ask(LESSON[1])
    rig.conversation.switch("summary")
    switch = rig.kinds("memory_switch")[-1]
    assert switch.payload == {"from": "window", "to": "summary", "from_turn": 3}
    assert summary_text(rig.conversation.memory)
    assert "姐姐" in rig.conversation.ask(LESSON[2]).reply
    assert [row.turn for row in rig.ledger.turns("summary")][-1] == 3


def test_compare_mode_gives_every_kind_a_row_per_turn_and_marks_estimates():
    rig = offline_rig("buffer", compare=True)
    for user in LESSON:
        rig.conversation.ask(user)
    for kind in KINDS:
        rows = rig.ledger.turns(kind)
        assert len(rows) == 3
        assert all(row.estimated == (kind != "buffer") for row in rows)
    buffer_rows = rig.ledger.turns("buffer")
    window_rows = rig.ledger.turns("window")
    assert buffer_rows[0].prompt_tokens == window_rows[0].prompt_tokens  # same empty history on turn 1
    assert sum(r.maintenance_tokens for r in rig.ledger.turns("summary")) > 0


def test_a_cancelled_turn_keeps_its_partial_reply_out_of_memory():
    rig = offline_rig("buffer")
    rig.conversation.ask(LESSON[0])
    rig.cancel_on_token(3)
    result = rig.conversation.ask(LESSON[1])
    assert result.status == "cancelled"
    assert 0 < len(result.reply) < 40
    assert rig.kinds("turn_cancelled")
    assert len(rig.conversation.transcript) == 1
    assert LESSON[1] not in rig.conversation.memory.buffer


def test_a_switch_after_a_failed_turn_names_the_turn_it_really_applies_from():
    rig = offline_rig("buffer")
    rig.conversation.ask(LESSON[0])
    rig.bus.begin_turn()  # a turn that failed still used up its number
    rig.conversation.switch("window")
    assert rig.kinds("memory_switch")[-1].payload["from_turn"] == 3
    assert rig.conversation.ask(LESSON[1]).turn == 3
