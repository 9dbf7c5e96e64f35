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

from flowertui.engine.events import (AGENT_ACTION, AGENT_FINISH, CHAIN_END, CHAIN_START, LLM_END, LLM_NEW_TOKEN,
                                     PROGRAM_OUTPUT, SCHEMA_VERSION, SESSION_START, TEXT, TOOL_END, Event, SessionKind,
                                     TraceVariant, session_kind)
from flowertui.engine.ledger import Ledger, LedgerRow
from flowertui.engine.prices import format_cost
from flowertui.engine.session_ledger import SessionLedger
from flowertui.engine.trace_ledger import TraceLedger
from flowertui.session.model import SessionData, Turn

JSONL_SCHEMA = SCHEMA_VERSION  # the header line's "schema": the event schema's version (docs/events.schema.json)


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


def to_jsonl(data: SessionData, ledger: SessionLedger | None = None) -> str:
    """A header line, then exactly one normalized event per line."""
    lines = [json.dumps({**data.header, "schema": JSONL_SCHEMA}, ensure_ascii=False)]
    lines.extend(json.dumps(event.to_dict(), ensure_ascii=False) for event in data.events)
    return "\n".join(lines) + "\n"


def to_markdown(data: SessionData, ledger: SessionLedger) -> str:
    """The transcript turn by turn, then the ledger's tables and the session total, as the session's kind has them.

    A chat session's turns each carry their rows per memory kind; a traced program's runs carry none.
    """
    h, sections = data.header, SECTIONS[data.kind]
    out = [f"# flowertui session {h.get('session_id')}", "",
           f"{sections.what(h)} · started {_when(data.events)} · flowertui {h.get('flowertui')}"]
    out += [""] if (settings := sections.settings(h)) is None else [f"memory settings: {settings}", ""]
    asked, answered = sections.speakers
    for turn in data.turns():
        out += [f"## {' · '.join(sections.title(turn))}", "", f"**{asked}:**", "", _quote(turn.user), ""]
        out += [f"**{answered}:**", "", _quote(turn.reply), ""] if turn.reply else []
        if output := program_output(turn.events):  # a traced run's console, as saved
            out += ["**Output:**", "", "```text", *(line.replace("```", "ʼʼʼ") for line in output), "```", ""]
        if turn.error:
            out += [f"**Error:** {_md_cell(turn.error)}", ""]
        out += sections.turn_markdown(ledger, turn.number)
    return "\n".join(out + sections.ledger_markdown(ledger))


def to_html(data: SessionData, ledger: SessionLedger) -> str:
    """One self-contained page: transcript, a collapsible event tree per turn with timings, the ledger."""
    h, sections = data.header, SECTIONS[data.kind]
    e = html.escape
    settings = "" if (found := sections.settings(h)) is None else f" · memory settings {e(found)}"
    body = [f"<h1>flowertui session {e(str(h.get('session_id')))}</h1>",
            f"<p class=meta>{e(sections.what(h))} · started {e(_when(data.events))}"
            f"{settings} · flowertui {e(str(h.get('flowertui')))}</p>"]
    asked, answered = sections.speakers
    for turn in data.turns():
        heading, *details = sections.title(turn)
        body.append(f"<section class='turn {e(turn.status)}'><h2>{e(heading)} <small>{e(' · '.join(details))}"
                    "</small></h2>")
        body.append(f"<div class=user><b>{asked}</b><p>{e(turn.user)}</p></div>")
        if turn.reply:
            body.append(f"<div class=reply><b>{answered}</b><p>{e(turn.reply)}</p></div>")
        if turn.error:
            body.append(f"<div class=error><b>Error</b><p>{e(turn.error)}</p></div>")
        if output := program_output(turn.events):
            body.append(f"<div class=output><b>Output</b><pre>{e(chr(10).join(output))}</pre></div>")
        body.append(f"<details><summary>{len(turn.events)} callback events</summary><ul class=tree>")
        body.extend(_html_event_lines(turn.events))
        body.append("</ul></details></section>")
    body.append(sections.ledger_html(ledger))
    title = e(f"flowertui session {h.get('session_id')}")
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")


