"""`flowertui run`: a scripted conversation without a screen, replies streamed to stdout."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from pathlib import Path
from typing import TextIO

from flowertui import __version__
from flowertui.config import Settings
from flowertui.engine.assembly import assemble
from flowertui.engine.bus import EventBus
from flowertui.engine.events import Event
from flowertui.engine.kinds import KINDS
from flowertui.engine.ledger import Ledger
from flowertui.engine.prices import format_cost
from flowertui.engine.runner import TurnFailed
from flowertui.session.export import atomic_write, jsonl_text

EXIT_OK, EXIT_PROVIDER, EXIT_USAGE = 0, 1, 2


class _TokenEcho:
    """Sink that streams the active reply's tokens to a text stream as they arrive."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        if event.counted_token and not event.maintenance:
            self.out.write(event.payload["token"])
            self.out.flush()


def run_script(args: Namespace, settings: Settings, turns: list[str], out: TextIO = sys.stdout) -> int:
    """Run every turn; print the replies and a ledger table, or one JSON document."""
    events: list[Event] = []
    compare = args.memory == "all"
    live = assemble(settings.provider, settings.memory, memory_kind="buffer" if compare else args.memory,
                    compare=compare, sinks=[events.append] if args.json else [events.append, _TokenEcho(out)])
    bus, ledger, conversation = live.bus, live.ledger, live.conversation
    results = []
    status = EXIT_OK
    error = None
    for user in turns:
        if not args.json:
            out.write(f"\n你 › {user}\n花店 › ")
        try:
            results.append(conversation.ask(user))
        except TurnFailed as exc:
            error, status = str(exc), EXIT_PROVIDER
            break
        if not args.json:
            out.write("\n")
    header = _header(settings, bus)
    if args.export:
        atomic_write(Path(args.export), jsonl_text(header, events), force=args.force)
    if args.json:
        document = {
            **header,
            "events": len(events),
            "turns": [{"turn": r.turn, "user": r.user, "reply": r.reply, "status": r.status} for r in results],
            "memories": ledger.summary(),
        }
        if error:
            document["error"] = error
        out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write("\n" + ledger_table(ledger) + "\n")
    if error:
        print(f"flowertui: provider error: {error}", file=sys.stderr)
    return status


def _header(settings: Settings, bus: EventBus) -> dict:
    memory = settings.memory
    return {
        "flowertui": __version__,
        "provider": settings.provider.provider,
        "model": settings.provider.model,
        "session_id": bus.session_id,
        "memory_settings": {"window_k": memory.window_k, "summary_buffer_limit": memory.summary_buffer_limit,
                            "token_buffer_limit": memory.token_buffer_limit},
    }


def ledger_table(ledger: Ledger) -> str:
    """Per memory kind: turns, last turn's prompt, totals and cost; `~` marks estimates, `?` missing usage."""
    head = f"{'memory kind':<15}{'turns':>6}{'last prompt':>13}{'prompt':>9}{'completion':>12}{'maintenance':>13}{'total':>9}  cost"
    lines = [head, "─" * (len(head) + 12)]
    summary = ledger.summary()
    for kind in [k for k in KINDS if k in summary]:
        rows = ledger.turns(kind)
        if not rows:
            continue
        mark = ("~" if any(r.estimated for r in rows) else "") + ("?" if any(r.usage_missing or r.maintenance_usage_missing for r in rows) else "")
        prompt = sum(r.prompt_tokens for r in rows)
        completion = sum(r.completion_tokens for r in rows)
        maintenance = sum(r.maintenance_tokens for r in rows)
        total = summary[kind]["total_tokens"]
        cost = format_cost(summary[kind]["cost"], summary[kind]["currency"])
        lines.append(f"{kind:<15}{len(rows):>6}{rows[-1].prompt_tokens:>13}{prompt:>9}{completion:>12}{maintenance:>13}{total:>9}{mark:<2}{cost}")
    lines.append("~ prompt counted with tiktoken for a kind that was not sent (compare mode)   ? provider sent no usage: tiktoken estimate")
    return "\n".join(lines)
