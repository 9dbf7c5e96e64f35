"""The OpenAI-compatible path against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from flowertui.engine.providers import ProviderSettings
from tests.support.rigs import offline_rig
from tests.support.openai_server import OpenAIServer, Reply

KEY = "sk-compatible-test-key-abcdefghijkl"


def _rig(server: OpenAIServer, memory: str = "buffer"):
    return offline_rig(memory, provider=ProviderSettings(
        provider="compatible", model="qwen-turbo", base_url=server.base_url, api_key=KEY, max_retries=0, timeout=10))


def test_streamed_events_arrive_in_order_and_the_ledger_equals_the_servers_usage():
    with OpenAIServer(Reply(prompt_tokens=57, completion_tokens=5)) as server:
        rig = _rig(server)
        result = rig.conversation.ask("Which flowers for my sister's birthday?")
    assert result.reply == "Pink roses suit a birthday."
    body = server.requests[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["model"] == "qwen-turbo"
    kinds = [e.kind for e in rig.events if e.scope == "request"]
    assert kinds[:3] == ["chain_start", "text", "chat_model_start"]
    assert kinds[-2:] == ["llm_end", "chain_end"]
    tokens = rig.kinds("llm_new_token")
    assert [e.payload["token"] for e in tokens if e.counted_token] == Reply().pieces
    assert any(not e.counted_token for e in tokens)  # role/finish/usage chunks stay in the stream
    row = rig.ledger.turns("buffer")[0]
    assert (row.prompt_tokens, row.completion_tokens, row.usage_missing) == (57, 5, False)
    cost, currency = row.cost(rig.ledger.prices)
    assert currency == "CNY" and cost == (57 * 0.30 + 5 * 0.60) / 1_000_000


def test_the_key_is_sent_to_the_server_but_never_recorded():
    with OpenAIServer() as server:
        rig = _rig(server)
        rig.conversation.ask("hello")
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert all(KEY not in str(e.to_dict()) for e in rig.events)


def test_token_counting_memories_work_for_model_names_tiktoken_does_not_know():
    with OpenAIServer() as server:
        rig = _rig(server, "token_buffer")
        for user in ("first question about roses", "second question about lilies"):
            rig.conversation.ask(user)
    assert len(rig.ledger.turns("token_buffer")) == 2
