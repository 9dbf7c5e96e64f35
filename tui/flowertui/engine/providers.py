"""Chat model providers: the offline shop assistant, OpenAI, and OpenAI-compatible servers.

langchain_openai is imported only when a network provider is chosen: it costs
about 1.4 s, which the offline path never pays. The settings themselves are light
(the CLI and the app read them before their first frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

OFFLINE_MODEL = "flowershop-offline"


@dataclass(frozen=True)
class Preset:
    base_url: str | None
    model: str | None
    key_env: str | None


PRESETS: dict[str, Preset] = {
    "offline": Preset(None, OFFLINE_MODEL, None),
    "openai": Preset(None, "gpt-4o-mini", "OPENAI_API_KEY"),
    "dashscope": Preset("https://dashscope.aliyuncs.com/compatible-mode/v1", "qwen-turbo", "DASHSCOPE_API_KEY"),
    "deepseek": Preset("https://api.deepseek.com/v1", "deepseek-chat", "DEEPSEEK_API_KEY"),
    "ollama": Preset("http://localhost:11434/v1", "llama3.2", None),
    "compatible": Preset(None, None, "OPENAI_API_KEY"),
}
PROVIDERS = tuple(PRESETS)


@dataclass(frozen=True)
class ProviderSettings:
    """Everything needed to build the chat model. The key is kept out of repr."""

    provider: str = "offline"
    model: str = OFFLINE_MODEL
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    speed: float = 40.0
    timeout: float = 60.0
    max_retries: int = 2  # retries after a 429 or 5xx answer; offline never needs one


def build_chat_model(settings: ProviderSettings) -> BaseChatModel:
    """The chat model for these settings, streaming inside invoke so tokens fire callbacks."""
    from flowertui.engine.tokens import ensure_offline_tiktoken

    ensure_offline_tiktoken()
    if settings.provider == "offline":
        from flowertui.engine.shop_model import FlowerShopModel

        return FlowerShopModel(tokens_per_second=settings.speed)
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.model,
        base_url=settings.base_url,
        api_key=settings.api_key or "no-key-needed",
        streaming=True,
        stream_usage=True,  # without it a custom base URL reports no usage at all
        tiktoken_model_name=_tiktoken_model(settings.model),
        timeout=settings.timeout,
        max_retries=0,  # retries are flowertui's, so they show as retry events (engine/retry.py)
    )


def _tiktoken_model(model: str) -> str | None:
    """A name tiktoken and ChatOpenAI's token counting accept, for models they do not know."""
    import tiktoken

    from flowertui.engine.tokens import SEEDED_ENCODINGS

    try:
        if tiktoken.encoding_name_for_model(model) in SEEDED_ENCODINGS:
            return None
    except KeyError:
        pass
    return "gpt-4"  # cl100k_base; ChatOpenAI counts message tokens only for gpt-* names
