"""`flowertui serve` over real HTTP with the real openai client: shapes, usage, limits, errors, concurrency."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from flowertui.engine import tokens
from flowertui.engine.shop_replies import reply_for
from flowertui.serve.server import ServeError, ShopServer

BIRTHDAY = "哪种花卉最适合生日？只简单说3种，不超过50字"
SISTER = "我姐姐明天要过生日，我需要一束生日花束。"


def chat(client, content=BIRTHDAY, **kwargs):
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": content}], **kwargs)


def test_a_chat_completion_has_the_api_shape_and_tiktoken_usage(client):
    reply = chat(client)
    choice = reply.choices[0]
    assert reply.id.startswith("chatcmpl-") and reply.object == "chat.completion" and reply.created > 1_600_000_000
    assert reply.model == "gpt-4o-mini"
    assert choice.index == 0 and choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content == reply_for(BIRTHDAY)
    said = tokens.count_tokens(choice.message.content, "gpt-4o-mini")
    sent = 3 + 3 + tokens.count_tokens("user", "gpt-4o-mini") + tokens.count_tokens(BIRTHDAY, "gpt-4o-mini")
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (sent, said, sent + said)


def test_any_model_name_is_accepted_and_echoed(client):
    reply = client.chat.completions.create(model="qwen-turbo", messages=[{"role": "user", "content": "hello"}])
    assert reply.model == "qwen-turbo"


def test_a_streamed_chat_sends_the_same_reply_and_a_last_usage_chunk_when_asked(client):
    whole = chat(client)
    chunks = list(chat(client, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert all(c.object == "chat.completion.chunk" and c.model == "gpt-4o-mini" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 10  # token by token
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage.total_tokens == whole.usage.total_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_a_streamed_chat_without_include_usage_sends_no_usage(client):
    chunks = list(chat(client, stream=True))
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)


def test_the_raw_stream_is_server_sent_events_ending_with_done(server):
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}], "stream": True,
            "stream_options": {"include_usage": True}}
    with httpx.stream("POST", f"{server.base_url}/chat/completions", json=body) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    usage = json.loads(lines[-2][len("data: "):])
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_is_honoured(client, field):
    reply = chat(client, **{field: 12})
    full = reply_for(BIRTHDAY)
    assert reply.choices[0].finish_reason == "length"
    assert 0 < reply.usage.completion_tokens <= 12
    assert full.startswith(reply.choices[0].message.content)
    assert tokens.count_tokens(reply.choices[0].message.content, "gpt-4o-mini") == reply.usage.completion_tokens
    streamed = list(chat(client, stream=True, stream_options={"include_usage": True}, **{field: 12}))
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == reply.choices[0].message.content
    assert streamed[-1].usage.completion_tokens == reply.usage.completion_tokens


def test_n_temperature_and_stop_are_accepted(client):
    one = chat(client, temperature=0)
    three = chat(client, n=3, temperature=1.7)
    assert [c.index for c in three.choices] == [0, 1, 2]
    assert {c.message.content for c in three.choices} == {one.choices[0].message.content}
    assert three.usage.completion_tokens == 3 * one.usage.completion_tokens
    cut = chat(client, stop=["2."])
    assert cut.choices[0].message.content == one.choices[0].message.content.split("2.")[0]


def test_replies_are_deterministic(client):
    assert chat(client, SISTER).choices[0].message.content == chat(client, SISTER).choices[0].message.content


def test_legacy_completions_number_choices_per_prompt_and_count_usage(client):
    reply = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=[SISTER, "hello"], n=2, max_tokens=256)
    assert reply.object == "text_completion" and reply.id.startswith("cmpl-") and reply.model == "gpt-3.5-turbo-instruct"
    assert [c.index for c in reply.choices] == [0, 1, 2, 3]
    assert [c.text for c in reply.choices] == [reply_for(SISTER)] * 2 + [reply_for("hello")] * 2
    sent = tokens.count_tokens(SISTER) + tokens.count_tokens("hello")
    said = 2 * (tokens.count_tokens(reply_for(SISTER)) + tokens.count_tokens(reply_for("hello")))
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (sent, said)


def test_legacy_completions_default_to_16_tokens_like_the_api(client):
    reply = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=SISTER)
    assert reply.usage.completion_tokens <= 16 and reply.choices[0].finish_reason == "length"


def test_legacy_completions_stream(client):
    whole = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=SISTER, max_tokens=40)
    chunks = list(client.completions.create(model="gpt-3.5-turbo-instruct", prompt=SISTER, max_tokens=40,
                                            stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == whole.choices[0].text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == whole.usage.total_tokens


def test_models_are_listed_and_any_name_is_served(client):
    assert "gpt-3.5-turbo-instruct" in [m.id for m in client.models.list().data]
    assert client.models.retrieve("anything-at-all").id == "anything-at-all"


@pytest.mark.parametrize(("body", "param"), [
    (b"{not json", None),
    (b"[1, 2]", None),
    (b'{"model": "m"}', "messages"),
    (b'{"model": "m", "messages": []}', "messages"),
    (b'{"messages": [{"role": "user", "content": "hi"}]}', "model"),
    (b'{"model": "m", "messages": [{"role": "wizard", "content": "hi"}]}', "messages[0].role"),
    (b'{"model": "m", "messages": [{"role": "user", "content": 5}]}', "messages[0].content"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 0}', "n"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": "ten"}', "max_tokens"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 9}', "temperature"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": 3}', "stop"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": true}}',
     "stream_options"),
])
def test_bad_chat_requests_get_a_400_in_the_api_error_shape(server, client, body, param):
    response = httpx.post(f"{server.base_url}/chat/completions", content=body,
                          headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"] and error["param"] == param
    assert "Traceback" not in response.text
    assert chat(client, "hello").choices[0].message.content  # still serving


def test_bad_legacy_prompt_and_unknown_routes(server):
    bad = httpx.post(f"{server.base_url}/completions", json={"model": "m", "prompt": 42})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "prompt"
    missing = httpx.post(f"{server.base_url}/images/generations", json={})
    assert missing.status_code == 404 and missing.json()["error"]["message"]
    wrong = httpx.get(f"{server.base_url}/chat/completions")
    assert wrong.status_code == 405 and wrong.json()["error"]["message"]


def test_the_openai_client_raises_its_bad_request_error(client):
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client, n=500)
    assert "'n'" in caught.value.message


def test_concurrent_requests_are_all_answered(client):
    def one(index: int) -> str:
        if index % 3 == 0:
            return "".join(c.choices[0].delta.content or "" for c in chat(client, SISTER, stream=True) if c.choices)
        if index % 3 == 1:
            return chat(client, SISTER).choices[0].message.content
        return client.completions.create(model="gpt-3.5-turbo-instruct", prompt=SISTER, max_tokens=500).choices[0].text

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(one, range(24)))
    assert set(replies) == {reply_for(SISTER)}


def test_start_gives_the_base_url_and_stop_closes_the_port():
    server = ShopServer()
    base_url = server.start()
    assert base_url == f"http://127.0.0.1:{server.port}/v1" and server.port > 0
    env = server.child_env()
    assert (env["OPENAI_BASE_URL"], env["OPENAI_API_KEY"]) == (base_url, "sk-flowertui-offline")
    cl100k = hashlib.sha1(tokens.expected_source("cl100k_base").url.encode()).hexdigest()
    assert (Path(env["TIKTOKEN_CACHE_DIR"]) / cl100k).is_file()  # the program counts tokens offline
    assert httpx.get(f"{base_url}/models").status_code == 200
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/models", timeout=2)


def test_a_port_in_use_is_a_serve_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ServeError, match="cannot listen"):
            ShopServer(port=taken.getsockname()[1]).start()
