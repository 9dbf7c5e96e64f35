"""Retrying rate limits and server errors where the callback system can see it.

ChatOpenAI's client retries silently. flowertui turns that off and retries with
LangChain's RunnableRetry instead, waiting what the server's Retry-After asks
for, and reports each retry through `on_retry`, so it shows as a retry event.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables.retry import RunnableRetry
from tenacity import RetryCallState

MAX_WAIT = 30.0


def wait_for_provider(state: RetryCallState) -> float:
    """The server's Retry-After when it sent one (capped), else 0.5 s doubling up to 8 s."""
    error = state.outcome.exception() if state.outcome else None
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    try:
        return min(MAX_WAIT, max(0.0, float(headers.get("retry-after"))))
    except (TypeError, ValueError):
        return min(8.0, 0.5 * 2 ** (state.attempt_number - 1))


class ProviderRetry(RunnableRetry):
    """RunnableRetry that honours Retry-After and fires on_retry before each wait."""

    @property
    def _kwargs_retrying(self) -> dict[str, Any]:
        return {**super()._kwargs_retrying, "wait": wait_for_provider}

    def _invoke(self, input_, run_manager, config, **kwargs: Any):
        result = None
        for attempt in self._sync_retrying(reraise=True, before_sleep=run_manager.on_retry):
            with attempt:
                result = super(RunnableRetry, self).invoke(
                    input_, self._patch_config(config, run_manager, attempt.retry_state), **kwargs)
            if attempt.retry_state.outcome and not attempt.retry_state.outcome.failed:
                attempt.retry_state.set_result(result)
        return result


def with_provider_retry(model, attempts: int) -> ProviderRetry:
    """The model, retried on 429 and 5xx answers (never on bad keys, unknown models or dropped connections)."""
    import openai

    return ProviderRetry(bound=model, retry_exception_types=(openai.RateLimitError, openai.InternalServerError),
                         max_attempt_number=attempts, wait_exponential_jitter=False)
