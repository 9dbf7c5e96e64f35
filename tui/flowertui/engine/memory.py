"""The memory kinds: building them, carrying a transcript into one, saving and restoring one.

The lesson's five are langchain_classic memories; the agent kinds are AgentMemory (engine/agent_memory.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from flowertui.engine import legacy
from flowertui.engine.kinds import AGENT_KINDS, SAVED, SUMMARISING, MemorySettings, UnknownMemoryKind

SUMMARY_LIMIT = 20_000  # characters of a summary kept in a memory_state event (a summary is far shorter)


def build_memory(kind: str, llm: BaseChatModel, settings: MemorySettings, model: Any = None):
    """A fresh memory of the kind; `llm` is what summarises or counts tokens for it. An agent kind also
    answers, with `model` (default `llm`): it is its own chain."""
    if kind in AGENT_KINDS:
        from flowertui.engine.agent_memory import AgentMemory  # langchain.agents: only once a new kind is used

        return AgentMemory(kind, model or llm, llm, settings)
    if kind == "buffer":
        return legacy.ConversationBufferMemory()
    if kind == "window":
        return legacy.ConversationBufferWindowMemory(k=settings.window_k)
    if kind == "summary":
        return legacy.ConversationSummaryMemory(llm=llm)
    if kind == "summary_buffer":
        return legacy.ConversationSummaryBufferMemory(llm=llm, max_token_limit=settings.summary_buffer_limit)
    if kind == "token_buffer":
        return legacy.ConversationTokenBufferMemory(llm=llm, max_token_limit=settings.token_buffer_limit)
    raise UnknownMemoryKind(kind)


def carry_over(memory, transcript: Iterable[tuple[str, str]]) -> None:
    """Feed earlier turns into a memory, as if it had been there all along (summaries are real calls)."""
    for user, reply in transcript:
        memory.save_context({"input": user}, {"response": reply})


def prompt_for(memory, user_input: str, callbacks: list | None = None) -> str:
    """The exact prompt ConversationChain would send with this memory for this input (an agent kind: the
    messages its model would be sent, after its middleware, whose summariser calls get `callbacks`)."""
    if hasattr(memory, "agent"):
        return memory.prompt_for(user_input, callbacks)
    history = memory.load_memory_variables({"input": user_input})["history"]
    return legacy.CONVERSATION_PROMPT.format(history=history, input=user_input)


def state_of(kind: str, memory) -> dict[str, Any] | None:
    """What a summarising memory holds beyond the transcript it read: its summary and, for summary_buffer,
    how many of the latest messages it keeps word for word. Other kinds are rebuilt from the transcript free."""
    if kind == "summary":
        return {"summary": memory.buffer}
    if kind == "summary_buffer":
        return {"summary": memory.moving_summary_buffer, "kept_messages": len(memory.chat_memory.messages)}
    if kind == "agent_summary":
        return memory.state()
    return None


def valid_state(kind: str, state: Any, turns: int) -> bool:
    """Whether a recorded state (read from a database or a file) can stand for `turns` turns of this kind."""
    if kind not in SAVED or not isinstance(state, dict) or not isinstance(state.get("summary"), str):
        return False
    kept = state.get("kept_messages", 0)
    return kind == "summary" or (isinstance(kept, int) and not isinstance(kept, bool) and 0 <= kept <= 2 * turns)


def restore(kind: str, memory, transcript: Sequence[tuple[str, str]], state: dict[str, Any] | None) -> None:
    """Make a fresh memory what it was after reading `transcript`, without a model call.

    Summarising kinds take the recorded summary (and summary_buffer and agent_summary their kept messages);
    the others re-read the transcript, which costs nothing.
    """
    if kind == "agent_summary":
        memory.restore(transcript, state, SUMMARY_LIMIT)
        return
    if kind not in SUMMARISING:
        carry_over(memory, transcript)
        return
    if state is None:  # a summarising memory that has read nothing yet
        return
    messages = _messages(transcript)
    if kind == "summary":
        memory.buffer = state["summary"][:SUMMARY_LIMIT]
    else:
        memory.moving_summary_buffer = state["summary"][:SUMMARY_LIMIT]
        kept = int(state.get("kept_messages", 0))
        messages = messages[len(messages) - kept:] if kept else []
    memory.chat_memory.add_messages(messages)


def _messages(transcript: Iterable[tuple[str, str]]) -> list[BaseMessage]:
    """The messages save_context would have added for these turns."""
    return [message for user, reply in transcript for message in (HumanMessage(content=user), AIMessage(content=reply))]


def catch_up_estimate(kind: str, transcript: Sequence[tuple[str, str]], start: int, settings: MemorySettings,
                      model: str) -> tuple[int, int]:
    """≈ input and output tokens the summariser of `kind` spends reading transcript[start:] (no call made).

    Each summarised turn sends the summary prompt, the summary so far and the turn; the summary is taken
    to grow by half of what it reads, up to a few hundred tokens. summary_buffer summarises only what falls
    out of its token window.
    """
    from langchain_classic.memory.prompt import SUMMARY_PROMPT

    from flowertui.engine.tokens import count_tokens

    if kind not in SUMMARISING:
        return 0, 0
    sizes = [count_tokens(f"Human: {user}\nAI: {reply}", model) for user, reply in transcript]
    if kind == "summary_buffer":  # the turns still inside the window at the end are never summarised
        inside, window = 0, len(sizes)
        while window > 0 and inside + sizes[window - 1] <= settings.summary_buffer_limit:
            window -= 1
            inside += sizes[window]
        read = range(start, min(window, len(sizes))) if window > start else range(0)
    else:
        read = range(start, len(sizes))
    template, summary, sent, written = count_tokens(SUMMARY_PROMPT.template, model), 0, 0, 0
    for index in read:
        sent += template + summary + sizes[index]
        summary = min(summary + sizes[index] // 2, 400)
        written += summary
    return sent, written
