"""Messages from worker threads to the app (posting is thread-safe; widgets are never touched)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from collections.abc import Callable

    from flowertui.engine.assembly import Assembly
    from flowertui.engine.runner import CatchUpPlan


class EventsPending(Message):
    """Events wait in the inbox; one of these is in flight at a time, however many events arrive."""


class EngineReady(Message):
    """LangChain is imported and the conversation is built."""

    def __init__(self, live: Assembly) -> None:
        super().__init__()
        self.live = live


class EngineProblem(Message):
    """An engine operation failed; the text is safe to show."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class Notice(Message):
    """Something a worker finished (an export, a screenshot): the text is safe to show."""

    def __init__(self, text: str, title: str = "", severity: str = "information") -> None:
        super().__init__()
        self.text, self.title, self.severity = text, title, severity


class CatchUpQuestion(Message):
    """The engine waits for the user's yes or no to a costly catch-up; `answer` takes it (from any thread)."""

    def __init__(self, plan: CatchUpPlan, answer: Callable[[bool], None]) -> None:
        super().__init__()
        self.plan, self.answer = plan, answer
