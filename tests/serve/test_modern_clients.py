"""Modern LangChain programs offline: tools, structured output, embeddings + vector store, an agent, the Responses API.

Real LangChain objects and the real openai client against a real server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from enum import Enum
from typing import Optional

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessageChunk, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough
from langchain_core.tools import tool
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import BaseModel, Field

from flowertui.engine import tokens
from flowertui.engine.shop_replies import reply_for

PRICE_QUESTION = "How much are roses for my sister's birthday?"


@pytest.fixture
def env(server, monkeypatch):
    for name, value in server.child_env().items():
        monkeypatch.setenv(name, value)


@tool
def flower_price(flower: str, stems: int = 11) -> str:
    """Look up the price of a flower in the shop's catalogue."""
    return f"{stems} {flower} cost {stems * 8} CNY"


@tool
def delivery_slots(city: str, day: str) -> list[str]:
    """List the delivery time slots for a city on a day."""
    return ["09:00-12:00", "14:00-18:00"]


class Colour(str, Enum):
    red = "red"
    white = "white"


class Stem(BaseModel):
    flower: str
    colour: Colour
    count: int = Field(ge=1, le=99)


class Bouquet(BaseModel):
    """A bouquet the shop suggests."""

    name: str
    occasion: str
    price_cny: float = Field(gt=0)
    stems: list[Stem] = Field(min_length=1)
    card: Optional[str] = None
    wrapped: bool
    parent: Optional["Bouquet"] = None


def test_bind_tools_returns_a_call_to_the_matching_tool_with_valid_arguments(env):
    model = ChatOpenAI(model="gpt-4o-mini").bind_tools([delivery_slots, flower_price])
    reply = model.invoke(PRICE_QUESTION)
    assert reply.content == "" and len(reply.tool_calls) == 1
    call = reply.tool_calls[0]
    assert call["name"] == "flower_price" and call["id"].startswith("call_")
    flower_price.args_schema.model_validate(call["args"])  # the arguments validate against the tool's schema
    assert call["args"]["flower"] == "roses"
    assert reply.response_metadata["finish_reason"] == "tool_calls"
    assert reply.usage_metadata["output_tokens"] > 0


def test_a_streamed_tool_call_arrives_in_argument_pieces_and_joins_to_the_same_call(env):
    model = ChatOpenAI(model="gpt-4o-mini", stream_usage=True).bind_tools([flower_price])
    whole = model.invoke(PRICE_QUESTION)
    chunks = list(model.stream(PRICE_QUESTION))
    pieces = [c for c in chunks if c.tool_call_chunks and c.tool_call_chunks[0]["args"]]
    assert len(pieces) > 3  # the arguments come in pieces, as the API streams them
    joined = chunks[0]
    for chunk in chunks[1:]:
        joined += chunk
    assert isinstance(joined, AIMessageChunk)
    assert joined.tool_calls == whole.tool_calls
    assert joined.response_metadata["finish_reason"] == "tool_calls"
    assert joined.usage_metadata["total_tokens"] == whole.usage_metadata["total_tokens"]


def test_tool_choice_none_required_and_named(env):
    base = ChatOpenAI(model="gpt-4o-mini")
    assert base.bind_tools([flower_price], tool_choice="none").invoke(PRICE_QUESTION).content == reply_for(PRICE_QUESTION)
    named = base.bind_tools([flower_price, delivery_slots], tool_choice="delivery_slots").invoke(PRICE_QUESTION)
    assert [c["name"] for c in named.tool_calls] == ["delivery_slots"]
    delivery_slots.args_schema.model_validate(named.tool_calls[0]["args"])
    required = base.bind_tools([flower_price], tool_choice="required").invoke("hello")
    assert [c["name"] for c in required.tool_calls] == ["flower_price"]


def test_after_the_tool_result_the_answer_is_the_shops_text_quoting_it(env):
    model = ChatOpenAI(model="gpt-4o-mini").bind_tools([flower_price])
    question = HumanMessage(PRICE_QUESTION)
    call = model.invoke([question])
    result = flower_price.invoke(call.tool_calls[0])  # a ToolMessage
    answer = model.invoke([question, call, result])
    assert not answer.tool_calls
    assert answer.content.startswith(reply_for(PRICE_QUESTION)) and result.content in answer.content
    chinese = HumanMessage("玫瑰多少钱？")
    call = model.invoke([chinese])
    assert call.tool_calls[0]["args"]["flower"] == "玫瑰"
    answer = model.invoke([chinese, call, flower_price.invoke(call.tool_calls[0])])
    assert answer.content.startswith(reply_for("玫瑰多少钱？")) and "flower_price 的结果：11 玫瑰 cost 88 CNY" in answer.content


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_with_structured_output_returns_a_valid_object(env, method):
    model = ChatOpenAI(model="gpt-4o-mini").with_structured_output(Bouquet, method=method)
    bouquet = model.invoke("Suggest a bouquet of red roses for my mother's birthday")
    assert isinstance(bouquet, Bouquet)
    assert bouquet.stems[0].flower == "roses" and bouquet.price_cny > 0 and bouquet.stems[0].count >= 1


