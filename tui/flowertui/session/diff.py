"""`flowertui diff A B`: two recorded parts of sessions side by side, aligned by turn and by run tree.

A side is a whole session, one turn (a traced program's run, `ID:3`) or one memory kind of a chat (`ID:window`).
Every number comes from the session's ledger (`Spend`); this module only picks the parts, aligns them and takes
differences. The app's diff screen and the text table both render a `Diff`. No Textual import.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowertui.engine.events import Event, SessionKind
from flowertui.engine.prices import PriceBook
from flowertui.engine.session_kinds import ledger_of
from flowertui.engine.session_ledger import Spend
from flowertui.session.model import SessionData, Turn
from flowertui.session.replay import load_session

OUTPUT_LIMIT = 4_000  # characters of a row's output text kept for the word diff; the rest is counted
# LangChain's run and message ids (UUIDs) differ on every run: masked in outputs, so they never read as a change
_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MEASURES = ("tokens", "cost", "latency_ms")


class DiffError(ValueError):
    """Bad input (an unknown session, run or memory kind, a bad percentage): one line, exit 2."""


@dataclass(frozen=True)
class Unit:
    """One row of one side: a turn (a program's run), a catch-up, or a run in a traced run tree."""

    key: tuple  # what aligns it with the other side's unit
    label: str
    kind: str  # turn | catch_up | run
    depth: int  # 0 for turns and catch-ups; a run in a tree is 1 + its depth under the turn
    spend: Spend
    output: str | None  # the reply, exit state or run output (None: nothing was produced, e.g. not sent)
    output_cut: int = 0  # characters of output past OUTPUT_LIMIT, not kept
    run_type: str | None = None
    status: str | None = None
    note: str | None = None  # why the output is missing, or what the numbers are


@dataclass(frozen=True)
class Side:
    ref: str  # as given on the command line
    session_id: str
    session_kind: str
    part: str  # "session", "turn 3", "run 3", "memory window"
    label: str
    spend: Spend
    units: tuple[Unit, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "session_id": self.session_id, "session_kind": self.session_kind, "part": self.part,
                "label": self.label}


@dataclass(frozen=True)
class Row:
    """Two aligned units; one side is None when the other has no counterpart."""

    a: Unit | None
    b: Unit | None

    @property
    def unit(self) -> Unit:
        return self.a or self.b  # type: ignore[return-value]

    @property
    def label(self) -> str:
        """The unit's label, or both when they differ (`turn 3 ↔ turn 5`, `run 1 ↔ run 2`)."""
        if self.a is not None and self.b is not None and self.a.label != self.b.label:
            return f"{self.a.label} ↔ {self.b.label}"
        return self.unit.label

    @property
    def matched(self) -> bool:
        return self.a is not None and self.b is not None

    @property
    def changed(self) -> bool:
        """The numbers (tokens, cost) or the output differ, or one side is missing."""
        if not self.matched:
            return True
        delta = deltas(self.a.spend, self.b.spend)
        return bool(delta["tokens"]) or bool(delta["cost"]) or self.a.output != self.b.output

    def word_diff(self) -> list[tuple[str, str]]:
        return word_diff(self.a.output if self.a else None, self.b.output if self.b else None)

    def to_dict(self) -> dict[str, Any]:
        unit = self.unit
        out: dict[str, Any] = {"key": "/".join(str(part) for part in unit.key), "label": self.label,
                               "kind": unit.kind, "depth": unit.depth,
                               "a": _unit_dict(self.a), "b": _unit_dict(self.b),
                               "unmatched": None if self.matched else ("a" if self.a else "b")}
        if self.matched:
            out["delta"] = deltas(self.a.spend, self.b.spend)
            out["delta_pct"] = delta_pcts(self.a.spend, self.b.spend)
            out["output_diff"] = [[op, text] for op, text in self.word_diff()]
        return out


@dataclass(frozen=True)
class Diff:
    a: Side
    b: Side
    rows: tuple[Row, ...] = field(default=())

    def unmatched(self, side: str) -> list[Unit]:
        return [row.unit for row in self.rows if not row.matched and (row.a if side == "a" else row.b)]

    def to_dict(self) -> dict[str, Any]:
        """The `diff --json` document."""
        return {
            "a": self.a.to_dict(), "b": self.b.to_dict(),
            "totals": {"a": figures(self.a.spend), "b": figures(self.b.spend),
                       "delta": deltas(self.a.spend, self.b.spend),
                       "delta_pct": delta_pcts(self.a.spend, self.b.spend)},
            "rows": [row.to_dict() for row in self.rows],
            "unmatched": {side: [unit.label for unit in self.unmatched(side)] for side in ("a", "b")},
        }


# figures ------------------------------------------------------------------------


def latency_ms(spend: Spend) -> int | None:
    return None if spend.seconds is None else round(spend.seconds * 1000)


def figures(spend: Spend) -> dict[str, Any]:
    """One side's numbers as `--json` gives them."""
    return {"tokens": spend.total_tokens, "prompt_tokens": spend.prompt_tokens,
            "completion_tokens": spend.completion_tokens, "maintenance_tokens": spend.maintenance_tokens,
            "cost": spend.cost, "currency": spend.currency, "latency_ms": latency_ms(spend),
            "estimated": spend.estimated, "usage_missing": spend.usage_missing}


def _measures(spend: Spend) -> dict[str, float | None]:
    return {"tokens": spend.total_tokens, "cost": spend.cost, "latency_ms": latency_ms(spend)}


def _comparable_cost(a: Spend, b: Spend) -> bool:
    """Costs can be subtracted: both known, in one currency (a free side has none)."""
    return a.cost is not None and b.cost is not None and (
        a.currency == b.currency or not a.currency or not b.currency)


def deltas(a: Spend, b: Spend) -> dict[str, float | int | None]:
    """B minus A; None where either side's figure is unknown (or the costs are in two currencies)."""
    ma, mb = _measures(a), _measures(b)
    out = {name: None if ma[name] is None or mb[name] is None else mb[name] - ma[name] for name in MEASURES}
    if not _comparable_cost(a, b):
        out["cost"] = None
    return out


def delta_pcts(a: Spend, b: Spend) -> dict[str, float | None]:
    """B's change over A in percent; None where unknown or where A is 0 (no base to take a percentage of)."""
    ma, delta = _measures(a), deltas(a, b)
    return {name: None if delta[name] is None or not ma[name] else round(100 * delta[name] / ma[name], 2)
            for name in MEASURES}


# --fail-over --------------------------------------------------------------------


def parse_pct(text: str) -> float:
    """`5%`, `5`, `2.5%` → 5.0, 5.0, 2.5; DiffError otherwise."""
    value = text.strip().removesuffix("%").strip()
    try:
        pct = float(value)
    except ValueError:
        pct = math.nan
    if not math.isfinite(pct) or pct < 0 or not value:
        raise DiffError(f"--fail-over takes a percentage of 0 or more, like 5% or 5, not {text!r}")
    return pct


@dataclass(frozen=True)
class Verdict:
    over: bool
    line: str


def fail_over(diff: Diff, pct: float, on: str = "tokens") -> Verdict:
    """Whether B spends more than A by over `pct` percent, in tokens or cost; DiffError when cost cannot tell."""
    a, b = diff.a.spend, diff.b.spend
    if on == "cost":
        for name, side in (("A", diff.a), ("B", diff.b)):
            if side.spend.cost is None:
                raise DiffError(f"--on cost: {name} ({side.ref}) has no price (a model missing from the price "
                                "table); compare tokens instead")
        if not _comparable_cost(a, b):
            raise DiffError(f"--on cost: A is priced in {a.currency} and B in {b.currency}; compare tokens instead")
        before, after = a.cost, b.cost
        unit = a.currency or b.currency or ""
        shown = lambda value: f"{value:.6g} {unit}".strip()  # noqa: E731
        what = "cost"
    else:
        before, after, what = a.total_tokens, b.total_tokens, "tokens"
        shown = str
    grew = after - before
    change = 100 * grew / before if before else (math.inf if grew > 0 else 0.0)
    over = change > pct
    if grew == 0:
        head = f"B spends the same {what} as A ({shown(before)})"
    else:
        said = "infinitely" if math.isinf(change) else f"{abs(change):.1f}%"
        fewer = "fewer" if what == "tokens" else "less"
        head = (f"B spends {said} {'more' if grew > 0 else fewer} {what} than A "
                f"({shown(before)} → {shown(after)})")
    if over:
        return Verdict(True, f"flowertui diff: {head}, over the {pct:g}% allowed")
    return Verdict(False, f"flowertui diff: {head}, within {pct:g}%")


# word diff ----------------------------------------------------------------------

# CJK characters one by one (Chinese has no spaces between words), other words whole, runs of space, any other mark
_WORDS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+|\s+|.",
                    re.S)


