"""Fault table: inject every provider fault of the test suite and count what survived and what was lost.

    python bench/fault_bench.py

Each fault is served by the loopback fault server to a real session (engine,
recorder, session store). "Survived" means the failure stayed inside its turn:
a clear message or a correct reply, nothing of it in memory, and the next turn
answered. Events lost = events emitted − events stored in the database.
Prints a Markdown table for docs/RELIABILITY.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_fault(fault, folder: Path) -> tuple[str, int, int, float]:
    from flowertui.engine.assembly import assemble
    from flowertui.engine.kinds import MemorySettings
    from flowertui.engine.ledger import Ledger
    from flowertui.engine.prices import load_prices
    from flowertui.engine.runner import TurnFailed
    from flowertui.session.store import SessionStore, SessionWriter
    from tests.support.faults import provider, serving
    from tests.support.openai_server import Reply

    database = folder / f"{abs(hash(fault.name))}.sqlite3"
    emitted: list[int] = []
    with serving(fault, Reply()) as (server, url):
        ledger = Ledger(load_prices())
        writer = SessionWriter(database, ledger)
        live = assemble(provider(url, fault), MemorySettings(), sinks=[writer, lambda e: emitted.append(e.seq)],
                        ledger=ledger)
        started = time.perf_counter()
        outcome = "reply"
        try:
            live.conversation.ask("我姐姐明天过生日，推荐什么花？")
        except TurnFailed as exc:
            outcome = f"error: {str(exc)[:60]}"
        took = time.perf_counter() - started
        clean_memory = fault.fails == (live.conversation.transcript == [])
        next_turn = server is None or live.conversation.ask("Any other ideas?").status == "done"
        writer.close()
    store = SessionStore(database)
    stored = len(store.events(live.bus.session_id))
    store.close()
    survived = "yes" if clean_memory and next_turn else "NO"
    return f"{outcome} · survived: {survived}", len(emitted), len(emitted) - stored, took


def main() -> None:
    from tests.support.faults import FAULTS

    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("FLOWERTUI_CACHE_DIR", str(Path(folder) / "cache"))
        print("| fault injected | what the user gets | survived | events | lost | turn time |")
        print("| --- | --- | --- | ---: | ---: | ---: |")
        survived = lost_total = 0
        for fault in FAULTS:
            outcome, events, lost, took = run_fault(fault, Path(folder))
            said, ok = outcome.split(" · survived: ")
            survived += ok == "yes"
            lost_total += lost
            print(f"| {fault.name} | {said.replace('|', '/')} | {ok} | {events} | {lost} | {took:.2f} s |")
        print(f"\n{len(FAULTS)} faults injected, {survived} survived, {lost_total} events lost.")


if __name__ == "__main__":
    main()
