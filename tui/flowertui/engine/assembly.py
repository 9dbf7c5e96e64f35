"""Wiring one live session: bus, ledger and conversation for given settings.

The headless runner and the TUI both start a session this way, so they record
and count identically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from flowertui import __version__
from flowertui.engine.bus import EventBus, Sink
from flowertui.engine.events import ChatSessionStart
from flowertui.engine.ledger import Ledger
from flowertui.engine.prices import PriceBook, configured_prices
from flowertui.engine.providers import ProviderSettings, build_chat_model
from flowertui.engine.resume import Resume
from flowertui.engine.kinds import MemorySettings
from flowertui.engine.runner import Conversation
from flowertui.engine.sanitize import Redactor


@dataclass
class Assembly:
    bus: EventBus
    ledger: Ledger
    conversation: Conversation


def assemble(
    provider: ProviderSettings,
    memory: MemorySettings,
    *,
    sinks: Iterable[Sink] = (),
    session_id: str | None = None,
    memory_kind: str = "buffer",
    compare: bool = False,
    resume: Resume | None = None,
    prices: PriceBook | None = None,
    ledger: Ledger | None = None,
) -> Assembly:
    """Build the model and conversation; sinks see every event, after the ledger.

    `resume` continues a recorded session: its transcript and its event and turn numbers.
    `ledger` is the session's ledger when the caller already holds it (rebuilt from a resumed
    session's events); otherwise a new one is made. Either way it is the session's only ledger.
    """
    resume = resume or Resume()
    bus = EventBus(session_id, redactor=Redactor([provider.api_key or ""]), seq=resume.last_seq, turn=resume.last_turn)
    if ledger is None:
        ledger = Ledger(configured_prices() if prices is None else prices)
    bus.subscribe(ledger)
    for sink in sinks:
        bus.subscribe(sink)
    conversation = Conversation(build_chat_model(provider), bus, memory_kind=memory_kind, settings=memory,
                                compare=compare, transcript=resume.transcript,
                                memory_states=resume.memory_states,
                                retries=0 if provider.provider == "offline" else provider.max_retries, ledger=ledger)
    bus.emit(ChatSessionStart(
        flowertui=__version__,
        provider=provider.provider,
        model=conversation.model_name,
        base_url=bus.redact(provider.base_url) if provider.base_url else None,
        api_key_used=bool(provider.api_key),
        memory_kind=memory_kind,
        compare=compare,
        memory_settings=asdict(memory),
        resumed=bool(resume.last_seq),
    ), name="session", scope="app")
    return Assembly(bus, ledger, conversation)
