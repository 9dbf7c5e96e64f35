"""Traced programs against a real loopback server: prices for dated names, estimates, tiktoken's files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from flowertui.engine.prices import load_prices
from flowertui.engine.tokens import count_tokens, tiktoken_cache_dir
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.traced import program, session_events, trace_json


def _printed(done, prefix: str) -> str:
    """A line the program printed (in --json mode its output goes to stderr)."""
    return next(line for line in done.stderr.decode().splitlines() if line.startswith(prefix))[len(prefix):].strip()


def test_a_dated_model_name_is_priced_as_get_openai_callback_prices_it_with_cached_tokens_cheaper():
    reply = Reply(model="gpt-4o-mini-2024-07-18", prompt_tokens=1000, completion_tokens=50, cached_tokens=800,
                  reasoning_tokens=20)
    with OpenAIServer(reply) as server:
        doc, done = trace_json(program("lesson.py"), server.base_url)
    assert done.returncode == 0, done.stderr.decode()
    model = doc["models"]["gpt-4o-mini-2024-07-18"]
    assert (model["calls"], model["prompt_tokens"], model["completion_tokens"], model["cached_tokens"]) == (
        2, 2000, 100, 1600)  # the reasoning tokens are inside the 100 completion tokens, not added
    assert model["price_source"] == "database" and model["currency"] == "USD"
    printed = json.loads(_printed(done, "CALLBACK"))
    assert model["cost"] == pytest.approx(printed["total_cost"], abs=1e-12)
    uncached = load_prices().lookup("gpt-4o-mini").price.cost(2000, 100)
    assert 0 < model["cost"] < uncached


def test_a_dated_model_name_shows_a_cost_in_the_headless_table():
    with OpenAIServer(Reply(model="gpt-4o-mini-2024-07-18", prompt_tokens=42, completion_tokens=5)) as server:
        done = subprocess.run([sys.executable, "-m", "flowertui", "trace", "--headless", program("lesson.py"),
                               server.base_url], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    row = next(line for line in done.stderr.decode().splitlines() if line.startswith("gpt-4o-mini-2024-07-18"))
    assert "$0.000019" in row and row.endswith("genai-prices")  # 84 × 0.15 + 10 × 0.60 per 1M


def test_without_usage_the_prompt_estimate_counts_tools_and_message_overhead():
    """The cookbook's weather call: OpenAI's API reported 101 prompt tokens for it on gpt-4o-mini."""
    with OpenAIServer(Reply(model="gpt-4o-mini", usage=False)) as server:
        doc, done = trace_json(program("weather_tool.py"), server.base_url)
        sent = server.requests[0].body
    assert done.returncode == 0, done.stderr.decode()
    assert "stream_options" not in sent and sent["tools"][0]["function"]["name"] == "get_current_weather"
    model = doc["models"]["gpt-4o-mini"]
    assert model["usage_missing_calls"] == 1
    assert model["prompt_tokens"] == 101
    assert model["completion_tokens"] > 0
    start = next(e for e in session_events(doc["session_id"]) if e.kind == "chat_model_start")
    assert start.payload["tools"][0]["function"]["name"] == "get_current_weather"


def test_a_program_against_any_provider_counts_with_tiktoken_without_the_network(tmp_path):
    """--no-offline, its own OPENAI_BASE_URL: tiktoken still finds its files in flowertui's seeded cache."""
    env = {name: value for name, value in os.environ.items() if name not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR")}
    env["TMPDIR"] = str(tmp_path)  # tiktoken's default cache (TMPDIR/data-gym-cache) starts empty
    with OpenAIServer(Reply(model="gpt-4o-mini")) as server:
        env.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-" + "t" * 30)
        done = subprocess.run([sys.executable, "-m", "flowertui", "trace", "--json", "--no-offline",
                               program("counts_tokens.py")], capture_output=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr.decode()
    assert _printed(done, "TOKENS") == str(count_tokens("Which flower suits a birthday?", "gpt-4"))  # cl100k_base
    doc = json.loads(done.stdout)
    assert doc["exit_code"] == 0 and doc["models"]["gpt-4o-mini"]["calls"] == 1


def test_a_programs_own_tiktoken_cache_is_kept(tmp_path):
    from flowertui.trace.launcher import with_tiktoken_cache

    assert with_tiktoken_cache({})["TIKTOKEN_CACHE_DIR"] == str(tiktoken_cache_dir())
    assert with_tiktoken_cache({"TIKTOKEN_CACHE_DIR": str(tmp_path)})["TIKTOKEN_CACHE_DIR"] == str(tmp_path)
    assert "TIKTOKEN_CACHE_DIR" not in with_tiktoken_cache({"DATA_GYM_CACHE_DIR": str(tmp_path)})