def words(text: str) -> list[str]:
    return _WORDS.findall(text)


def word_diff(a: str | None, b: str | None) -> list[tuple[str, str]]:
    """(op, text) pieces from A's text to B's: `=` both, `-` only A, `+` only B; neighbours of one op joined."""
    wa, wb = words(a or ""), words(b or "")
    pieces: list[tuple[str, str]] = []

    def add(op: str, items: Iterable[str]) -> None:
        text = "".join(items)
        if not text:
            return
        if pieces and pieces[-1][0] == op:
            pieces[-1] = (op, pieces[-1][1] + text)
        else:
            pieces.append((op, text))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        if tag == "equal":
            add("=", wa[i1:i2])
        else:
            add("-", wa[i1:i2])
            add("+", wb[j1:j2])
    return pieces


# sides --------------------------------------------------------------------------


def split_ref(ref: str) -> tuple[str, str | None]:
    """`ID`, `ID:3`, `ID:window`, `file.jsonl:2` → (session, part or None). An existing file is a session whole."""
    if ":" not in ref or Path(ref).is_file():
        return ref, None
    session, part = ref.rsplit(":", 1)
    if not session or not part:
        raise DiffError(f"{ref!r}: write a session (an id, latest or a .jsonl export), then optionally :N for "
                        "one turn or run, or :KIND for one memory kind")
    return session, part


