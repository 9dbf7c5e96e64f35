"""Every provider fault through the engine: a clear error or a literal reply, nothing wrong in memory."""

from __future__ import annotations

import json

import pytest

from flowertui.engine.runner import TurnFailed
from tests.support.faults import provider, serving
from tests.support.rigs import offline_rig
from tests.support.faults import FAULTS, PLANTED_KEY
from tests.support.openai_server import OpenAIServer, Reply

ASK = "我姐姐明天过生日，推荐什么花？"


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_fault(fault):
    with serving(fault, Reply()) as (server, url):
        rig = offline_rig("buffer", provider=provider(url, fault))
        if fault.fails:
            with pytest.raises(TurnFailed) as failure:
                rig.conversation.ask(ASK)
            assert fault.says in str(failure.value)
            kinds = [e.kind for e in rig.events]
            assert "llm_error" in kinds and kinds[-1] == "turn_error"
            assert rig.conversation.transcript == [] and rig.conversation.memory.buffer == ""
            if server is not None:  # the user sends it again, and switches memory afterwards
                assert rig.conversation.ask(ASK).status == "done"
                rig.conversation.switch("window")
                assert rig.conversation.memory.buffer.count(ASK) == 1
        else:
            result = rig.conversation.ask(ASK)
            assert result.status == "done"
            shown = rig.kinds("turn_end")[-1].payload["reply"]
            assert shown == fault.shown and "\x1b" not in shown
            row = rig.ledger.turns("buffer")[-1]
            assert row.usage_missing == fault.usage_missing
            assert row.prompt_tokens > 0 and row.completion_tokens > 0  # missing usage is estimated, never 0
        assert len(rig.kinds("retry")) == fault.retries
        assert PLANTED_KEY not in json.dumps([e.to_dict() for e in rig.events], ensure_ascii=False)


def test_a_refused_key_says_which_variable_to_set():
    with OpenAIServer(Reply(status=401, error="Incorrect API key provided")) as server:
        rig = offline_rig("buffer", provider=provider(server.base_url, FAULTS[0]))
        with pytest.raises(TurnFailed) as failure:
            rig.conversation.ask(ASK)
    said = str(failure.value)
    assert "OPENAI_API_KEY" in said and server.base_url in said and "JSONDecodeError" not in said


def test_the_retry_wrapper_is_named_plainly_in_the_event_tree():
    with OpenAIServer(Reply()) as server:
        rig = offline_rig("buffer", provider=provider(server.base_url, FAULTS[0]))
        rig.conversation.ask(ASK)
    names = [e.name for e in rig.kinds("chain_start")]
    assert "retry (up to 3 tries)" in names and "ChatOpenAI" not in names
    model_start = rig.kinds("chat_model_start")[0]
    wrapper = next(e for e in rig.kinds("chain_start") if e.name.startswith("retry"))
    assert model_start.parent_run_id == wrapper.run_id  # the model's run sits under it, as before
