"""Price table: the shipped TOML plus the user's own file; unknown models have no price."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from flowertui.paths import config_dir

CURRENCY_SIGNS = {"USD": "$", "CNY": "¥"}


@dataclass(frozen=True)
class Price:
    currency: str
    input_per_m: float
    output_per_m: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_m + output_tokens * self.output_per_m) / 1_000_000


class PriceTableError(ValueError):
    """A price file that cannot be read or has the wrong shape."""


def _parse(text: str, origin: str) -> dict[str, Price]:
    try:
        models = tomllib.loads(text).get("models", {})
        return {
            name: Price(str(entry["currency"]).upper(), float(entry["input"]), float(entry["output"]))
            for name, entry in models.items()
        }
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PriceTableError(f"{origin}: {exc}") from exc


def load_prices(user_file: Path | None = None) -> dict[str, Price]:
    """Shipped prices, overridden by entries of the user's file when it exists."""
    shipped = resources.files("flowertui.engine").joinpath("prices.toml").read_text("utf-8")
    prices = _parse(shipped, "prices.toml")
    if user_file is not None and user_file.is_file():
        prices.update(_parse(user_file.read_text("utf-8"), str(user_file)))
    return prices


def configured_prices() -> dict[str, Price]:
    """The shipped prices with the user's own prices.toml (in the config folder) on top."""
    return load_prices(config_dir() / "prices.toml")


def format_cost(cost: float | None, currency: str | None) -> str:
    if cost is None or currency is None:
        return "price unknown"
    return f"{CURRENCY_SIGNS.get(currency, currency + ' ')}{cost:.6f}"