def test_structured_output_in_chinese_uses_the_shops_chinese_words(env):
    model = ChatOpenAI(model="gpt-4o-mini").with_structured_output(Bouquet, method="json_schema", strict=True)
    bouquet = model.invoke("我想给妈妈买一束康乃馨")
    assert bouquet.stems[0].flower == "康乃馨"


def test_json_mode_replies_with_a_json_object(env):
    model = ChatOpenAI(model="gpt-4o-mini").with_structured_output(None, method="json_mode")
    assert model.invoke("hello, answer in JSON") == {"reply": reply_for("hello, answer in JSON")}


def test_openai_embeddings_feed_a_vector_store_rag_chain(env):
    embeddings = OpenAIEmbeddings(model="text-embedding-3-small")
    store = InMemoryVectorStore.from_documents([
        Document("Roses mean love; red roses suit anniversaries and Valentine's Day."),
        Document("Delivery in the city is 15 CNY; order before 18:00 for same-day delivery."),
        Document("Carnations thank mothers; pink carnations are for Mother's Day."),
    ], embeddings)
    assert len(embeddings.embed_query("roses")) == 1536
    found = store.similarity_search("How much is delivery, and before what time must I order?", k=1)
    assert found[0].page_content.startswith("Delivery")
    assert store.similarity_search("carnations for my mother", k=1)[0].page_content.startswith("Carnations")
    prompt = ChatPromptTemplate.from_template("Context: {context}\nQuestion: {question}")
    chain = ({"context": store.as_retriever(k=1), "question": RunnablePassthrough()} | prompt
             | ChatOpenAI(model="gpt-4o-mini") | StrOutputParser())
    assert chain.invoke("Can you deliver tomorrow?")  # the shop's text, the whole chain offline


def test_embeddings_have_the_models_size_are_unit_length_and_deterministic(client):
    import math

    small = client.embeddings.create(model="text-embedding-3-small", input=["red roses", "red roses", "tax law"])
    vectors = [d.embedding for d in small.data]
    assert [len(v) for v in vectors] == [1536] * 3 and vectors[0] == vectors[1]
    assert abs(math.fsum(x * x for x in vectors[0]) - 1) < 1e-6
    assert small.usage.prompt_tokens == small.usage.total_tokens == 2 + 2 + 2
    assert len(client.embeddings.create(model="text-embedding-3-large", input="x").data[0].embedding) == 3072
    assert len(client.embeddings.create(model="text-embedding-ada-002", input="x").data[0].embedding) == 1536
    cut = client.embeddings.create(model="text-embedding-3-large", input="x", dimensions=256)
    assert len(cut.data[0].embedding) == 256
    # token arrays (what OpenAIEmbeddings sends) give the same vector as the text
    ids = tokens.get_encoding("cl100k_base").encode("red roses")
    by_tokens = client.embeddings.create(model="text-embedding-3-small", input=[ids])
    assert by_tokens.usage.prompt_tokens == 2 and by_tokens.data[0].embedding == vectors[0]


def test_embeddings_in_base64_and_float_agree(server):
    import base64
    import struct

    import httpx

    body = {"model": "text-embedding-3-small", "input": "white lilies"}
    floats = httpx.post(f"{server.base_url}/embeddings", json=body).json()["data"][0]["embedding"]
    encoded = httpx.post(f"{server.base_url}/embeddings", json={**body, "encoding_format": "base64"}).json()
    packed = base64.b64decode(encoded["data"][0]["embedding"])
    assert list(struct.unpack(f"<{len(packed) // 4}f", packed)) == pytest.approx(floats, abs=1e-6)
    bad = httpx.post(f"{server.base_url}/embeddings", json={**body, "dimensions": 5000})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "dimensions"


