"""Exports: a registry of formats, one pure function each, over a session's header and events.

Every format is computed from the same normalized events the panes drew, so an
export says exactly what was seen. Files are written atomically and never over
an existing file without `force`.
"""

from __future__ import annotations

import html
import json
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flowertui.engine.events import Event
from flowertui.engine.ledger import Ledger, LedgerRow
from flowertui.engine.prices import Price, format_cost
from flowertui.engine.trace_ledger import TraceLedger, session_total, trace_ledger
from flowertui.session.model import SessionData

JSONL_SCHEMA = 1


class ExportError(OSError):
    """The export could not be written; the message says where and why."""


def atomic_write(path: Path, text: str, *, force: bool = False) -> Path:
    """Write to a temporary file beside `path`, then rename it into place.

    The file gets the permissions the user's umask gives any new file (not mkstemp's 0600):
    an export is meant to be shared. Files holding settings are written elsewhere, 0600.
    """
    if path.exists() and not force:
        raise ExportError(f"{path} exists; pass --force to overwrite it")
    if path.is_dir():
        raise ExportError(f"{path} is a folder; give a file name")
    tmp = None
    try:
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the kernel applies the umask
        tmp = candidate
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


# formats ------------------------------------------------------------------


def to_jsonl(data: SessionData, ledger: Ledger | None = None) -> str:
    """A header line, then exactly one normalized event per line."""
    lines = [json.dumps({"schema": JSONL_SCHEMA, **data.header}, ensure_ascii=False)]
    lines.extend(json.dumps(event.to_dict(), ensure_ascii=False) for event in data.events)
    return "\n".join(lines) + "\n"


