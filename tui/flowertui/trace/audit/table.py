"""The audit as text: the headless table (stderr) and the lines the app's summary shows."""

from __future__ import annotations

from typing import Any

SHOWN_CALLS = 50  # calls listed in the headless table; the rest are counted


def summary(report: dict[str, Any]) -> str:
    """One line: calls, calls without a run, tokens at the wire and from the callbacks, findings."""
    calls = report["calls"]
    if not calls:
        return "audit: no HTTP call yet"
    provider, callback = report["totals"]["provider"], report["totals"]["callback"]
    without = sum(1 for call in calls if call["run_id"] is None)
    found = sum(item["count"] for item in report["findings"])
    return (f"audit: {len(calls)} calls ({without} without a run) · wire {provider['total']:,} tok · "
            f"callbacks {callback['total']:,} tok · {found} finding{'s' * (found != 1)}")


def usage_cell(usage: dict[str, int] | None) -> str:
    if usage is None:
        return "—"
    extra = "".join(f" {mark}{usage[key]}" for key, mark in (("cached", "c"), ("reasoning", "r")) if usage[key])
    return f"{usage['prompt']}+{usage['completion']}={usage['total']}{extra}"


def audit_table(report: dict[str, Any]) -> str:
    """Per call (endpoint, model, status, time, stream, wire and callback usage, run), then the findings."""
    head = f"{'#':>3} {'endpoint':<22}{'model':<22}{'status':>6}{'ms':>8} {'stream':<7}{'wire':<18}{'callback':<18}run"
    lines = [summary(report), head, "─" * len(head)]
    for call in report["calls"][:SHOWN_CALLS]:
        stream = ("yes" if call["usage_requested"] is not False else "no-use") if call["stream"] else ""
        lines.append(f"{call['call']:>3} {call['endpoint'][-21:]:<22}{(call['model'] or '?')[:21]:<22}"
                     f"{call['status']:>6}{call['latency_ms']:>8.0f} {stream:<7}"
                     f"{usage_cell(call['provider_usage']):<18}{usage_cell(call['callback_usage']):<18}"
                     f"{(call['run_id'] or '—')[-8:]}")
    if len(report["calls"]) > SHOWN_CALLS:
        lines.append(f"… {len(report['calls']) - SHOWN_CALLS} more calls (--json lists them all)")
    for item in report["findings"]:
        lines.append(f"! {item['kind']} ×{item['count']}: {item['advice']}")
    return "\n".join(lines)
