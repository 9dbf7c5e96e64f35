"""The offline flower-shop model: replies, memory lessons, streaming, usage and pacing."""

from __future__ import annotations

import time

import pytest
from langchain_classic.chains import ConversationChain
from langchain_classic.chains.conversation.prompt import PROMPT
from langchain_classic.memory import (
    ConversationBufferMemory,
    ConversationBufferWindowMemory,
    ConversationSummaryBufferMemory,
    ConversationSummaryMemory,
    ConversationTokenBufferMemory,
)
from langchain_classic.memory.prompt import SUMMARY_PROMPT
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, get_buffer_string

from flowertui.engine.shop_model import FlowerShopModel
from flowertui.engine.shop_replies import catalog, is_summary_prompt, parse_prompt, reply_for
from flowertui.engine.tokens import count_tokens, split_tokens

TURNS = (
    "我姐姐明天要过生日，我需要一束生日花束。",
    "她喜欢粉色玫瑰，颜色是粉色的。",
    "我又来了，还记得我昨天为什么要来买花吗？",
)
legacy_chains = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def conversation(history: str, message: str) -> str:
    return PROMPT.format(history=history, input=message)


def run_lesson(memory) -> list[str]:
    chain = ConversationChain(llm=FlowerShopModel(tokens_per_second=0), memory=memory)
    return [chain.invoke({"input": turn})["response"] for turn in TURNS]


class TokenCollector(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs) -> None:
        self.tokens.append(token)


