"""Prices: prices.toml overrides first, then genai-prices' database; a model in neither has no price.

Providers answer with names like `gpt-4o-mini-2024-07-18`; a hand-kept table misses
them. genai-prices (pydantic's, data bundled, no network) matches dated snapshots and
many providers' names, so it prices what the database lists. prices.toml (shipped:
CNY prices, the offline model; the user's own file in the config folder on top) is
checked first, so its entries always win. The database is imported lazily (about a
quarter of a second): `warm()` loads it off the app's first frame.

Token semantics, as OpenAI and LangChain report them: input tokens include the cached
prompt tokens (`prompt_tokens_details.cached_tokens`, `input_token_details.cache_read`),
priced at the cached rate; output tokens already include reasoning tokens
(`completion_tokens_details.reasoning_tokens`, `output_token_details.reasoning`), so
those are priced as output once, never added again.
"""

from __future__ import annotations

import re
import threading
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from flowertui.paths import config_dir

CURRENCY_SIGNS = {"USD": "$", "CNY": "¥"}
OVERRIDE, DATABASE, UNKNOWN = "override", "database", "unknown"  # where a model's price came from
SOURCE_WORDS = {OVERRIDE: "prices.toml", DATABASE: "genai-prices", UNKNOWN: "no price"}
# A snapshot's date or alias after the family name: gpt-4o-mini-2024-07-18, claude-3-5-sonnet-20241022, qwen-plus-latest.
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")
_PROBE_TOKENS = 1000  # a small call (below every tier's threshold), scaled to a per-1M price


@dataclass(frozen=True)
class Price:
    currency: str
    input_per_m: float
    output_per_m: float
    cached_input_per_m: float | None = None  # None: cached prompt tokens cost the input price

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """`input_tokens` include the `cached_tokens`; `output_tokens` include reasoning tokens."""
        cached = min(max(cached_tokens, 0), input_tokens)
        cached_rate = self.input_per_m if self.cached_input_per_m is None else self.cached_input_per_m
        return ((input_tokens - cached) * self.input_per_m + cached * cached_rate
                + output_tokens * self.output_per_m) / 1_000_000


@dataclass(frozen=True)
class PriceMatch:
    """A model's price and where it came from; `listed_as` is the name it is listed under."""

    price: Price | None
    source: str  # OVERRIDE | DATABASE | UNKNOWN
    listed_as: str | None = None

    def describe(self, model: str | None) -> str:
        """One line for a view: which table priced the model, and under which name."""
        if self.price is None:
            return f"{model or 'unknown model'}: no price (add it to prices.toml in the config folder)"
        alias = f" as {self.listed_as}" if self.listed_as and self.listed_as != model else ""
        return f"{model} from {SOURCE_WORDS[self.source]}{alias}"


class PriceTableError(ValueError):
    """A price file that cannot be read or has the wrong shape."""


class PriceBook:
    """Looks models up: the overrides (exact name, then without a snapshot suffix), then the database."""

    def __init__(self, overrides: dict[str, Price], *, database: bool = True) -> None:
        self.overrides = dict(overrides)
        self._lowered = {name.lower(): name for name in self.overrides}
        self._use_database = database
        self._matches: dict[str | None, PriceMatch] = {}

    def lookup(self, model: str | None) -> PriceMatch:
        """The price for a model name as a provider returned it (cached; the database loads on first use)."""
        match = self._matches.get(model)
        if match is None:
            match = self._override(model) or self._database(model) or PriceMatch(None, UNKNOWN)
            self._matches[model] = match
        return match

    def warm(self) -> None:
        """Load the database now (off the UI thread), so no later lookup waits for it."""
        if self._use_database:
            _database_snapshot()

    def warm_in_background(self) -> None:
        """Load the database in a thread of its own (the apps start it after their first frame)."""
        threading.Thread(target=self.warm, name="flowertui-prices", daemon=True).start()

    def _override(self, model: str | None) -> PriceMatch | None:
        if not model:
            return None
        for name in (model, _SNAPSHOT.sub("", model)):
            listed = self._lowered.get(name.lower())
            if listed is not None:
                return PriceMatch(self.overrides[listed], OVERRIDE, listed)
        return None

    def _database(self, model: str | None) -> PriceMatch | None:
        return _database_price(model) if model and self._use_database else None


_database_lock = threading.Lock()  # genai-prices' lookup caches are plain dicts


def _database_snapshot():
    """genai-prices' bundled data, imported once (its import is the cost: ~0.25 s)."""
    with _database_lock:
        from genai_prices import data_snapshot

        return data_snapshot.get_snapshot()


def _database_price(model: str) -> PriceMatch | None:
    """Per-1M prices from genai-prices (USD): input, output and cached input, from one small call each."""
    _database_snapshot()
    from genai_prices import Usage, calc_price

    with _database_lock:
        return _priced(model, Usage, calc_price)


def _priced(model: str, Usage, calc_price) -> PriceMatch | None:
    # genai-prices finds a model's provider by name patterns that leave some of OpenAI's own models out
    # (text-embedding-3-small): those are then looked up among OpenAI's, the API flowertui's programs speak
    for provider in (None, "openai"):
        try:
            as_input = calc_price(Usage(input_tokens=_PROBE_TOKENS), model, provider_id=provider)
            as_output = calc_price(Usage(output_tokens=_PROBE_TOKENS), model, provider_id=provider)
            as_cached = calc_price(Usage(input_tokens=_PROBE_TOKENS, cache_read_tokens=_PROBE_TOKENS), model,
                                   provider_id=provider)
            break
        except (LookupError, ValueError, ArithmeticError):  # not listed, or a price it cannot compute for tokens
            continue
    else:
        return None
    scale = 1_000_000 / _PROBE_TOKENS
    price = Price("USD", float(as_input.total_price) * scale, float(as_output.total_price) * scale,
                  float(as_cached.total_price) * scale)
    return PriceMatch(price, DATABASE, as_input.model.id)


def _parse(text: str, origin: str) -> dict[str, Price]:
    try:
        models = tomllib.loads(text).get("models", {})
        return {
            name: Price(str(entry["currency"]).upper(), float(entry["input"]), float(entry["output"]),
                        float(entry["cached_input"]) if "cached_input" in entry else None)
            for name, entry in models.items()
        }
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PriceTableError(f"{origin}: {exc}") from exc


def load_prices(user_file: Path | None = None, *, database: bool = True) -> PriceBook:
    """Shipped overrides, with the entries of the user's file on top when it exists, before the database."""
    shipped = resources.files("flowertui.engine").joinpath("prices.toml").read_text("utf-8")
    overrides = _parse(shipped, "prices.toml")
    if user_file is not None and user_file.is_file():
        overrides.update(_parse(user_file.read_text("utf-8"), str(user_file)))
    return PriceBook(overrides, database=database)


def configured_prices() -> PriceBook:
    """The shipped prices with the user's own prices.toml (in the config folder) on top, then the database."""
    return load_prices(config_dir() / "prices.toml")


def format_cost(cost: float | None, currency: str | None) -> str:
    if cost is None or currency is None:
        return "price unknown"
    return f"{CURRENCY_SIGNS.get(currency, currency + ' ')}{cost:.6f}"
