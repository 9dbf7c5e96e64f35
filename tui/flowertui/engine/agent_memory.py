"""Memory the LangChain 1.x way, beside the lesson's five: an agent from `create_agent` with a checkpointer.

LangChain 1.x deprecates the lesson's Conversation*Memory classes (they "fail silently" with native tool
calling). Its replacement keeps the conversation in the agent's state, saved per thread by a checkpointer,
and lets middleware decide what reaches the model:
- agent_window and agent_tokens trim the messages of each model call with `trim_messages` (by messages, or
  by tokens); the state keeps every message, as the lesson's window kept its transcript;
- agent_summary runs SummarizationMiddleware before the model: past a token limit it replaces older messages
  in the state with one summary message, written by the model in a call tagged `lc_source="summarization"`.

This module imports langchain.agents (about a second): the runner imports it only when one of these kinds is
first built, never at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, SummarizationMiddleware
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, trim_messages
from langchain_core.runnables import Runnable, RunnableLambda
from langgraph.checkpoint.memory import InMemorySaver

from flowertui.engine import legacy
from flowertui.engine.kinds import MemorySettings, UnknownMemoryKind
from flowertui.engine.tokens import count_tokens

# The lesson's ConversationChain preamble, as the agent's system prompt: old and new kinds are told the same.
SYSTEM_PROMPT = legacy.CONVERSATION_PROMPT.template.split("\n\nCurrent conversation:")[0].strip()
SUMMARY_PREFIX = "Here is a summary of the conversation to date:\n\n"  # SummarizationMiddleware's summary message
THREAD = {"configurable": {"thread_id": "flowertui"}}  # one conversation per checkpointer


def _is_summary(message: BaseMessage) -> bool:
    """The message SummarizationMiddleware puts in place of what it summarised."""
    return message.additional_kwargs.get("lc_source") == "summarization"


class _Trim(AgentMiddleware):
    """Trims the messages of every model call with `trim_messages`; the agent's state keeps them all."""

    def __init__(self, max_tokens: int, token_counter: Callable[[list[BaseMessage]], int]) -> None:
        super().__init__()
        self.max_tokens = max_tokens
        self.token_counter = token_counter

    def trimmed(self, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
        """The earlier messages that fit, whole exchanges from a human message on, then the new message."""
        *history, latest = messages
        kept = trim_messages(history, max_tokens=self.max_tokens, token_counter=self.token_counter,
                             strategy="last", start_on="human") if history else []
        return [*kept, latest]

    def wrap_model_call(self, request, handler):
        return handler(request.override(messages=self.trimmed(request.messages)))


def _texts_counter(model: str) -> Callable[[list[BaseMessage]], int]:
    """Tokens of the messages' texts, as tiktoken counts them for `model` (the lesson's limits are tiktoken's)."""
    return lambda messages: count_tokens("\n".join(str(m.text) for m in messages), model)


def middleware_for(kind: str, summariser: BaseChatModel, settings: MemorySettings, model: str) -> AgentMiddleware:
    """The middleware that makes `kind`: the lesson's knobs read the new way."""
    if kind == "agent_window":  # the last k exchanges: 2k messages
        return _Trim(2 * settings.window_k, len)
    if kind == "agent_tokens":
        return _Trim(settings.token_buffer_limit, _texts_counter(model))
    if kind == "agent_summary":  # past the summary buffer's limit, summarise all but the last k exchanges
        return SummarizationMiddleware(summariser, trigger=("tokens", settings.summary_buffer_limit),
                                       keep=("messages", 2 * settings.window_k), token_counter=_texts_counter(model))
    raise UnknownMemoryKind(kind)


class AgentMemory:
    """One agent kind's conversation: the agent, its checkpointer's thread, and the memory calls the runner makes.

    `model` answers (the chat model, or the runner's retrying wrapper of it, whose retries are events as with
    the lesson's kinds); `summariser` (agent_summary) writes summaries: a copy of the chat model whose calls
    the runner can stop.
    """

    def __init__(self, kind: str, model: Runnable, summariser: BaseChatModel, settings: MemorySettings) -> None:
        self.kind = kind
        name = str(getattr(summariser, "model_name", None) or getattr(summariser, "model", "") or "")
        self.middleware = middleware_for(kind, summariser, settings, name)
        self.agent = create_agent(model, system_prompt=SYSTEM_PROMPT, middleware=[self.middleware],
                                  checkpointer=InMemorySaver(), name=kind)

    @property
    def messages(self) -> list[BaseMessage]:
        """The agent's state: every message it keeps for this conversation."""
        return list(self.agent.get_state(THREAD).values.get("messages", []))

    def _add(self, messages: Sequence[BaseMessage]) -> None:
        """Append to the state, as the model node would (no model call)."""
        self.agent.update_state(THREAD, {"messages": list(messages)}, as_node="model")

    def save_context(self, inputs: dict[str, str], outputs: dict[str, str]) -> None:
        """One exchange into the state, without a model call (the lesson's memories' method, for the runner)."""
        self._add([HumanMessage(content=inputs["input"]), AIMessage(content=outputs["response"])])

    def invoke(self, inputs: dict[str, str], config: dict[str, Any] | None = None) -> dict[str, str]:
        """One turn through the agent, shaped as ConversationChain's (`{"input"}` in, `{"response"}` out)."""
        result = self.agent.invoke({"messages": [HumanMessage(content=inputs["input"])]}, config={**(config or {}),
                                                                                                   **THREAD})
        return {"input": inputs["input"], "response": str(result["messages"][-1].text)}

    def prompt_for(self, user: str, callbacks: list | None = None) -> str:
        """The text the model would be sent for `user` next (compare mode counts it).

        agent_summary first does what its middleware would: past the limit it summarises, a real call
        (given `callbacks`), and the state keeps the summary.
        """
        latest = HumanMessage(content=user)
        messages = [*self.messages, latest]
        if isinstance(self.middleware, SummarizationMiddleware):
            messages = self._summarised(messages, callbacks)
        else:
            messages = self.middleware.trimmed(messages)
        return "\n".join([SYSTEM_PROMPT, *(str(m.text) for m in messages)])

    def _summarised(self, messages: list[BaseMessage], callbacks: list | None) -> list[BaseMessage]:
        middleware = self.middleware
        update = RunnableLambda(lambda state: middleware.before_model(state, None), name="SummarizationMiddleware") \
            .invoke({"messages": messages}, config={"callbacks": callbacks or []})
        if not update:
            return messages
        summarised = update["messages"]  # remove all, the summary, the messages kept (the new one last)
        self.agent.update_state(THREAD, {"messages": summarised[:-1]}, as_node="model")
        return summarised[1:]

    # saving and restoring ---------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The summary in the state (empty before the first) and how many messages it keeps besides."""
        messages = self.messages
        summary = next((str(m.text).removeprefix(SUMMARY_PREFIX) for m in messages if _is_summary(m)), "")
        return {"summary": summary, "kept_messages": sum(1 for m in messages if not _is_summary(m))}

    def restore(self, transcript: Sequence[tuple[str, str]], state: dict[str, Any] | None, limit: int) -> None:
        """The state after `transcript`: its recorded summary and the messages it kept, or every message."""
        said = [m for user, reply in transcript for m in (HumanMessage(content=user), AIMessage(content=reply))]
        if state is None or not state.get("summary"):
            messages = said
        else:
            kept = int(state.get("kept_messages", 0))
            summary = HumanMessage(content=SUMMARY_PREFIX + state["summary"][:limit],
                                   additional_kwargs={"lc_source": "summarization"})
            messages = [summary, *(said[len(said) - kept:] if kept else [])]
        if messages:
            self._add(messages)
