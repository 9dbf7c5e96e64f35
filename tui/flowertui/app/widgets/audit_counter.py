"""The trace counter with the audit's one-line summary under it (`flowertui trace --audit`; `a` opens the detail)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from flowertui.app.widgets.trace_counter import TraceCounter
from flowertui.engine.events import AUDIT_CALL, LLM_END, Event
from flowertui.engine.trace_ledger import TraceLedger
from flowertui.trace.audit.reconcile import AuditLedger
from flowertui.trace.audit.table import summary

SUMMARY_EVERY = 0.25  # seconds: the summary is redrawn at most this often


class AuditedCounter(TraceCounter):
    """Draws the trace ledger and, once the proxy saw a call, the audit report's summary (read, never counted here)."""

    def __init__(self, ledger: TraceLedger, audit: AuditLedger, **kwargs) -> None:
        super().__init__(ledger, **kwargs)
        self.audit = audit
        self._due = False  # a summary is scheduled: a burst of calls is reconciled once, not once per call

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static("", id="audit-summary", markup=False, classes="hidden")

    def add(self, events: list[Event]) -> None:
        super().add(events)
        if any(event.kind in (AUDIT_CALL, LLM_END) for event in events) and self.audit.calls:
            self.schedule_summary()

    def redraw(self) -> None:
        super().redraw()
        if self.audit.calls:
            self.schedule_summary()

    def schedule_summary(self) -> None:
        if not self._due:
            self._due = True
            self.set_timer(SUMMARY_EVERY, self.show_summary)

    def show_summary(self) -> None:
        """Reconcile on a worker thread (every call against every run: the event loop does not wait for it)."""
        self.run_worker(self._reconcile, thread=True, exclusive=True, group="audit-summary")

    def _reconcile(self) -> None:
        report = self.audit.report()  # the ledger takes its own lock
        line = summary(report)
        if report["findings"]:
            line += " · a: details"
        self.app.call_from_thread(self._show, line)

    def _show(self, line: str) -> None:
        self._due = False
        box = self.query_one("#audit-summary", Static)
        box.update(line)
        box.remove_class("hidden")
