"""A diff as plain text: what `flowertui diff` prints when there is no screen (stdout not a terminal, --headless).

Numbers marked `~` hold tiktoken's estimates, `?` calls without reported usage. Output texts that differ are
shown as a word diff, `[-removed-]{+added+}` (git's --word-diff=plain), one line per row, bounded.
"""

from __future__ import annotations

from flowertui.engine.session_ledger import Spend
from flowertui.session.diff import Diff, Row, deltas, delta_pcts, latency_ms
from flowertui.engine.sanitize import strip_escapes as printable

LINE_LIMIT = 400  # characters of a row's word diff printed


def tokens(spend: Spend | None) -> str:
    """Marked as everywhere else: `~` before an estimate, `?` after a count without reported usage."""
    if spend is None:
        return "—"
    return f"{'~' if spend.estimated else ''}{spend.total_tokens}{'?' if spend.usage_missing else ''}"


def cost(spend: Spend | None) -> str:
    if spend is None:
        return "—"
    if spend.cost is None:
        return "no price"
    return f"{spend.cost:.6g}" + (f" {spend.currency}" if spend.currency else "")


def ms(spend: Spend | None) -> str:
    value = None if spend is None else latency_ms(spend)
    return "—" if value is None else str(value)


def signed(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0"
    return f"{value:+.{digits}f}" if digits else f"{value:+d}" if isinstance(value, int) else f"{value:+.6g}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}%"


def events(spend: Spend | None) -> str:
    return "—" if spend is None else str(sum(spend.handlers.values()))


def row_label(row: Row, width: int) -> str:
    unit = row.unit
    text = "  " * unit.depth + printable(row.label)
    return text if len(text) <= width else text[: width - 1] + "…"


def render(diff: Diff) -> str:
    a, b = diff.a.spend, diff.b.spend
    delta, delta_pct = deltas(a, b), delta_pcts(a, b)
    out = [f"A  {printable(diff.a.label)}", f"B  {printable(diff.b.label)}", "",
           f"{'':<12}{'A':>14}{'B':>14}{'Δ':>12}{'Δ%':>9}",
           f"{'tokens':<12}{tokens(a):>14}{tokens(b):>14}{signed(delta['tokens']):>12}{pct(delta_pct['tokens']):>9}",
           f"{'cost':<12}{cost(a):>14}{cost(b):>14}{signed(delta['cost']):>12}{pct(delta_pct['cost']):>9}",
           f"{'latency ms':<12}{ms(a):>14}{ms(b):>14}{signed(delta['latency_ms']):>12}"
           f"{pct(delta_pct['latency_ms']):>9}", ""]
    out.append(f"{'row':<34}{'A tok':>9}{'B tok':>9}{'Δ tok':>8}{'A ms':>8}{'B ms':>8}{'events':>12}")
    for row in diff.rows:
        sa = row.a.spend if row.a else None
        sb = row.b.spend if row.b else None
        change = signed(deltas(sa, sb)["tokens"]) if sa and sb else ("only A" if sa else "only B")
        out.append(f"{row_label(row, 33):<34}{tokens(sa):>9}{tokens(sb):>9}{change:>8}{ms(sa):>8}{ms(sb):>8}"
                   f"{events(sa) + '→' + events(sb):>12}")
    for side in ("a", "b"):
        missing = diff.unmatched(side)
        if missing:
            out.append(f"only in {side.upper()}: " + ", ".join(printable(unit.label) for unit in missing))
    differing = [row for row in diff.rows if row.matched and row.a.output != row.b.output]
    if differing:
        out += ["", "outputs that differ ([-A only-]{+B only+}):"]
        for row in differing:
            out.append(f"{printable(row.label)}: {plain_word_diff(row)}")
    out.append("~ estimate  ? no usage reported  — unknown; a run's numbers include its children's")
    return "\n".join(out) + "\n"


def plain_word_diff(row: Row) -> str:
    if row.a.output is None or row.b.output is None:
        missing = "A" if row.a.output is None else "B"
        note = (row.a if missing == "A" else row.b).note or "no output"
        return f"({missing}: {note})"
    text = "".join(piece if op == "=" else f"[-{piece}-]" if op == "-" else f"{{+{piece}+}}"
                   for op, piece in row.word_diff())
    text = printable(text.replace("\n", " ⏎ "))
    return text if len(text) <= LINE_LIMIT else text[:LINE_LIMIT] + f"… ({len(text) - LINE_LIMIT} more characters)"
