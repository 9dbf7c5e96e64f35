"""Small builders shared by tests: a conversation on the offline assistant with its events collected."""

from __future__ import annotations

from dataclasses import dataclass, field

from flowertui.engine.bus import EventBus
from flowertui.engine.events import Event
from flowertui.engine.ledger import Ledger
from flowertui.engine.memory import MemorySettings
from flowertui.engine.prices import load_prices
from flowertui.engine.providers import ProviderSettings, build_chat_model
from flowertui.engine.runner import Conversation
from flowertui.engine.sanitize import Redactor

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


def offline_rig(memory: str = "buffer", *, compare: bool = False, secrets: tuple[str, ...] = (),
                provider: ProviderSettings | None = None) -> Rig:
    bus = EventBus(redactor=Redactor(secrets))
    ledger = Ledger(load_prices())
    rig = Rig(None, bus, ledger)  # type: ignore[arg-type]
    bus.subscribe(rig.events.append)
    bus.subscribe(ledger)
    model = build_chat_model(provider or ProviderSettings(speed=0))
    rig.conversation = Conversation(model, bus, memory_kind=memory, settings=MemorySettings(), compare=compare)
    return rig
