"""FlowerShopModel: the offline flower-shop assistant as a real LangChain chat model.

It is the app's default provider when no API key is set. Replies come from the
rule-based shop_replies (no network, no randomness) and are streamed one tiktoken
piece at a time at a readable pace, with usage counted by real tiktoken, so the
callbacks, streamed tokens and token spend per memory kind look like a hosted
model's. Its name says what it is: flowershop-offline, not an LLM.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import (
    BaseChatModel,
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import model_validator

from flowertui.engine import tokens
from flowertui.engine.shop_replies import conversation, cut_at_stop, reply_for

MODEL_NAME = "flowershop-offline"
ENCODING = "cl100k_base"


class FlowerShopModel(BaseChatModel):
    """Rule-based, deterministic flower-shop assistant that streams like a hosted chat model."""

    model_name: str = MODEL_NAME
    tokens_per_second: float = 40.0
    """Streaming pace; 0 streams as fast as possible, without sleeping."""
    streaming: bool = True
    """Stream inside invoke too, so on_llm_new_token fires per token."""

    @model_validator(mode="before")
    @classmethod
    def _streaming_is_explicit(cls, data: Any) -> Any:
        """langchain-core streams inside invoke only if `streaming` was set explicitly."""
        return {"streaming": True, **data} if isinstance(data, dict) else data

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "tokens_per_second": self.tokens_per_second}

    def get_token_ids(self, text: str) -> list[int]:
        """tiktoken cl100k_base ids (the base class would need transformers' GPT-2)."""
        return tokens.get_encoding(ENCODING).encode(text, disallowed_special=())

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, **kwargs))

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:
        return await agenerate_from_stream(self._astream(messages, stop, **kwargs))

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for wait, token, chunk in self._paced(messages, stop):
            if wait > 0:
                time.sleep(wait)
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk

    async def _astream(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for wait, token, chunk in self._paced(messages, stop):
            if wait > 0:
                await asyncio.sleep(wait)
            if run_manager:
                await run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk

    def _paced(
        self, messages: Sequence[BaseMessage], stop: list[str] | None
    ) -> Iterator[tuple[float, str, ChatGenerationChunk]]:
        """Each chunk with its token and the seconds to wait before sending it; the closing chunk last, at once."""
        pieces, last = self._answer(messages, stop)
        start = time.monotonic()
        for index, piece in enumerate(pieces):
            yield self._wait(index, start), piece, ChatGenerationChunk(message=AIMessageChunk(content=piece))
        yield 0.0, "", last

    def _answer(
        self, messages: Sequence[BaseMessage], stop: list[str] | None
    ) -> tuple[list[str], ChatGenerationChunk]:
        """The reply cut into token pieces, and the closing chunk carrying usage and metadata."""
        said_by = [(message.type, str(message.text)) for message in messages if message.type != "system"]
        prompt = conversation(said_by) if len(said_by) > 1 else (said_by[-1][1] if said_by else "")
        reply = cut_at_stop(reply_for(prompt), stop)
        sent = self.get_num_tokens("\n".join(str(message.text) for message in messages))
        said = self.get_num_tokens(reply)
        usage = UsageMetadata(input_tokens=sent, output_tokens=said, total_tokens=sent + said)
        last = AIMessageChunk(
            content="",
            usage_metadata=usage,
            response_metadata={"model_name": self.model_name, "finish_reason": "stop", "model_provider": "flowershop"},
            chunk_position="last",
        )
        return tokens.split_tokens(reply, None), ChatGenerationChunk(message=last)

    def _wait(self, index: int, start: float) -> float:
        """Seconds until piece `index` is due; deadlines from the start, so pacing never drifts."""
        if index == 0 or self.tokens_per_second <= 0:
            return 0.0
        return start + index / self.tokens_per_second - time.monotonic()

