"""Retrying rate limits and server errors where the callback system can see it.

ChatOpenAI's client retries silently. flowertui turns that off and retries with
LangChain's RunnableRetry instead, waiting what the server's Retry-After asks
for, and reports each retry through `on_retry`, so it shows as a retry event.
"""

from __future__ import annotations

from contextvars import ContextVar
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
    """RunnableRetry that honours Retry-After and fires on_retry before each wait.

    RunnableRetry runs its attempts from `_invoke` or `_batch` (LLMChain batches);
    both take their run managers, which the before-sleep hook needs, so they are
    handed over in a context variable.
    """

    def get_name(self, suffix: str | None = None, *, name: str | None = None) -> str:
        """Its own name, not the model's it wraps: the event tree would show the model twice otherwise."""
        return super().get_name(suffix, name=name or self.name)

    @property
    def _kwargs_retrying(self) -> dict[str, Any]:
        return {**super()._kwargs_retrying, "wait": wait_for_provider}

    def _sync_retrying(self, **kwargs: Any):
        return super()._sync_retrying(before_sleep=_report_retry, **kwargs)

    def _invoke(self, input_, run_manager, config, **kwargs: Any):
        token = _run_managers.set([run_manager])
        try:
            return super()._invoke(input_, run_manager, config, **kwargs)
        finally:
            _run_managers.reset(token)

    def _batch(self, inputs, run_manager, config, **kwargs: Any):
        token = _run_managers.set(list(run_manager))
        try:
            return super()._batch(inputs, run_manager, config, **kwargs)
        finally:
            _run_managers.reset(token)


_run_managers: ContextVar[list] = ContextVar("flowertui_retry_run_managers", default=[])


def _report_retry(state: RetryCallState) -> None:
    for manager in _run_managers.get():
        manager.on_retry(state)


def with_provider_retry(model, attempts: int) -> ProviderRetry:
    """The model, retried on 429 and 5xx answers (never on bad keys, unknown models or dropped connections)."""
    import openai

    return ProviderRetry(bound=model, retry_exception_types=(openai.RateLimitError, openai.InternalServerError),
                         max_attempt_number=attempts, wait_exponential_jitter=False, name=retry_name(attempts))


def retry_name(attempts: int) -> str:
    """How the retry wrapper's own chain run is named in the event tree (it would otherwise borrow the model's name)."""
    return f"retry (up to {attempts} tries)"
