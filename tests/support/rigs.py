"""Small builders shared by tests: a conversation on the offline assistant with its events collected."""

from __future__ import annotations

from dataclasses import dataclass, field

from flowertui.engine.assembly import assemble
from flowertui.engine.bus import EventBus
from flowertui.engine.events import Event
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.ledger import Ledger
from flowertui.engine.providers import ProviderSettings
from flowertui.engine.runner import Conversation

LESSON = [
    "我姐姐明天要过生日，我需要一束生日花束。",
    "她喜欢粉色玫瑰，颜色是粉色的。",
    "我又来了，还记得我昨天为什么要来买花吗？",
]


@dataclass
class Rig:
    conversation: Conversation
    bus: EventBus
    ledger: Ledger
    events: list[Event] = field(default_factory=list)

    def kinds(self, *kinds: str) -> list[Event]:
        return [e for e in self.events if e.kind in kinds]

    def cancel_on_token(self, n: int) -> None:
        """From now on, cancel a turn when its n-th counted token arrives (on the engine's own thread)."""
        def cancel(event: Event) -> None:
            if event.counted_token and sum(e.counted_token for e in self.events if e.turn == event.turn) == n:
                self.conversation.cancel()

        self.bus.subscribe(cancel)


def summary_text(memory) -> str | None:
    """What a summarising memory currently holds as its summary (None for other kinds)."""
    from flowertui.engine import legacy

    if isinstance(memory, legacy.ConversationSummaryMemory):
        return memory.buffer
    if isinstance(memory, legacy.ConversationSummaryBufferMemory):
        return memory.moving_summary_buffer
    return None


def offline_rig(memory: str = "buffer", *, compare: bool = False, provider: ProviderSettings | None = None) -> Rig:
    """A conversation (offline assistant, unpaced, unless another provider is given) and its events."""
    events: list[Event] = []
    live = assemble(provider or ProviderSettings(speed=0), MemorySettings(), memory_kind=memory, compare=compare,
                    sinks=[events.append])
    return Rig(live.conversation, live.bus, live.ledger, events)


def record_session(turns: list[str], memory: str = "buffer", *, compare: bool = False,
                   provider: ProviderSettings | None = None):
    """Run turns on the offline assistant with the session writer attached; returns (rig, writer path)."""
    from flowertui.engine.prices import load_prices
    from flowertui.paths import data_dir
    from flowertui.session.store import DB_NAME, SessionWriter

    path = data_dir() / DB_NAME
    ledger = Ledger(load_prices())
    writer = SessionWriter(path, ledger)
    events: list[Event] = []
    live = assemble(provider or ProviderSettings(speed=0), MemorySettings(), memory_kind=memory, compare=compare,
                    sinks=[events.append, writer], ledger=ledger)
    rig = Rig(live.conversation, live.bus, live.ledger, events)
    try:
        for user in turns:
            rig.conversation.ask(user)
    finally:
        writer.close()
    return rig, path
