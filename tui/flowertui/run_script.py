"""`flowertui run`: a scripted conversation without a screen, replies streamed to stdout."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from flowertui.config import Settings
from flowertui.engine.assembly import assemble
from flowertui.engine.events import Event
from flowertui.engine.ledger import LEGEND, Ledger
from flowertui.engine.prices import configured_prices, format_cost
from flowertui.engine.runner import TurnFailed, TurnResult
from flowertui.paths import data_dir
from flowertui.session.export import atomic_write, to_jsonl
from flowertui.session.model import SessionData
from flowertui.session.store import DB_NAME, SessionWriter

EXIT_OK, EXIT_PROVIDER, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class RunOptions:
    """What `flowertui run` does besides talking: the memory it starts with, and what it writes."""

    memory_kind: str = "buffer"
    compare: bool = False
    json: bool = False
    export: Path | None = None
    force: bool = False


class _Echo:
    """Streams the conversation to a text stream: each user line, then the active reply's tokens as they arrive.

    A reader that goes away (`flowertui run … | head`) is noted, not raised inside LangChain's
    callbacks; the run stops before its next turn.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.gone = False

    def write(self, text: str) -> None:
        if self.gone:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            self.gone = True

    def __call__(self, event: Event) -> None:
        if event.counted_token and not event.maintenance:
            self.write(event.payload.token)


def run_script(settings: Settings, options: RunOptions, turns: list[str], out: TextIO = sys.stdout) -> int:
    """Run every turn, recording the session; print the replies and a ledger table, or one JSON document."""
    events: list[Event] = []
    ledger = Ledger(configured_prices())  # the session's one ledger: the table, the JSON and the store read it
    writer = SessionWriter(data_dir() / DB_NAME, ledger, on_error=lambda text: print(f"flowertui: {text}", file=sys.stderr))
    echo = None if options.json else _Echo(out)
    sinks = [events.append, writer] + ([echo] if echo else [])
    try:
        live = assemble(settings.provider, settings.memory, memory_kind=options.memory_kind, compare=options.compare,
                        sinks=sinks, ledger=ledger)
        results, error = _play(live.conversation, turns, echo)
    finally:
        writer.close()
    data = SessionData.of(events)
    if options.export:
        atomic_write(options.export, to_jsonl(data), force=options.force)
    if options.json:
        document = {
            **data.header,
            "events": len(events),
            "turns": [{"turn": r.turn, "user": r.user, "reply": r.reply, "status": r.status} for r in results],
            "memories": {kind.totals.kind: kind.to_dict(ledger.prices) for kind in ledger.rows()},
            "total_tokens": ledger.total().tokens,
        }
        if error:
            document["error"] = error
        out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write("\n" + ledger_table(ledger) + "\n")
    if error:
        print(f"flowertui: provider error: {error}", file=sys.stderr)
        return EXIT_PROVIDER
    return EXIT_USAGE if writer.error else EXIT_OK  # the run worked but its record is incomplete


def _play(conversation, turns: list[str], echo: _Echo | None) -> tuple[list[TurnResult], str | None]:
    """Ask each turn in order; stop at the first provider failure (returning its message), or when
    nobody reads the echo any more."""
    results = []
    for user in turns:
        if echo:
            echo.write(f"\n你 › {user}\n花店 › ")
            if echo.gone:
                break
        try:
            results.append(conversation.ask(user))
        except TurnFailed as exc:
            return results, str(exc)
        if echo:
            echo.write("\n")
    return results, None


def ledger_table(ledger: Ledger) -> str:
    """Per memory kind, the ledger's figures: the turns Σ counts, last turn's prompt, totals and cost."""
    head = (f"{'memory kind':<15}{'Σ turns':>12}{'last prompt':>13}{'prompt':>9}{'completion':>12}"
            f"{'maintenance':>13}{'total':>9}  cost")
    lines = [head, "─" * (len(head) + 12)]
    for t in [kind.totals for kind in ledger.rows() if kind.totals.coverage]:
        last = "—" if t.last is None or not t.last.counted else str(t.last.prompt_tokens)
        lines.append(f"{t.kind:<15}{t.coverage:>12}{last:>13}{t.prompt_tokens:>9}{t.completion_tokens:>12}"
                     f"{t.maintenance_tokens:>13}{t.total_tokens:>9}{t.marks:<2}{format_cost(t.cost, t.currency)}")
    lines.append(LEGEND)
    return "\n".join(lines)