class AsyncTokenCollector(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    async def on_llm_new_token(self, token: str, **kwargs) -> None:
        self.tokens.append(token)


def test_catalog_has_the_flowers_and_vocabulary() -> None:
    shop = catalog()
    assert len(shop.flowers) >= 22
    assert "pink" in shop.flowers["rose"].colours
    assert "sympathy" in shop.flowers["chrysanthemum"].occasions
    assert all(f.price_cny > 0 and f.bouquet_stems > 0 for f in shop.flowers.values())
    allowed = set(shop.occasions)
    assert all(set(f.occasions) <= allowed for f in shop.flowers.values())
    assert {"sister", "mother", "teacher"} <= set(shop.recipients)


def test_chinese_input_gets_chinese_and_english_input_english() -> None:
    chinese = reply_for(conversation("", "我想给妈妈买花，母亲节快到了"))
    english = reply_for(conversation("", "I want flowers for my mother on Mother's Day"))
    assert cjk(chinese) and "康乃馨" in chinese
    assert not cjk(english) and "carnations" in english.lower()


def test_recommendation_prices_a_bouquet_from_the_catalog() -> None:
    reply = reply_for(conversation("", TURNS[0]))
    assert "姐姐" in reply and "生日" in reply
    rose = catalog().flowers["rose"]
    assert f"{rose.bouquet_stems}枝约{rose.bouquet_stems * rose.price_cny:g}元" in reply
    assert "菊花" not in reply


def test_context_adds_colour_and_flower_to_the_first_turn() -> None:
    first = reply_for(conversation("", TURNS[0]))
    second = reply_for(conversation(f"Human: {TURNS[0]}\nAI: {first}", TURNS[1]))
    assert second.splitlines()[0] == "为姐姐的生日，推荐："
    assert second.splitlines()[1].startswith("1. 粉色玫瑰")


def test_same_prompt_same_reply() -> None:
    prompt = conversation("Human: 你好\nAI: 您好！", "我想买向日葵送朋友，多少钱？")
    assert reply_for(prompt) == reply_for(prompt)
    model = FlowerShopModel(tokens_per_second=0)
    assert model.invoke(prompt).content == model.invoke(prompt).content


def test_plain_prompts_and_small_talk_get_sensible_replies() -> None:
    assert "18:00" in reply_for("Can you deliver today?")
    assert "tulips 8 CNY/stem" in reply_for("What is the price of tulips?")
    assert reply_for("你好").startswith("您好")
    assert reply_for("谢谢！").startswith("不客气")
    assert "场合" in reply_for("随便看看")


def test_prompt_parsing_takes_the_last_human_turn_and_multiline_input() -> None:
    history = "System: The customer wants lilies.\nHuman: hi\nAI: Hello!\nline two of the reply"
    parsed = parse_prompt(conversation(history, "first line\nsecond line"))
    assert parsed.message == "first line\nsecond line"
    assert parsed.context == history
    assert parse_prompt(conversation("", "hello")).context == ""
    assert parse_prompt("just a question").message == "just a question"


def test_recall_uses_only_the_context() -> None:
    forgot = reply_for(conversation("", "还记得我姐姐的生日吗？"))
    assert forgot.startswith("抱歉，我不记得")
    english = reply_for(
        conversation("Human: My sister's birthday is on Saturday, budget 200 yuan\nAI: Lovely!", "Do you remember why I came?")
    )
    assert "sister's birthday" in english and "Saturday" in english and "200" in english


@legacy_chains
def test_buffer_memory_remembers_the_sisters_birthday_and_pink_roses() -> None:
    third = run_lesson(ConversationBufferMemory())[2]
    assert "生日" in third and "姐姐" in third
    assert "粉色玫瑰" in third


@legacy_chains
def test_window_memory_of_one_turn_forgets_the_birthday() -> None:
    third = run_lesson(ConversationBufferWindowMemory(k=1))[2]
    assert "姐姐" not in third and "生日" not in third
    assert "粉色玫瑰" in third  # turn 2 is still in the window
    assert "不记得" in third


@legacy_chains
def test_token_buffer_memory_counts_with_tiktoken_and_forgets() -> None:
    model = FlowerShopModel(tokens_per_second=0)
    memory = ConversationTokenBufferMemory(llm=model, max_token_limit=60)
    chain = ConversationChain(llm=model, memory=memory)
    replies = [chain.invoke({"input": turn})["response"] for turn in TURNS]
    assert model.get_num_tokens_from_messages(memory.chat_memory.messages) <= 60
    assert "姐姐" not in replies[2]


@legacy_chains
def test_summary_memory_keeps_the_birthday() -> None:
    model = FlowerShopModel(tokens_per_second=0)
    memory = ConversationSummaryMemory(llm=model)
    chain = ConversationChain(llm=model, memory=memory)
    chain.invoke({"input": TURNS[0]})
    chain.invoke({"input": TURNS[1]})
    assert memory.buffer and ("姐姐" in memory.buffer or "生日" in memory.buffer)
    third = chain.invoke({"input": TURNS[2]})["response"]
    assert "生日" in third and "姐姐" in third


@legacy_chains
def test_summary_buffer_memory_recalls_days_and_budget_from_its_system_summary() -> None:
    model = FlowerShopModel(tokens_per_second=0)
    memory = ConversationSummaryBufferMemory(llm=model, max_token_limit=100)
    chain = ConversationChain(llm=model, memory=memory)
    for turn in (*TURNS[:2], "预算 300 元，周六送到可以吗？"):
        chain.invoke({"input": turn})
    assert "姐姐" in memory.moving_summary_buffer
    third = chain.invoke({"input": TURNS[2]})["response"]
    assert "姐姐的生日" in third and "粉色玫瑰" in third and "周六" in third and "300" in third


def test_summary_prompt_gives_an_extractive_summary() -> None:
    prompt = SUMMARY_PROMPT.format(
        summary="", new_lines=f"Human: {TURNS[0]}\nAI: 为姐姐的生日，推荐：\n1. 粉色玫瑰（爱与美好，四季）8元/枝"
    )
    assert is_summary_prompt(prompt)
    assert not is_summary_prompt(conversation("", TURNS[0]))
    summary = reply_for(prompt)
    assert summary.splitlines() == [f"顾客说：{TURNS[0]}", "店员推荐了粉色玫瑰。"]
    assert "artificial intelligence" not in summary


def test_summary_stays_bounded_and_keeps_the_first_facts() -> None:
    summary = ""
    turns = [*TURNS[:2], *(f"第{n}次来问：包装纸有哪些颜色可选？" for n in range(28))]
    for turn in turns:
        reply = reply_for(conversation(summary, turn))
        summary = reply_for(SUMMARY_PROMPT.format(summary=summary, new_lines=f"Human: {turn}\nAI: {reply}"))
        assert len(summary) < 800
    assert "第27次" in summary
    for fact in ("姐姐", "生日", "粉色", "玫瑰"):
        assert fact in summary
    recalled = reply_for(conversation(summary, TURNS[2]))
    assert "姐姐的生日" in recalled and "粉色玫瑰" in recalled


def test_invoke_streams_one_callback_per_token_piece_with_usage() -> None:
    model = FlowerShopModel(tokens_per_second=0)
    collector = TokenCollector()
    prompt = conversation("", TURNS[0])
    message = model.invoke([HumanMessage(prompt)], config={"callbacks": [collector]})
    reply = reply_for(prompt)
    assert message.content == reply
    assert collector.tokens[:-1] == split_tokens(reply, None)
    assert collector.tokens[-1] == ""  # the closing usage chunk, as hosted models send it
    assert message.usage_metadata == {
        "input_tokens": count_tokens(prompt),
        "output_tokens": count_tokens(reply),
        "total_tokens": count_tokens(prompt) + count_tokens(reply),
    }
    assert message.response_metadata["model_name"] == "flowershop-offline"
    assert message.response_metadata["finish_reason"] == "stop"


def test_stream_yields_the_reply_and_ends_with_usage() -> None:
    model = FlowerShopModel(tokens_per_second=0)
    chunks = list(model.stream("hello"))
    assert "".join(chunk.content for chunk in chunks) == reply_for("hello")
    assert chunks[-1].content == "" and chunks[-1].usage_metadata["output_tokens"] == count_tokens(reply_for("hello"))


def test_input_tokens_count_every_message() -> None:
    messages = [HumanMessage("你好"), AIMessage("您好！"), HumanMessage("多少钱？")]
    message = FlowerShopModel(tokens_per_second=0).invoke(messages)
    assert message.usage_metadata["input_tokens"] == count_tokens("你好\n您好！\n多少钱？")


async def test_astream_and_ainvoke_match_the_sync_reply() -> None:
    model = FlowerShopModel(tokens_per_second=0)
    prompt = conversation("", TURNS[0])
    reply = reply_for(prompt)
    pieces = [chunk.content async for chunk in model.astream(prompt)]
    assert "".join(pieces) == reply and pieces[:-1] == split_tokens(reply, None)
    collector = AsyncTokenCollector()
    message = await model.ainvoke(prompt, config={"callbacks": [collector]})
    assert message.content == reply
    assert "".join(collector.tokens) == reply and len(collector.tokens) == len(split_tokens(reply, None)) + 1
    assert message.usage_metadata["output_tokens"] == count_tokens(reply)
    assert message.response_metadata["model_name"] == "flowershop-offline"


def test_streaming_false_still_answers_without_token_callbacks() -> None:
    collector = TokenCollector()
    message = FlowerShopModel(tokens_per_second=0, streaming=False).invoke("hi", config={"callbacks": [collector]})
    assert message.content == reply_for("hi") and collector.tokens == []
    assert message.usage_metadata["output_tokens"] == count_tokens(reply_for("hi"))


def test_stop_sequence_cuts_the_reply() -> None:
    message = FlowerShopModel(tokens_per_second=0).invoke("hi", stop=["!"])
    assert message.content == reply_for("hi").split("!")[0]


def test_pacing_follows_tokens_per_second() -> None:
    prompt = "I need flowers for my sister's birthday"
    pieces = len(split_tokens(reply_for(prompt), None))
    assert pieces >= 40
    began = time.monotonic()
    FlowerShopModel(tokens_per_second=200).invoke(prompt)
    assert time.monotonic() - began >= 0.9 * (pieces - 1) / 200
    began = time.monotonic()
    FlowerShopModel(tokens_per_second=0).invoke(prompt)
    assert time.monotonic() - began < 1.0


async def test_async_pacing_follows_tokens_per_second() -> None:
    prompt = "I need flowers for my sister's birthday"
    pieces = len(split_tokens(reply_for(prompt), None))
    began = time.monotonic()
    await FlowerShopModel(tokens_per_second=200).ainvoke(prompt)
    assert time.monotonic() - began >= 0.9 * (pieces - 1) / 200


def test_token_counting_uses_tiktoken() -> None:
    model = FlowerShopModel()
    messages = [HumanMessage("我姐姐明天要过生日"), AIMessage("为姐姐的生日，推荐玫瑰。")]
    expected = sum(count_tokens(get_buffer_string([message])) for message in messages)
    assert model.get_num_tokens_from_messages(messages) == expected
    assert model.get_num_tokens("hello world") == 2


def test_model_identity() -> None:
    model = FlowerShopModel()
    assert model._llm_type == "flowershop-offline"
    assert model._identifying_params["model_name"] == "flowershop-offline"
    assert model.streaming is True and model.tokens_per_second == 40.0