def to_markdown(data: SessionData, ledger: Ledger) -> str:
    """The transcript turn by turn, each with its ledger rows per memory kind, then the ledger's totals.

    A traced program has no memory kinds: its runs, then its tokens per model and run, and the session total.
    """
    prices = ledger.prices
    h = data.header
    traced = _traced(data, prices)
    out = [f"# flowertui session {h.get('session_id')}", "",
           f"{h.get('provider')} · {h.get('model')} · started {_when(data.events)} · flowertui {h.get('flowertui')}"]
    out += [""] if traced else [f"memory settings: {_settings(h)}", ""]
    for turn in data.turns():
        if traced:
            out += [f"## Run {turn.number} · {turn.status}", "", "**Command:**", "", _quote(turn.user), ""]
            out += ["**Ended:**", "", _quote(turn.reply), ""] if turn.reply else []
            if output := program_output(turn.events):
                out += ["**Output:**", "", "```text", *(line.replace("```", "ʼʼʼ") for line in output), "```", ""]
        else:
            out += [f"## Turn {turn.number} · {turn.memory_kind} · {turn.status}", "", "**You:**", "",
                    _quote(turn.user), ""]
            out += ["**Shop:**", "", _quote(turn.reply), ""] if turn.reply else []
        if turn.error:
            out += [f"**Error:** {_md_cell(turn.error)}", ""]
        if not traced and (rows := ledger.turn_rows(turn.number).items()):
            out += ["| memory kind | prompt | completion | maintenance | total | cost | notes |",
                    "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
            out += [f"| {kind} | {row.prompt_tokens} | {row.completion_tokens} | {row.maintenance_tokens} | "
                    f"{row.total_tokens} | {format_cost(*row.cost(prices))} | {_notes(row)} |" for kind, row in rows]
            out.append("")
    if traced:
        out += _trace_markdown(traced)
        out += ["", "## Total", "", _trace_total(ledger, traced), "",
                "`usage missing`: calls whose provider reported no usage; tiktoken's estimates are counted.", ""]
        return "\n".join(out)
    out += ["## Totals", "", "| memory kind | turns | prompt | completion | maintenance | total | cost |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for kind in ledger.kinds():
        t = ledger.totals(kind)
        out.append(f"| {kind} | {t.coverage} | {t.prompt_tokens} | {t.completion_tokens} | {t.maintenance_tokens} | "
                   f"{t.total_tokens} | {format_cost(t.cost, t.currency)} |")
    out.append(f"| all kinds | | | | | {ledger.grand_total()} | |")
    out += ["", "`estimated`: counted with tiktoken for a kind that did not send its prompt (compare mode). "
            "`usage missing`: the provider reported no usage; tiktoken's count is shown. "
            "Maintenance includes ↻ catch-ups: the summariser reading earlier turns when a kind started.", ""]
    return "\n".join(out)


def _traced(data: SessionData, prices: dict[str, Price]) -> TraceLedger | None:
    """A traced program's ledger, rebuilt from its events; None for a chat session."""
    return trace_ledger(data.events, prices) if data.header.get("provider") == "trace" else None


def _trace_total(ledger: Ledger, traced: TraceLedger) -> str:
    """The session total `flowertui sessions` lists, with the cost when every model has a price."""
    return f"Session total: {session_total(ledger, traced)} tokens · {format_cost(*traced.cost())}"


def _trace_markdown(traced: TraceLedger) -> list[str]:
    """A traced program's tokens per model and per top-level run, and its handlers."""
    summary = traced.summary()
    out = ["", "## Tokens per model", "", "| model | calls | prompt | completion | total | cost | usage missing |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    out += [f"| {_md_cell(name)} | {m['calls']} | {m['prompt_tokens']} | {m['completion_tokens']} | "
            f"{m['total_tokens']} | {format_cost(m['cost'], m['currency'])} | {m['usage_missing_calls']} |"
            for name, m in summary["models"].items()]
    out += ["", "## Top-level runs", "", "| run | kind | status | duration (s) | total tokens |",
            "| --- | --- | --- | ---: | ---: |"]
    out += [f"| {_md_cell(r['name'])} | {r['kind']} | {r['status']} | {'' if r['duration'] is None else format(r['duration'], '.2f')} "
            f"| {r['total_tokens']} |" for r in summary["runs"]]
    out += ["", "## Handlers", "", "| handler | scope | events | errors |", "| --- | --- | ---: | ---: |"]
    out += [f"| {_md_cell(name)} | {h['scope']} | {h['events']} | {h['errors']} |"
            for name, h in summary["handlers"].items()]
    return out


def to_html(data: SessionData, ledger: Ledger) -> str:
    """One self-contained page: transcript, a collapsible event tree per turn with timings, the ledger.

    A traced program's page has runs instead of turns, and its trace tables and session total instead of memory kinds.
    """
    prices = ledger.prices
    h = data.header
    e = html.escape
    traced = _traced(data, prices)
    settings = "" if traced else f" · memory settings {e(_settings(h))}"
    body = [f"<h1>flowertui session {e(str(h.get('session_id')))}</h1>",
            f"<p class=meta>{e(str(h.get('provider')))} · {e(str(h.get('model')))} · started {e(_when(data.events))}"
            f"{settings} · flowertui {e(str(h.get('flowertui')))}</p>"]
    for turn in data.turns():
        label = f"Run {turn.number} <small>{e(turn.status)}" if traced else \
            f"Turn {turn.number} <small>{e(str(turn.memory_kind))} · {e(turn.status)}"
        asked, answered = ("Command", "Ended") if traced else ("You", "Shop")
        body.append(f"<section class='turn {e(turn.status)}'><h2>{label}</small></h2>")
        body.append(f"<div class=user><b>{asked}</b><p>{e(turn.user)}</p></div>")
        if turn.reply:
            body.append(f"<div class=reply><b>{answered}</b><p>{e(turn.reply)}</p></div>")
        if turn.error:
            body.append(f"<div class=error><b>Error</b><p>{e(turn.error)}</p></div>")
        if traced and (output := program_output(turn.events)):
            body.append(f"<div class=output><b>Output</b><pre>{e(chr(10).join(output))}</pre></div>")
        body.append(f"<details><summary>{len(turn.events)} callback events</summary><ul class=tree>")
        body.extend(_html_event_lines(turn.events))
        body.append("</ul></details></section>")
    if traced:  # the same tables as the Markdown export, then the session total
        body.append(f"<pre class=trace>{e(chr(10).join(_trace_markdown(traced)))}</pre>")
        body.append(f"<h2>Total</h2><p class=total>{e(_trace_total(ledger, traced))}</p>")
    else:
        body.append(_html_kinds(ledger))
    title = e(f"flowertui session {h.get('session_id')}")
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")


def _html_kinds(ledger: Ledger) -> str:
    """The tokens-per-memory-kind table: every turn's row, each kind's total, and all kinds'."""
    e = html.escape
    body = ["<h2>Tokens per memory kind</h2><table><tr><th>memory kind</th><th>turn</th><th>prompt</th>"
            "<th>completion</th><th>maintenance</th><th>total</th><th>cost</th><th>notes</th></tr>"]
    for kind in ledger.kinds():
        for row in ledger.turns(kind):
            body.append(f"<tr><td>{kind}</td><td>{row.turn}</td><td>{row.prompt_tokens}</td>"
                        f"<td>{row.completion_tokens}</td><td>{row.maintenance_tokens}</td><td>{row.total_tokens}</td>"
                        f"<td>{e(format_cost(*row.cost(ledger.prices)))}</td><td>{e(_notes(row))}</td></tr>")
        t = ledger.totals(kind)
        body.append(f"<tr class=total><td>{kind}</td><td>{e(t.coverage)}</td><td>{t.prompt_tokens}</td>"
                    f"<td>{t.completion_tokens}</td><td>{t.maintenance_tokens}</td><td>{t.total_tokens}</td>"
                    f"<td>{e(format_cost(t.cost, t.currency))}</td><td></td></tr>")
    body.append(f"<tr class=total><td>all kinds</td><td colspan=4></td><td>{ledger.grand_total()}</td>"
                "<td colspan=2></td></tr></table>")
    return "".join(body)


def to_callback_log(data: SessionData, ledger: Ledger | None = None) -> str:
    """What LangChain's FileCallbackHandler writes when passed with each request (ANSI colours left out)."""
    out: list[str] = []
    for event in data.events:
        if event.scope not in ("request", "context") and event.kind != "program_output":  # context: a traced
            # program's events, one per callback
            continue
        p = event.payload
        if event.kind == "program_output":  # a traced program's console, where it happened
            out.append("".join(line + "\n" for line in program_output([event])))
        elif event.kind == "chain_start":
            out.append(f"\n\n> Entering new {event.name} chain...\n")
        elif event.kind == "chain_end":
            out.append("\n> Finished chain.\n")
        elif event.kind == "text":
            out.append(p.get("text", "") + "\n")
        elif event.kind == "agent_action":
            out.append(p.get("log", ""))
        elif event.kind == "tool_end":
            out.append(p.get("output", ""))
        elif event.kind == "agent_finish":
            out.append(p.get("log", "") + "\n")
    return "".join(out)


@dataclass(frozen=True)
class Format:
    """One export format: what it holds (shown by the CLI's help and the export dialog) and how to write it.

    Every format is given the session's ledger: the live one when the session is still open.
    """

    description: str
    render: Callable[[SessionData, Ledger], str]

    def __call__(self, data: SessionData, ledger: Ledger) -> str:
        return self.render(data, ledger)


# The one list of export formats: `flowertui export --format` and the app's export dialog both read it.
FORMATS: dict[str, Format] = {
    "jsonl": Format("JSON Lines: every event, replayable", to_jsonl),
    "md": Format("Markdown: transcript and ledger", to_markdown),
    "html": Format("HTML: one self-contained page", to_html),
    "log": Format("Callback log (FileCallbackHandler)", to_callback_log),
}


def export(data: SessionData, fmt: str, path: Path, ledger: Ledger, *, force: bool = False) -> Path:
    return atomic_write(path, FORMATS[fmt](data, ledger), force=force)


def read_jsonl(path: Path) -> SessionData:
    """A JSONL export read back: its header and its events, exactly."""
    try:
        lines = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
        if not lines or "schema" not in lines[0]:
            raise ValueError("no flowertui header line")
        header = {k: v for k, v in lines[0].items() if k != "schema"}
        return SessionData(header, [Event.from_dict(line) for line in lines[1:]])
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ExportError(f"cannot read {path} as a flowertui JSONL export: {exc}") from exc


# helpers ----------------------------------------------------------------------


def _when(events: Iterable[Event]) -> str:
    first = next(iter(events), None)
    return datetime.fromtimestamp(first.wall, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if first else "?"


def _settings(header: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in (header.get("memory_settings") or {}).items())


def _notes(row: LedgerRow) -> str:
    notes = ["estimated"] * row.estimated + ["usage missing"] * row.usage_missing
    return ", ".join(notes + ["maintenance usage missing"] * row.maintenance_usage_missing)


def _quote(text: str) -> str:
    return "\n".join("> " + line.replace("<", "&lt;") for line in (text or "").splitlines()) or ">"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _html_event_lines(events: list[Event]) -> list[str]:
    """One line per event (tokens folded per run), indented by run depth, with times since the turn began."""
    depth: dict[str, int] = {}
    start = events[0].mono if events else 0.0
    pieces: dict[str, int] = {}  # streamed pieces per run; a piece is one callback, not always one token
    for event in events:
        if event.kind == "llm_new_token":
            pieces[event.run_id or ""] = pieces.get(event.run_id or "", 0) + event.counted_token
    lines = []
    for event in events:
        if event.run_id and event.kind.endswith("_start"):
            depth[event.run_id] = depth.get(event.parent_run_id or "", -1) + 1
        if event.kind == "llm_new_token":
            continue
        level = depth.get(event.run_id or "", 0)
        took = f" · {event.duration * 1000:.0f} ms" if event.duration is not None else ""
        streamed = _streamed(pieces.get(event.run_id or ""), event) if event.kind == "llm_end" else ""
        upkeep = " · memory maintenance" if event.maintenance else ""
        gist = html.escape(_gist(event))
        lines.append(f"<li style='margin-left:{level * 1.5}em' class={event.family}><code>+{event.mono - start:.3f}s"
                     f"</code> <b>{event.kind}</b> {html.escape(event.name)} <i>{event.scope}</i>{took}{streamed}"
                     f"{upkeep}<div class=payload>{gist}</div></li>")
    return lines


def program_output(events: Iterable[Event]) -> list[str]:
    """A traced run's console lines as saved in its session (stderr marked `err│`, stdin `›│`), and what was not."""
    marks = {"out": "", "err": "err│ ", "in": "›│ "}
    lines = []
    for event in events:
        if event.kind == "program_output":
            lines += [marks.get(stream, "") + text for stream, text in event.payload.get("lines", ())]
            if event.payload.get("not_saved"):
                lines.append(f"… {event.payload['not_saved']} more lines not saved")
    return lines


def _streamed(pieces: int | None, end: Event) -> str:
    """How many pieces a run streamed and, when the provider reported it, how many tokens they made."""
    usage = end.payload.get("usage") or {}
    said = [f"{pieces} pieces streamed"] if pieces else []
    if usage.get("output_tokens"):
        said.append(f"{usage['output_tokens']} output tokens")
    return "".join(f" · {part}" for part in said)


def _gist(event: Event) -> str:
    text = json.dumps(event.payload, ensure_ascii=False)
    return text if len(text) <= 600 else text[:600] + "…"


_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222;background:#fffdf8}
h1{color:#9b1b30}h2{border-bottom:1px solid #e7d7c9;margin-top:1.6em}small{color:#777;font-weight:normal}
.meta{color:#666}.user{border-left:4px solid #2c6fb3;padding-left:.8em}.reply{border-left:4px solid #9b1b30;padding-left:.8em}
.error{border-left:4px solid #c00;padding-left:.8em;color:#900}p{white-space:pre-wrap;margin:.2em 0}
details{margin:.6em 0}summary{cursor:pointer;color:#555}.tree{list-style:none;padding-left:.5em;font-size:13px}
.tree li{margin:.15em 0}.payload{color:#666;font-family:monospace;white-space:pre-wrap;word-break:break-all}
.chain b{color:#b03a78}.chat_model b{color:#6a4bc4}.llm b{color:#2c6fb3}.error b{color:#c00}.app b{color:#555}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #e0d4c8;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}tr.total{font-weight:bold;background:#f6eee6}
"""
