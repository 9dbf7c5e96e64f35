"""Handlers that LangChain, LangGraph or LangSmith attach themselves (streaming, event streams, tracing, usage):
the program did not write them, so they are shown apart from its own, labelled as LangChain's."""

from __future__ import annotations

LANGCHAIN_HANDLERS = frozenset({
    "_AstreamEventsCallbackHandler",  # Runnable.astream_events
    "LogStreamCallbackHandler",  # Runnable.astream_log
    "StreamMessagesHandler",  # LangGraph stream_mode="messages"
    "_StreamingCallbackHandler",
    "LangChainTracer",  # LangSmith tracing (LANGSMITH_TRACING)
    "EvaluatorCallbackHandler",
    "RunCollectorCallbackHandler",
    "UsageMetadataCallbackHandler",  # when LangChain adds it (get_usage_metadata_callback)
    "ConsoleCallbackHandler",  # LangChain's debug mode (set_debug)
})


def by(name: str) -> str:
    """Who attached the handler: "langchain" for LangChain's own, else "program"."""
    return "langchain" if name in LANGCHAIN_HANDLERS else "program"