def load_side(ref: str, database: Path, prices: PriceBook) -> Side:
    session, part = split_ref(ref)
    try:
        data = load_session(session, database)
    except (OSError, RuntimeError, ValueError) as exc:
        raise DiffError(str(exc)) from exc
    if not data.events:
        raise DiffError(f"{ref}: the session has no events")
    ledger = ledger_of(data.kind, data.events, prices)
    session_id = str(data.header.get("session_id") or data.events[0].session_id)
    turns = data.turns()
    kind = data.kind
    outputs = _run_outputs(data.events) if kind == SessionKind.TRACE else {}
    word = "run" if kind == SessionKind.TRACE else "turn"
    if part is None:
        units = _chat_units(data, ledger, turns) if kind == SessionKind.CHAT else _trace_units(ledger, turns, outputs)
        return Side(ref, session_id, kind.value, "session", _label(data, session_id, "session"), ledger.spend(),
                    tuple(units))
    if part.isdigit():
        turn = next((t for t in turns if t.number == int(part)), None)
        if turn is None:
            have = ", ".join(str(t.number) for t in turns) or "none"
            raise DiffError(f"session {session_id} has no {word} {part} (its {word}s: {have})")
        units = (_chat_units(data, ledger, [turn], catch_ups=False) if kind == SessionKind.CHAT
                 else _trace_units(ledger, [turn], outputs))
        return Side(ref, session_id, kind.value, f"{word} {part}", _label(data, session_id, f"{word} {part}"),
                    ledger.turn_spend(turn.number), tuple(units))
    if kind != SessionKind.CHAT:
        raise DiffError(f"session {session_id} is a traced program's: it has runs, not memory kinds "
                        f"(write {session}:N for run N)")
    if part not in ledger.kinds():
        raise DiffError(f"session {session_id} has no memory kind {part!r} (it has: {', '.join(ledger.kinds())})")
    return Side(ref, session_id, kind.value, f"memory {part}", _label(data, session_id, f"memory {part}"),
                ledger.totals(part).spend(), tuple(_kind_units(ledger, turns, part)))


def _label(data: SessionData, session_id: str, part: str) -> str:
    header = data.header
    if data.kind == SessionKind.TRACE:
        from flowertui.trace.naming import traced_name

        what = traced_name(str(header.get("command") or ""))
    else:
        what = f"{header.get('provider')}/{header.get('model')}"
    return f"{session_id[:8]} {what} · {part}"


def _bounded(text: str | None) -> tuple[str | None, int]:
    if text is None or len(text) <= OUTPUT_LIMIT:
        return text, 0
    return text[:OUTPUT_LIMIT], len(text) - OUTPUT_LIMIT


def _turn_unit(position: int, turn: Turn, spend: Spend, output: str | None, *, note: str | None = None,
               word: str = "turn") -> Unit:
    text, cut = _bounded(output)
    label = f"{word} {turn.number}" + (f" ({turn.status})" if turn.status not in ("done", "running") else "")
    return Unit(("turn", position), label, "turn", 0, spend, text, cut, status=turn.status, note=note)


def _chat_units(data: SessionData, ledger, turns: list[Turn], catch_ups: bool = True) -> list[Unit]:
    """Every kind's rows added per turn (what the session counts), then each catch-up after the turn it followed."""
    units = []
    for position, turn in enumerate(turns, 1):
        units.append(_turn_unit(position, turn, ledger.turn_spend(turn.number), turn.reply))
        if catch_ups:
            units += _catch_up_units(ledger, position, turn.number, ledger.kinds())
    return units