def test_the_server_tells_its_owner_about_embeddings():
    from flowertui.serve.server import ShopServer

    seen = []
    with ShopServer(on_embedding=seen.append) as server:
        import openai

        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test-placeholder", max_retries=0)
        client.embeddings.create(model="text-embedding-3-large", input=["a rose", "a lily"], dimensions=64)
    assert [(c.model, c.inputs, c.prompt_tokens, c.dimensions) for c in seen] == [("text-embedding-3-large", 2, 5, 64)]


@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
def test_a_langgraph_react_agent_calls_its_tool_and_answers(env):
    from langgraph.prebuilt import create_react_agent

    calls = []

    @tool
    def price_of(flower: str) -> str:
        """Price of one stem of a flower."""
        calls.append(flower)
        return f"{flower}: 8 CNY a stem"

    agent = create_react_agent(ChatOpenAI(model="gpt-4o-mini"), [price_of])
    result = agent.invoke({"messages": [("user", "How much are roses?")]})
    kinds = [type(m).__name__ for m in result["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert calls == ["roses"]
    assert "roses: 8 CNY a stem" in result["messages"][-1].content


def test_responses_api_text_and_stream(env):
    model = ChatOpenAI(model="gpt-4o-mini", use_responses_api=True)
    reply = model.invoke("Which flowers suit a birthday?")
    assert reply.text == reply_for("Which flowers suit a birthday?")
    assert reply.usage_metadata["input_tokens"] > 0 and reply.usage_metadata["output_tokens"] > 0
    chunks = list(model.stream("Which flowers suit a birthday?"))
    texts = [c.text for c in chunks if c.text]
    assert len(texts) > 5 and "".join(texts) == reply.text
    joined = chunks[0]
    for chunk in chunks[1:]:
        joined += chunk
    assert joined.usage_metadata["total_tokens"] == reply.usage_metadata["total_tokens"]


def test_responses_api_tools_and_structured_output(env):
    model = ChatOpenAI(model="gpt-4o-mini", use_responses_api=True)
    bound = model.bind_tools([flower_price])
    call = bound.invoke(PRICE_QUESTION)
    assert [c["name"] for c in call.tool_calls] == ["flower_price"]
    flower_price.args_schema.model_validate(call.tool_calls[0]["args"])
    streamed = None
    for chunk in bound.stream(PRICE_QUESTION):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed.tool_calls[0]["args"] == call.tool_calls[0]["args"]
    result = flower_price.invoke(call.tool_calls[0])
    answer = bound.invoke([HumanMessage(PRICE_QUESTION), call, result])
    assert not answer.tool_calls and result.content in answer.text
    bouquet = model.with_structured_output(Bouquet).invoke("red roses for an anniversary")
    assert isinstance(bouquet, Bouquet)


def test_the_openai_clients_responses_stream_events(client):
    with client.responses.stream(model="gpt-4o-mini", input="hello") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert final.output_text == reply_for("hello") and final.usage.total_tokens > 0


def test_async_tool_calls_work_concurrently(env):
    model = ChatOpenAI(model="gpt-4o-mini").bind_tools([flower_price])

    async def gather():
        return await asyncio.gather(*[model.ainvoke(PRICE_QUESTION) for _ in range(5)])

    replies = asyncio.run(gather())
    assert len({r.tool_calls[0]["id"] for r in replies}) == 1  # deterministic


def test_the_older_functions_api_gets_a_function_call(env):
    from langchain_core.output_parsers.openai_functions import JsonOutputFunctionsParser
    from langchain_core.utils.function_calling import convert_to_openai_function

    functions = [convert_to_openai_function(delivery_slots), convert_to_openai_function(flower_price)]
    model = ChatOpenAI(model="gpt-3.5-turbo").bind(functions=functions)
    reply = model.invoke(PRICE_QUESTION)
    assert reply.additional_kwargs["function_call"]["name"] == "flower_price"
    assert reply.response_metadata["finish_reason"] == "function_call"
    args = (model | JsonOutputFunctionsParser()).invoke(PRICE_QUESTION)
    flower_price.args_schema.model_validate(args)
    streamed = list(ChatOpenAI(model="gpt-3.5-turbo", streaming=True).bind(
        functions=functions, function_call={"name": "delivery_slots"}).stream(PRICE_QUESTION))
    joined = streamed[0]
    for chunk in streamed[1:]:
        joined += chunk
    assert joined.additional_kwargs["function_call"]["name"] == "delivery_slots" and len(streamed) > 3
    delivery_slots.args_schema.model_validate(json.loads(joined.additional_kwargs["function_call"]["arguments"]))