# what the Markdown and HTML exports say by session kind ----------------------------------


def _chat_turn_markdown(ledger: Ledger, turn: int) -> list[str]:
    """The turn's rows per memory kind."""
    rows = ledger.turn_rows(turn).items()
    if not rows:
        return []
    out = ["| memory kind | prompt | completion | maintenance | total | cost | notes |",
           "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    out += [f"| {kind} | {row.prompt_tokens} | {row.completion_tokens} | {row.maintenance_tokens} | "
            f"{row.total_tokens} | {format_cost(*row.cost(ledger.prices))} | {_notes(row)} |" for kind, row in rows]
    return out + [""]


def _chat_ledger_markdown(ledger: Ledger) -> list[str]:
    """Each memory kind's totals, and all kinds'."""
    out = ["## Totals", "", "| memory kind | turns | prompt | completion | maintenance | total | cost |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for kind in ledger.rows():
        t = kind.totals
        out.append(f"| {t.kind} | {t.coverage} | {t.prompt_tokens} | {t.completion_tokens} | {t.maintenance_tokens} | "
                   f"{t.total_tokens} | {format_cost(t.cost, t.currency)} |")
    out.append(f"| all kinds | | | | | {ledger.total().tokens} | |")
    out += ["", "`estimated`: counted with tiktoken: for a kind that did not send its prompt (compare mode), or for a "
            "cancelled reply (the prompt sent plus what had streamed). "
            "`usage missing`: the provider reported no usage; tiktoken's count is shown. "
            "Maintenance includes ↻ catch-ups: the summariser reading earlier turns when a kind started.", ""]
    return out


def _chat_ledger_html(ledger: Ledger) -> str:
    """The tokens-per-memory-kind table: every turn's row, each kind's total, and all kinds'."""
    e = html.escape
    body = ["<h2>Tokens per memory kind</h2><table><tr><th>memory kind</th><th>turn</th><th>prompt</th>"
            "<th>completion</th><th>maintenance</th><th>total</th><th>cost</th><th>notes</th></tr>"]
    for kind in ledger.rows():
        t = kind.totals
        for row in kind.turns:
            body.append(f"<tr><td>{t.kind}</td><td>{row.turn}</td><td>{row.prompt_tokens}</td>"
                        f"<td>{row.completion_tokens}</td><td>{row.maintenance_tokens}</td><td>{row.total_tokens}</td>"
                        f"<td>{e(format_cost(*row.cost(ledger.prices)))}</td><td>{e(_notes(row))}</td></tr>")
        body.append(f"<tr class=total><td>{t.kind}</td><td>{e(t.coverage)}</td><td>{t.prompt_tokens}</td>"
                    f"<td>{t.completion_tokens}</td><td>{t.maintenance_tokens}</td><td>{t.total_tokens}</td>"
                    f"<td>{e(format_cost(t.cost, t.currency))}</td><td></td></tr>")
    body.append(f"<tr class=total><td>all kinds</td><td colspan=4></td><td>{ledger.total().tokens}</td>"
                "<td colspan=2></td></tr></table>")
    return "".join(body)


def _trace_total(ledger: TraceLedger) -> str:
    """The session total `flowertui sessions` lists, with the cost when every model has a price."""
    total = ledger.total()
    return f"Session total: {total.tokens} tokens · {format_cost(total.cost, total.currency)}"


def _trace_tables(ledger: TraceLedger) -> list[str]:
    """A traced program's tokens per model and per top-level run, and its handlers."""
    rows = ledger.rows()
    out = ["", "## Tokens per model", "", "| model | calls | prompt | completion | total | cost | usage missing |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    out += [f"| {_md_cell(m.model)} | {m.calls} | {m.prompt_tokens} | {m.completion_tokens} | "
            f"{m.total_tokens} | {format_cost(*m.cost)} | {m.usage_missing_calls} |" for m in rows.models]
    out += ["", "## Top-level runs", "", "| run | type | status | duration (s) | total tokens |",
            "| --- | --- | --- | ---: | ---: |"]
    out += [f"| {_md_cell(r.name)} | {r.run_type} | {r.status} | {'' if r.duration is None else format(r.duration, '.2f')} "
            f"| {r.total_tokens} |" for r in rows.runs]
    out += ["", "## Handlers", "", "| handler | scope | events | errors |", "| --- | --- | ---: | ---: |"]
    out += [f"| {_md_cell(h.name)} | {h.scope} | {h.events} | {h.errors} |" for h in rows.handlers]
    return out


def _trace_ledger_markdown(ledger: TraceLedger) -> list[str]:
    return _trace_tables(ledger) + ["", "## Total", "", _trace_total(ledger), "",
                                    "`usage missing`: calls whose provider reported no usage; tiktoken's estimates "
                                    "are counted.", ""]


def _trace_ledger_html(ledger: TraceLedger) -> str:
    """The same tables as the Markdown export, then the session total."""
    e = html.escape
    return (f"<pre class=trace>{e(chr(10).join(_trace_tables(ledger)))}</pre>"
            f"<h2>Total</h2><p class=total>{e(_trace_total(ledger))}</p>")


@dataclass(frozen=True)
class Sections:
    """What the Markdown and HTML exports say that depends on the session's kind."""

    what: Callable[[dict[str, Any]], str]  # what ran: a chat's provider and model, a traced program's command
    settings: Callable[[dict[str, Any]], str | None]  # the header's settings line, if the kind has settings
    title: Callable[[Turn], list[str]]  # a turn's heading, then its details
    speakers: tuple[str, str]  # who spoke a turn's two parts
    turn_markdown: Callable[[Any, int], list[str]]  # a turn's ledger rows
    ledger_markdown: Callable[[Any], list[str]]  # the ledger's tables and the session total
    ledger_html: Callable[[Any], str]


SECTIONS: dict[SessionKind, Sections] = {
    SessionKind.CHAT: Sections(
        what=lambda h: f"{h.get('provider')} · {h.get('model')}", settings=lambda h: _settings(h), title=lambda t: [f"Turn {t.number}", str(t.memory_kind), t.status],
        speakers=("You", "Shop"), turn_markdown=_chat_turn_markdown, ledger_markdown=_chat_ledger_markdown,
        ledger_html=_chat_ledger_html),
    SessionKind.TRACE: Sections(
        what=lambda h: f"{_trace_word(h.get('trace_variant'))} · {h.get('command')}", settings=lambda h: None, title=lambda t: [f"Run {t.number}", t.status], speakers=("Command", "Ended"),
        turn_markdown=lambda ledger, turn: [], ledger_markdown=_trace_ledger_markdown, ledger_html=_trace_ledger_html),
}


def to_callback_log(data: SessionData, ledger: SessionLedger | None = None) -> str:
    """What LangChain's FileCallbackHandler writes when passed with each request (ANSI colours left out)."""
    out: list[str] = []
    for event in data.events:
        if event.scope not in ("request", "context") and event.kind != PROGRAM_OUTPUT:  # context: a traced
            # program's events, one per callback
            continue
        p = event.payload
        if event.kind == PROGRAM_OUTPUT:  # a traced program's console, where it happened
            out.append("".join(line + "\n" for line in program_output([event])))
        elif event.kind == CHAIN_START:
            out.append(f"\n\n> Entering new {event.name} chain...\n")
        elif event.kind == CHAIN_END:
            out.append("\n> Finished chain.\n")
        elif event.kind == TEXT:
            out.append((p.text or "") + "\n")
        elif event.kind == AGENT_ACTION:
            out.append(p.log or "")
        elif event.kind == TOOL_END:
            out.append(p.output or "")
        elif event.kind == AGENT_FINISH:
            out.append((p.log or "") + "\n")
    return "".join(out)


@dataclass(frozen=True)
class Format:
    """One export format: what it holds (shown by the CLI's help and the export dialog) and how to write it.

    Every format is given the session's ledger (the one its kind keeps, see `LEDGER_OF`).
    """

    description: str
    render: Callable[[SessionData, SessionLedger], str]

    def __call__(self, data: SessionData, ledger: SessionLedger) -> str:
        return self.render(data, ledger)


# The one list of export formats: `flowertui export --format` and the app's export dialog both read it.
FORMATS: dict[str, Format] = {
    "jsonl": Format("JSON Lines: every event, replayable", to_jsonl),
    "md": Format("Markdown: transcript and ledger", to_markdown),
    "html": Format("HTML: one self-contained page", to_html),
    "log": Format("Callback log (FileCallbackHandler)", to_callback_log),
}


# Formats sent to a server rather than written to a file (`flowertui export ID --format NAME [--endpoint URL]`);
# the export dialog writes files, so it offers FORMATS only.
SENT_FORMATS: dict[str, str] = {
    "otlp": "OpenTelemetry spans over OTLP/HTTP (Phoenix, Langfuse, Jaeger); flowertui/otlp/",
}


def export(data: SessionData, fmt: str, path: Path, ledger: SessionLedger, *, force: bool = False) -> Path:
    return atomic_write(path, FORMATS[fmt](data, ledger), force=force)


def read_jsonl(path: Path) -> SessionData:
    """A JSONL export read back: its header and its events, exactly."""
    try:
        lines = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
        if not lines or "schema" not in lines[0]:
            raise ValueError("no flowertui header line")
        events = [Event.from_dict(line) for line in lines[1:]]
        if any(event.kind == SESSION_START for event in events):  # an old file's header is read as upgraded
            data = SessionData.of(events)
        else:
            data = SessionData({k: v for k, v in lines[0].items() if k != "schema"}, events)
        session_kind(lines[0].get("session_kind"), lines[0].get("provider"))  # an unknown kind is refused here,
        data.kind  # noqa: B018  in the header or the events, with the file's name
        return data
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ExportError(f"cannot read {path} as a flowertui JSONL export: {exc}") from exc


# helpers ----------------------------------------------------------------------


def _when(events: Iterable[Event]) -> str:
    first = next(iter(events), None)
    return datetime.fromtimestamp(first.wall, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if first else "?"


def _trace_word(variant: str | None) -> str:
    """`trace` for a program flowertui ran, else how its programs came (`listen`, `watch`)."""
    return "trace" if variant in (None, TraceVariant.RUN) else str(variant)


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
        if event.kind == LLM_NEW_TOKEN:
            pieces[event.run_id or ""] = pieces.get(event.run_id or "", 0) + event.counted_token
    lines = []
    for event in events:
        if event.run_id and event.kind.endswith("_start"):
            depth[event.run_id] = depth.get(event.parent_run_id or "", -1) + 1
        if event.kind == LLM_NEW_TOKEN:
            continue
        level = depth.get(event.run_id or "", 0)
        took = f" · {event.duration * 1000:.0f} ms" if event.duration is not None else ""
        streamed = _streamed(pieces.get(event.run_id or ""), event) if event.kind == LLM_END else ""
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
        if event.kind == PROGRAM_OUTPUT:
            lines += [marks.get(stream, "") + text for stream, text in event.payload.lines or ()]
            if event.payload.not_saved:
                lines.append(f"… {event.payload.not_saved} more lines not saved")
    return lines


def _streamed(pieces: int | None, end: Event) -> str:
    """How many pieces a run streamed and, when the provider reported it, how many tokens they made."""
    usage = end.payload.usage
    said = [f"{pieces} pieces streamed"] if pieces else []
    if usage and usage.output_tokens:
        said.append(f"{usage.output_tokens} output tokens")
    return "".join(f" · {part}" for part in said)


def _gist(event: Event) -> str:
    text = json.dumps(event.payload.to_dict(), ensure_ascii=False)
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
