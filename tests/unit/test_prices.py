"""Prices for the names providers return: prices.toml overrides first, then genai-prices' database."""

from __future__ import annotations

import pytest

from flowertui.engine.events import Event
from flowertui.engine.ledger import Ledger
from flowertui.engine.prices import DATABASE, OVERRIDE, UNKNOWN, Price, PriceBook, load_prices
from flowertui.engine.trace_ledger import TraceLedger


@pytest.fixture(scope="module")
def prices():
    return load_prices()


@pytest.mark.parametrize(("model", "listed_as", "input_per_m", "output_per_m"), [
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini", 0.15, 0.60),  # what the API answers for gpt-4o-mini
    ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano", 0.10, 0.40),
    ("gpt-5.1", "gpt-5.1", 1.25, 10.00),
    ("o3-mini", "o3-mini", 1.10, 4.40),
    ("gpt-4", "gpt-4", 30.00, 60.00),
])
def test_names_real_providers_return_are_priced_by_the_database(prices, model, listed_as, input_per_m, output_per_m):
    match = prices.lookup(model)
    assert (match.source, match.listed_as, match.price.currency) == (DATABASE, listed_as, "USD")
    assert match.price.input_per_m == pytest.approx(input_per_m)
    assert match.price.output_per_m == pytest.approx(output_per_m)


def test_deepseek_is_priced_by_the_database_and_the_shipped_override_wins(prices):
    assert prices.lookup("deepseek-chat").source == OVERRIDE  # DeepSeek's own CNY list
    assert prices.lookup("deepseek-chat").price.currency == "CNY"
    database = PriceBook({}).lookup("deepseek-chat")
    assert database.source == DATABASE and database.price.currency == "USD" and database.price.input_per_m > 0


def test_qwen_turbo_is_priced_by_the_override_also_with_a_snapshot_suffix(prices):
    for name in ("qwen-turbo", "qwen-turbo-latest", "qwen-turbo-2024-11-01"):
        match = prices.lookup(name)
        assert (match.source, match.listed_as, match.price) == (OVERRIDE, "qwen-turbo", Price("CNY", 0.30, 0.60))
    assert prices.lookup("flowershop-offline").price.cost(1000, 1000) == 0.0


def test_an_unknown_name_has_no_price(prices):
    for name in ("my-own-finetune", "", None):
        match = prices.lookup(name)
        assert (match.price, match.source) == (None, UNKNOWN)
    assert "no price" in prices.lookup("my-own-finetune").describe("my-own-finetune")


def test_the_users_file_overrides_the_database_for_dated_names(tmp_path):
    user = tmp_path / "prices.toml"
    user.write_text('[models."gpt-4o-mini"]\ncurrency = "CNY"\ninput = 1.0\noutput = 2.0\n', "utf-8")
    match = load_prices(user).lookup("gpt-4o-mini-2024-07-18")
    assert (match.source, match.price) == (OVERRIDE, Price("CNY", 1.0, 2.0))
    assert match.describe("gpt-4o-mini-2024-07-18") == "gpt-4o-mini-2024-07-18 from prices.toml as gpt-4o-mini"


def test_cached_prompt_tokens_cost_less_and_reasoning_tokens_count_once_as_output(prices):
    price = prices.lookup("gpt-4o-mini-2024-07-18").price
    assert price.cached_input_per_m == pytest.approx(0.075)
    full = price.cost(1000, 100)
    cached = price.cost(1000, 100, cached_tokens=800)
    assert cached < full
    assert cached == pytest.approx((200 * 0.15 + 800 * 0.075 + 100 * 0.60) / 1e6)
    # an override without a cached price charges cached tokens the input price
    assert Price("CNY", 2.0, 3.0).cost(1000, 0, cached_tokens=800) == Price("CNY", 2.0, 3.0).cost(1000, 0)


def _end(turn: int, model: str, usage: dict, **fields) -> Event:
    return Event(seq=turn, wall=0.0, mono=0.0, session_id="s", turn=turn, kind="llm_end", name="llm", scope="request",
                 run_id=f"r{turn}", payload={"model": model, "usage": usage}, **fields)


def test_a_turn_with_cached_tokens_costs_less_in_both_ledgers_and_json_names_the_source(prices):
    usage = {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100}
    cached_usage = {**usage, "cached_input_tokens": 800, "reasoning_tokens": 60}
    ledger = Ledger(prices)
    ledger(_end(1, "gpt-4o-mini-2024-07-18", usage, memory_kind="buffer"))
    ledger(_end(2, "gpt-4o-mini-2024-07-18", cached_usage, memory_kind="buffer"))
    plain, cached = ledger.turns("buffer")
    (cost_plain, _), (cost_cached, currency) = plain.cost(prices), cached.cost(prices)
    assert cost_cached < cost_plain and currency == "USD"
    assert cost_cached == pytest.approx(prices.lookup("gpt-4o-mini").price.cost(1000, 100, 800))
    assert cached.completion_tokens == 100  # reasoning tokens are part of the output already: never added
    row = cached.to_dict(prices)
    assert (row["price_source"], row["cost"]) == (DATABASE, cost_cached)

    traced = TraceLedger(prices)
    traced(_end(1, "gpt-4o-mini-2024-07-18", cached_usage))
    traced(_end(2, "qwen-turbo", usage))
    traced(_end(3, "my-own-finetune", usage))
    models = traced.rows().to_dict()["models"]
    assert models["gpt-4o-mini-2024-07-18"]["cost"] == pytest.approx(cost_cached)
    assert models["gpt-4o-mini-2024-07-18"]["cached_tokens"] == 800
    assert [m["price_source"] for m in models.values()] == [DATABASE, OVERRIDE, UNKNOWN]
    assert models["my-own-finetune"]["cost"] is None
