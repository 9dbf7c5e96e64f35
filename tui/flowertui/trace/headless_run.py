"""`flowertui trace --headless`: the program's output passes straight through; a ledger table at the end.

The program inherits flowertui's stdout and stderr, so it never depends on
flowertui staying alive (a killed flowertui leaves it writing to the terminal,
not to a dead pipe). With `--json` the program's stdout goes to stderr and one
JSON document goes to stdout. The program is started first, with the standard
library only; the session machinery is imported while it starts.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from flowertui import __version__
from flowertui.trace import launcher

if TYPE_CHECKING:
    from flowertui.engine.bus import Sink
    from flowertui.engine.trace_ledger import TraceRows
    from flowertui.serve.process import ServerProcess
    from flowertui.trace.audit.process import AuditProxy


class _Count:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, event) -> None:
        self.n += 1


def run_headless(command: list[str], *, as_json: bool, out: TextIO = sys.stdout, err: TextIO = sys.stderr,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None, keep: dict | None = None,
                 sinks: Sequence[Sink] = (), audit: AuditProxy | None = None, server: ServerProcess | None = None) -> int:
    """Trace one run of the program; returns its exit code (LaunchError when it cannot start).

    `env` replaces the program's environment (the offline server's settings), `cwd` its working folder; with
    `keep` (the offline server's lifeline) it runs under the relay, which holds that while the program runs;
    `sinks` also receive the session's events (`--otlp`); `audit` (an AuditProxy the program is pointed at)
    adds the wire's calls, reconciled, to the output; `server`'s notices (the embeddings it answered) count in the run.
    """
    streams: dict[str, Any] = {"stdout": _fileno(err)} if as_json else {}
    # ctrl+c is the program's to handle; a handler, not SIG_IGN, which the program would inherit
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        early = launcher.start_early(command, env, cwd=cwd, **streams, **({"relay": True, **keep} if keep else {}))
        if server is not None:
            server.launch()  # after the program: its first request waits in the socket's backlog
        try:
            from flowertui.trace.tracer import Tracer

            count = _Count()
            audit_ledger = None
            if audit is not None:
                from flowertui.trace.audit.reconcile import AuditLedger

                audit_ledger = AuditLedger()
            tracer = Tracer(command, [count, *sinks, *([audit_ledger] if audit_ledger else [])], writer=_writer(err),
                            early=early, server=server)
            if audit is not None:
                audit_ledger.prices, tracer.audit = tracer.ledger.prices, audit
                audit.attach(tracer.bus)
        except BaseException:  # flowertui cannot record: the program, started already, still runs to its end
            early.sock.close()
            early.process.wait()
            raise
        try:
            returncode = early.process.wait()
        except BaseException:
            tracer.close()
            raise
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        tracer.finish_run(returncode)
    finally:
        tracer.close()
    code = launcher.exit_code(returncode)
    rows = tracer.ledger.rows()
    if as_json:
        document = {"flowertui": __version__, "command": tracer.command, "exit_code": code,
                    "session_id": tracer.session_id, "events": count.n, "langchain": tracer.translator.langchain,
                    "coverage": tracer.coverage.state, **rows.to_dict()}
        if tracer.coverage.note:
            document["coverage_note"] = tracer.coverage.note
        if tracer.translator.dropped:
            document["dropped_events"] = tracer.translator.dropped
        if audit_ledger is not None:
            document["audit"] = audit_ledger.report()
        out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        out.flush()
    else:
        err.write(trace_table(rows) + "\n")
        if audit_ledger is not None:
            from flowertui.trace.audit.table import audit_table

            err.write(audit_table(audit_ledger.report()) + "\n")
        status = f"flowertui: {tracer.command} {launcher.describe_exit(returncode)} · session {tracer.session_id} · {count.n} events"
        err.write(status + "\n")
    if tracer.coverage.line():
        err.write(tracer.coverage.line() + "\n")
    err.flush()
    return code


def _writer(err: TextIO):
    """The session writer, its thread lowered so it yields the CPU to the program; errors said on `err`."""
    from flowertui.paths import data_dir
    from flowertui.session.store import DB_NAME, SessionWriter
    from flowertui.trace.priority import built_low

    return lambda ledger: built_low(lambda: SessionWriter(data_dir() / DB_NAME, ledger,
                                                          on_error=lambda text: print(f"flowertui: {text}", file=err)))


def _fileno(stream: TextIO) -> int | None:
    try:
        stream.flush()
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def trace_table(rows: TraceRows) -> str:
    """Per model, per top-level run and per handler; `?` marks calls without reported usage, `~` estimated ones."""
    from flowertui.engine.langchain_handlers import by
    from flowertui.engine.prices import SOURCE_WORDS, format_cost

    head = f"{'model':<28}{'calls':>6}{'prompt':>9}{'completion':>12}{'total':>9}  {'cost':<15}price from"
    lines = [head, "─" * (len(head) + 12)]
    for row in rows.models:
        mark = row.marks
        lines.append(f"{row.model[:27]:<28}{row.calls:>6}{row.prompt_tokens:>9}{row.completion_tokens:>12}"
                     f"{row.total_tokens:>9}{mark:<2}{format_cost(*row.cost):<15}{SOURCE_WORDS[row.price_source]}")
    if not rows.models:
        lines.append("(no model calls)")
    lines += ["", f"{'top-level run':<34}{'type':<12}{'status':<8}{'duration':>10}{'tokens':>9}"]
    for run in rows.runs:
        took = "" if run.duration is None else f"{run.duration:.2f}s"
        mark = run.marks
        lines.append(f"{run.name[:33]:<34}{run.run_type:<12}{run.status:<8}{took:>10}{run.total_tokens:>9}{mark}")
    for who, title in (("program", "handler"), ("langchain", "LangChain's own handler")):
        handlers = [row for row in rows.handlers if by(row.name) == who]
        if handlers:
            lines += ["", f"{title:<34}{'scope':<22}{'events':>7}{'errors':>7}"]
            for row in handlers:
                lines.append(f"{row.name[:33]:<34}{row.scope:<22}{row.events:>7}{row.errors:>7}")
    if any(row.usage_missing_calls for row in rows.models):
        lines.append("? the provider sent no usage: tiktoken estimate (ChatOpenAI: pass stream_usage=True)")
    return "\n".join(lines)


def listen_headless(*, as_json: bool, out: TextIO = sys.stdout, err: TextIO = sys.stderr,
                    stop: threading.Event | None = None, sinks: Sequence[Sink] = ()) -> int:
    """Receive watched programs until ctrl+c or SIGTERM (or `stop`), then print the ledger."""
    from flowertui.trace.listen import WatchedRuns

    count = _Count()
    stop = stop or threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    runs = WatchedRuns([count, *sinks], writer=_writer(err))
    err.write(f"flowertui: listening as session {runs.session_id}; programs calling flowertui.watch() report here "
              "(ctrl+c stops)\n")
    err.flush()
    try:
        while not stop.wait(0.2):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        runs.close()
    rows, listener = runs.ledger.rows(), runs.listener
    if as_json:
        document = {"flowertui": __version__, "session_id": runs.session_id, "events": count.n, **rows.to_dict()}
        if listener.dropped:  # records a probe (or an impostor with the token) sent that could not be used
            document["dropped_records"] = dict(listener.dropped)
        out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    else:
        err.write(trace_table(rows) + "\n")
    if listener.dropped:
        reasons = ", ".join(f"{n} × {reason}" for reason, n in listener.dropped.items())
        err.write(f"flowertui: dropped {sum(listener.dropped.values())} unusable records ({reasons})\n")
    return 0