def _catch_up_units(ledger, position: int, turn: int, kinds: Iterable[str]) -> list[Unit]:
    units = []
    for kind in kinds:
        for nth, catch_up in enumerate(c for c in ledger.catch_ups.get(kind, ()) if c.after_turn == turn):
            units.append(Unit(("catch_up", position, kind, nth), f"↻ {kind} catch-up ({catch_up.turns} turns)",
                              "catch_up", 0, catch_up.spend(ledger.prices), None,
                              note="the summariser read earlier turns when this memory started"))
    return units


def _kind_units(ledger, turns: list[Turn], kind: str) -> list[Unit]:
    """One memory kind's turn rows; the reply only where this kind's prompt was the one sent."""
    rows = {row.turn: row for row in ledger.turns(kind)}
    units = []
    for position, turn in enumerate(turns, 1):
        row = rows.get(turn.number)
        if row is not None:
            sent = row.sent
            note = None if sent else f"not sent: compare mode estimated what {kind} would have cost"
            units.append(_turn_unit(position, turn, row.spend(ledger.prices), turn.reply if sent else None, note=note))
        units += _catch_up_units(ledger, position, turn.number, [kind])
    return units


def _trace_units(ledger, turns: list[Turn], outputs: dict[str, str]) -> list[Unit]:
    """Each run of the program, then its run tree: a run is matched by its path of run types and names from its
    top-level run, and by order among runs of the same path."""
    tree = ledger.run_tree()
    children: dict[str | None, list] = {}
    known = {node.run_id for node in tree}
    for node in tree:
        parent = node.parent_run_id if node.parent_run_id in known else None
        children.setdefault(parent, []).append(node)
    units = []
    for position, turn in enumerate(turns, 1):
        reply = turn.reply or None
        units.append(_turn_unit(position, turn, ledger.turn_spend(turn.number), reply, word="run"))

        def walk(nodes, path: tuple, depth: int) -> None:
            seen: dict[tuple[str, str], int] = {}
            for node in nodes:
                name = (node.run_type, node.name)
                nth = seen[name] = seen.get(name, -1) + 1
                here = (*path, f"{node.run_type}:{node.name}#{nth}")
                text, cut = _bounded(outputs.get(node.run_id))
                label = node.name + (f" #{nth + 1}" if nth else "")
                units.append(Unit(("turn", position, *here), label, "run", depth, node.spend(ledger.prices), text, cut,
                                  run_type=node.run_type, status=node.status))
                walk(children.get(node.run_id, []), here, depth + 1)

        walk([node for node in children.get(None, []) if node.turn == turn.number], (), 1)
    return units


def _run_outputs(events: list[Event]) -> dict[str, str]:
    """What each run of a traced program produced, read from its end (or error) event."""
    found = {}
    for event in events:
        if event.run_id is None or not event.kind.endswith(("_end", "_error")):
            continue
        p = event.payload
        if event.kind.endswith("_error"):
            text = getattr(p, "error", None)
        elif event.kind == "llm_end":
            calls = "".join(f"\n→ {call.name}({call.arguments})" for call in p.tool_calls or ())
            text = (p.text or "") + calls
        elif event.kind == "chain_end":
            outputs = p.outputs or {}
            text = next(iter(outputs.values())) if len(outputs) == 1 else "\n".join(
                f"{name}: {value}" for name, value in outputs.items())
        elif event.kind == "tool_end":
            text = p.output
        elif event.kind == "retriever_end":
            text = f"{p.documents} documents"
        else:
            continue
        found[event.run_id] = _IDS.sub("…", str(text if text is not None else ""))
    return found


# the diff -----------------------------------------------------------------------


def align(a: Iterable[Unit], b: Iterable[Unit]) -> tuple[Row, ...]:
    """Rows in order: units with the same key side by side, the others where they fall, each alone."""
    a, b = list(a), list(b)
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, [u.key for u in a], [u.key for u in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [Row(x, y) for x, y in zip(a[i1:i2], b[j1:j2])]
        else:
            rows += [Row(x, None) for x in a[i1:i2]] + [Row(None, y) for y in b[j1:j2]]
    return tuple(rows)


def diff_sides(a: Side, b: Side) -> Diff:
    return Diff(a, b, align(a.units, b.units))


def load_diff(ref_a: str, ref_b: str, database: Path, prices: PriceBook) -> Diff:
    return diff_sides(load_side(ref_a, database, prices), load_side(ref_b, database, prices))


def _unit_dict(unit: Unit | None) -> dict[str, Any] | None:
    if unit is None:
        return None
    out = {"label": unit.label, **figures(unit.spend), "events": dict(unit.spend.handlers), "output": unit.output}
    if unit.output_cut:
        out["output_cut"] = unit.output_cut
    if unit.run_type:
        out["run_type"] = unit.run_type
    if unit.status:
        out["status"] = unit.status
    if unit.note:
        out["note"] = unit.note
    return out
