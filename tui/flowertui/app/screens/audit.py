"""`a` in `flowertui trace --audit`: every HTTP call at the wire beside its callback run, then the findings."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from flowertui.trace.audit.table import summary, usage_cell

SHOWN_CALLS = 500  # rows in the table; the rest are counted in the title


class AuditScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,a", "dismiss", "close", id="audit.close")]

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        calls = self.report["calls"]
        with Vertical(id="detail-box"):
            more = f" (the last {SHOWN_CALLS} shown)" if len(calls) > SHOWN_CALLS else ""
            yield Static(summary(self.report) + more, id="detail-title", markup=False)
            table = DataTable(id="audit-calls", cursor_type="row", zebra_stripes=True)
            # what reads at a glance first (80 columns show up to the run); endpoint and model scroll in
            for label in ("#", "api", "status", "wire p+c=t", "callback", "run", "findings", "ms", "stream", "model",
                          "endpoint"):
                table.add_column(label)
            for call in calls[-SHOWN_CALLS:]:
                stream = ("usage" if call["usage_requested"] is not False else "no usage") if call["stream"] else ""
                table.add_row(call["call"], call["api"], call["status"], usage_cell(call["provider_usage"]),
                              usage_cell(call["callback_usage"]), (call["run_id"] or "—")[-8:],
                              Text("; ".join(call["findings"]) or "ok"), f"{call['latency_ms']:.0f}", stream,
                              Text(call["model"] or "?"), Text(call["endpoint"]))
            yield table
            yield Static(findings_text(self.report), id="audit-findings")
        yield Footer()


def findings_text(report: dict[str, Any]) -> Text:
    """Each kind of discrepancy with its count and what to do (plain text: no markup is parsed)."""
    text = Text()
    totals = report["totals"]
    text.append(f"wire {usage_cell(totals['provider'])} over {totals['provider']['calls']} calls · callbacks "
                f"{usage_cell(totals['callback'])} over {totals['callback']['runs']} runs")
    for item in report["findings"]:
        text.append(f"\n{item['kind']} ×{item['count']}: ", style="bold")
        text.append(item["advice"])
    if not report["findings"]:
        text.append("\nno finding: the wire and the callbacks agree")
    return text
