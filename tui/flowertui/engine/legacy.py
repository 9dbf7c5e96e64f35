"""The lesson's classes from langchain_classic, imported once with their deprecation notice filtered.

ConversationChain and the Conversation*Memory classes are deprecated but are what
the lesson teaches; we use them on purpose. The filter is installed after the
import, because importing langchain-core resets warning filters set earlier.
"""

from __future__ import annotations

import warnings

from langchain_classic.chains.conversation.base import ConversationChain
from langchain_classic.chains.conversation.prompt import PROMPT as CONVERSATION_PROMPT
from langchain_classic.memory.buffer import ConversationBufferMemory  # from their modules: see deferred.py
from langchain_classic.memory.buffer_window import ConversationBufferWindowMemory
from langchain_classic.memory.summary import ConversationSummaryMemory
from langchain_classic.memory.summary_buffer import ConversationSummaryBufferMemory
from langchain_classic.memory.token_buffer import ConversationTokenBufferMemory
from langchain_core._api.deprecation import LangChainDeprecationWarning

LESSON_CLASSES = (
    ConversationChain,
    ConversationBufferMemory,
    ConversationBufferWindowMemory,
    ConversationSummaryBufferMemory,
    ConversationSummaryMemory,
    ConversationTokenBufferMemory,
)
# The memories build an InMemoryChatMessageHistory and the chain an LLMChain inside; both warn too.
_QUIET = "|".join([*(cls.__name__ for cls in LESSON_CLASSES), "InMemoryChatMessageHistory", "LLMChain"])
warnings.filterwarnings("ignore", message=rf"The class `({_QUIET})` was deprecated", category=LangChainDeprecationWarning)

__all__ = ["CONVERSATION_PROMPT", *(cls.__name__ for cls in LESSON_CLASSES)]
