"""`flowertui serve` under hostile requests: size, fan-out, context, encoding, nesting, and one request's weight.

Each test reproduces an attack from the review (issue 15, item 15) against a real server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import httpx
import openai
import pytest

from flowertui.engine import tokens
from flowertui.serve.limits import MAX_BODY_BYTES
from flowertui.serve.replies import count

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


def post(server, path: str, body: bytes | dict, timeout: float = 60) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{server.base_url}{path}", content=content, timeout=timeout,
                      headers={"content-type": "application/json"})


def assert_error(response: httpx.Response, status: int, param: str | None = None, code: str | None = None) -> dict:
    assert response.status_code == status, response.text[:300]
    error = response.json()["error"]
    assert error["message"] and error["type"] == "invalid_request_error" and "Traceback" not in response.text
    if param is not None:
        assert error["param"] == param
    assert error["code"] == code
    return error


def still_serving(server) -> None:
    assert post(server, "/chat/completions", CHAT).json()["choices"][0]["message"]["content"]


def test_a_body_over_the_cap_is_a_413_in_the_api_error_shape(server):
    big = {**CHAT, "messages": [{"role": "user", "content": "roses " * (10 * 1024 * 1024 // 6)}]}
    started = time.monotonic()
    response = post(server, "/chat/completions", big)
    assert_error(response, 413, code="request_too_large")
    assert time.monotonic() - started < 10  # refused, not read and answered (that took 45 s)
    still_serving(server)


def test_a_body_without_a_declared_length_is_cut_at_the_cap(server):
    def chunks():
        yield b'{"model": "m", "messages": [{"role": "user", "content": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"a" * 65536
        yield b'"}]}'

    response = httpx.post(f"{server.base_url}/chat/completions", content=chunks(), timeout=60)
    assert_error(response, 413, code="request_too_large")
    still_serving(server)


def test_n_times_prompts_is_capped(server, client):
    fanned = post(server, "/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": ["hi"] * 600, "n": 2})
    error = assert_error(fanned, 400, "n")
    assert "1200" in error["message"]
    many = post(server, "/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": ["hi"] * 3000})
    assert_error(many, 400, "prompt")
    allowed = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=["hi"] * 256, n=2, max_tokens=4)
    assert len(allowed.choices) == 512


def test_a_prompt_longer_than_the_context_is_context_length_exceeded(client):
    long = "Roses are red and violets are blue. " * 2500  # about 20,000 tokens
    with pytest.raises(openai.BadRequestError) as chat:
        client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": long}])
    assert chat.value.code == "context_length_exceeded" and "16385" in chat.value.message
    assert chat.value.param == "messages"
    with pytest.raises(openai.BadRequestError) as legacy:
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt=long[:20000])
    assert legacy.value.code == "context_length_exceeded" and legacy.value.param == "prompt"
    with pytest.raises(openai.BadRequestError) as embedded:
        client.embeddings.create(model="text-embedding-3-small", input=long)
    assert embedded.value.code == "context_length_exceeded"
    fits = long[:40000]  # about 8,000 tokens: fits gpt-3.5-turbo, but not with room for 10,000 more
    assert client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": fits}]).choices
    with pytest.raises(openai.BadRequestError) as roomless:
        client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": fits}],
                                       max_tokens=10000)
    assert roomless.value.code == "context_length_exceeded"


def test_a_lone_surrogate_in_a_streamed_model_name_is_a_400_not_a_broken_stream(server):
    body = b'{"model": "gpt\\ud800", "stream": true, "messages": [{"role": "user", "content": "hello"}]}'
    assert_error(post(server, "/chat/completions", body), 400, "model")
    content = b'{"model": "m", "messages": [{"role": "user", "content": "rose \\udfff"}]}'
    assert_error(post(server, "/chat/completions", content), 400, "messages[0].content")
    still_serving(server)


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deep_json_is_a_400(server, depth):
    nested = b'{"a": ' * depth + b"1" + b"}" * depth
    body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "metadata": ' + nested + b"}"
    error = assert_error(post(server, "/chat/completions", body), 400)
    assert "deeper than" in error["message"]
    still_serving(server)


def test_long_texts_are_counted_exactly_in_pieces():
    text = "Roses are red,  violets are\n blue; 12345 tulips! " * 5000
    assert count(text, "gpt-4o-mini") == tokens.count_tokens(text, "gpt-4o-mini")
    assert count(text, "gpt-3.5-turbo") == tokens.count_tokens(text, "gpt-3.5-turbo")


@pytest.fixture
def served():
    """`flowertui serve` in its own process, so the test's client does not share its interpreter."""
    process = subprocess.Popen([sys.executable, "-m", "flowertui", "serve"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        found = re.search(r"http://127\.0\.0\.1:\d+/v1", process.stdout.readline())
        assert found
        yield SimpleNamespace(base_url=found.group(0))
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def test_a_heavy_request_does_not_hold_up_a_small_one(served):
    """A small request sent while a big one is being answered is answered first."""
    server = served
    still_serving(server)  # warm: tiktoken's encodings load on first use (o200k_base here, cl100k_base below)
    assert post(server, "/embeddings", {"model": "text-embedding-3-large", "input": "rose"}).status_code == 200
    passages = [f"passage {i}: roses, lilies and tulips for a birthday " * 60 for i in range(800)]  # 2.2 MB
    heavy = json.dumps({"model": "text-embedding-3-large", "input": passages, "encoding_format": "base64"}).encode()
    sent = threading.Event()
    done: dict[str, float] = {}

    def body():
        for start in range(0, len(heavy), 1 << 20):
            yield heavy[start:start + (1 << 20)]
        sent.set()  # the whole body is on its way: the server is about to answer it

    def send_heavy() -> None:
        with httpx.stream("POST", f"{server.base_url}/embeddings", content=body(), timeout=120,
                          headers={"content-type": "application/json"}) as response:
            done["heavy"] = time.monotonic()  # the server has built its answer and starts sending it
            assert response.status_code == 200 and len(json.loads(response.read())["data"]) == 800

    worker = threading.Thread(target=send_heavy)
    worker.start()
    assert sent.wait(timeout=60)
    time.sleep(0.5)
    started = time.monotonic()
    still_serving(server)
    done["small"] = time.monotonic()
    worker.join(timeout=120)
    assert "heavy" in done, "the heavy request failed"
    assert done["small"] < done["heavy"], f"small answered {done['small'] - done['heavy']:.2f} s after the heavy one"
    print(f"small request: {1000 * (done['small'] - started):.0f} ms; heavy answered "
          f"{done['heavy'] - done['small']:.2f} s later")
