"""The five memory kinds of the lesson: building them, and carrying a transcript into one."""

from __future__ import annotations

from collections.abc import Iterable

from langchain_core.language_models import BaseChatModel

from flowertui.engine import legacy
from flowertui.engine.kinds import MemorySettings, UnknownMemoryKind


def build_memory(kind: str, llm: BaseChatModel, settings: MemorySettings):
    """A fresh memory of the kind; `llm` is what summarises or counts tokens for it."""
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


def prompt_for(memory, user_input: str) -> str:
    """The exact prompt ConversationChain would send with this memory for this input."""
    history = memory.load_memory_variables({"input": user_input})["history"]
    return legacy.CONVERSATION_PROMPT.format(history=history, input=user_input)
