"""From the engine thread to the UI: queue events, wake the app once per batch.

The sink runs on whatever thread LangChain calls back on. It only appends to a
deque and, if no wake-up is pending, posts one message; the app drains every
queued event in one go, so a fast stream costs one UI update per batch, not per
token, and nothing is lost or reordered.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

from textual.message_pump import MessagePump

from flowertui.app.messages import EventsPending

if TYPE_CHECKING:  # the events' module is imported after the first frame (docs/PERFORMANCE.md)
    from flowertui.engine.events import Event


class EventInbox:
    def __init__(self, target: MessagePump) -> None:
        self._target = target
        self._queue: deque[Event] = deque()
        self._lock = threading.Lock()
        self._posted = False

    def __call__(self, event: Event) -> None:
        self._queue.append(event)
        with self._lock:
            if self._posted:
                return
            self._posted = True
        self._target.post_message(EventsPending())

    @property
    def pending(self) -> int:
        """How many events wait to be drawn (tests wait for 0)."""
        return len(self._queue)

    def drain(self) -> list[Event]:
        """Everything queued so far, in order; later events post a new wake-up."""
        with self._lock:
            self._posted = False
        batch = []
        while self._queue:
            batch.append(self._queue.popleft())
        return batch
