"""Streams three pieces through a model of its own: "a", 300,000 "b"s, "c" (a piece far over a probe record's room)."""

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

PIECES = ["a", "b" * 300_000, "c"]


class Pieces(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "pieces"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        return ChatResult(generations=[ChatGeneration(message=AIMessage("".join(PIECES)))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        for piece in PIECES:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


print(sum(len(chunk.content) for chunk in Pieces().stream("hi")))
