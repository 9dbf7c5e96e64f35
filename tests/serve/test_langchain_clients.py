"""langchain-openai's ChatOpenAI and OpenAI against `flowertui serve`: replies, streaming, usage, get_openai_callback."""

from __future__ import annotations

import asyncio

import pytest
from langchain_community.callbacks import get_openai_callback
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI, OpenAI

from flowertui.engine.shop_replies import reply_for

BIRTHDAY = "哪种花卉最适合生日？只简单说3种，不超过50字"
COLOUR = "我姐姐喜欢什么颜色的花？"


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs) -> None:
        self.tokens.append(token)


@pytest.fixture
def env(server, monkeypatch):
    """The lesson's programs find the server through the environment, as `trace --offline` sets it."""
    for name, value in server.child_env().items():
        monkeypatch.setenv(name, value)


def test_chat_openai_invoke_reports_the_servers_usage(env):
    reply = ChatOpenAI(model="gpt-4o-mini").invoke(BIRTHDAY)
    assert reply.content == reply_for(BIRTHDAY)
    assert reply.usage_metadata["total_tokens"] == reply.usage_metadata["input_tokens"] + reply.usage_metadata["output_tokens"]
    assert reply.response_metadata["finish_reason"] == "stop"


def test_chat_openai_streams_token_by_token_with_usage_when_asked(env):
    handler = Tokens()
    model = ChatOpenAI(model="gpt-4o-mini", max_tokens=100, streaming=True, stream_usage=True, callbacks=[handler])
    whole = ChatOpenAI(model="gpt-4o-mini", max_tokens=100).invoke(BIRTHDAY)
    with get_openai_callback() as cb:
        reply = model.invoke(BIRTHDAY)
    assert "".join(handler.tokens) == reply.content == whole.content and len(handler.tokens) > 10
    assert reply.usage_metadata["total_tokens"] == whole.usage_metadata["total_tokens"] == cb.total_tokens


def test_chat_openai_streaming_without_stream_usage_gets_no_usage_from_a_custom_base_url(env):
    """Why the lesson's streaming examples set stream_usage=True: ChatOpenAI asks for it only from api.openai.com."""
    with get_openai_callback() as cb:
        reply = ChatOpenAI(model="gpt-4o-mini", streaming=True).invoke(BIRTHDAY)
    assert reply.content and reply.usage_metadata is None and cb.total_tokens == 0


def test_chat_openai_max_tokens_is_honoured(env):
    reply = ChatOpenAI(model="gpt-4o-mini", max_tokens=10).invoke(BIRTHDAY)
    assert reply.usage_metadata["output_tokens"] <= 10 and reply.response_metadata["finish_reason"] == "length"


def test_legacy_openai_counts_every_call_in_get_openai_callback(env):
    llm = OpenAI(temperature=0.5, model_name="gpt-3.5-turbo-instruct")
    with get_openai_callback() as cb:
        first = llm.generate([COLOUR])
        second = llm.generate([COLOUR])
    usage = first.llm_output["token_usage"]
    assert first.generations[0][0].text == reply_for(COLOUR)[: len(first.generations[0][0].text)]
    assert cb.total_tokens == 2 * usage["total_tokens"] == usage["total_tokens"] + second.llm_output["token_usage"]["total_tokens"]
    assert cb.successful_requests == 2 and cb.total_cost > 0  # a name in the price table is priced


def test_legacy_openai_streams(env):
    handler = Tokens()
    llm = OpenAI(model_name="gpt-3.5-turbo-instruct", streaming=True, callbacks=[handler])
    text = llm.invoke("hello")
    assert text == reply_for("hello") and "".join(handler.tokens) == text and len(handler.tokens) > 5


def test_three_concurrent_agenerate_calls_are_counted_together(env):
    llm = OpenAI(temperature=0.5, model_name="gpt-3.5-turbo-instruct")
    single = llm.generate([COLOUR]).llm_output["token_usage"]["total_tokens"]

    async def gather() -> int:
        with get_openai_callback() as cb:
            await asyncio.gather(*[llm.agenerate([COLOUR]) for _ in range(3)])
        return cb.total_tokens

    assert asyncio.run(gather()) == 3 * single


def test_concurrent_chat_streams_each_get_their_own_reply(env):
    model = ChatOpenAI(model="gpt-4o-mini", streaming=True, stream_usage=True)
    questions = [BIRTHDAY, COLOUR, "hello", "Which flowers suit an anniversary?"]

    async def gather():
        return await model.agenerate([[HumanMessage(q)] for q in questions])

    result = asyncio.run(gather())
    assert [g[0].text for g in result.generations] == [reply_for(q) for q in questions]
