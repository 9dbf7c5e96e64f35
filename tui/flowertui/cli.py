"""Command line: argument parsing and sub-commands. Heavy imports happen only in the branch that needs them."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from flowertui import __version__
from flowertui.engine.kinds import KINDS
from flowertui.engine.providers import PROVIDERS

if TYPE_CHECKING:
    from flowertui.serve.process import ServerProcess

APP = None  # the `command` of a launch without a sub-command: the app itself

# Flags the top-level parser takes, and where each applies. Given before a sub-command they are
# honoured by it, or refused when they mean nothing there: never silently dropped.
GLOBAL_FLAGS: dict[str, tuple[str, tuple[str | None, ...]]] = {
    "memory": ("--memory", (APP, "run")),
    "compare": ("--compare", (APP, "run")),
    "provider": ("--provider", (APP, "run")),
    "model": ("--model", (APP, "run")),
    "base_url": ("--base-url", (APP, "run")),
    "speed": ("--speed", (APP, "run")),
    "theme": ("--theme", (APP, "replay", "trace", "lesson", "diff")),
    "resume": ("--resume", (APP,)),
    "no_confirm_catch_up": ("--no-confirm-catch-up", (APP,)),
}
SCREEN_FLAGS = {"theme"}  # of those, the ones that mean something only where a screen opens


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


class _ExportFormats:
    """The export format registry's names, read only when `export` is parsed: the registry's
    module is too heavy for every start-up, and the names must not be written out twice."""

    @staticmethod
    def _names() -> list[str]:
        from flowertui.session.export import FORMATS, SENT_FORMATS

        return [*FORMATS, *SENT_FORMATS]

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self):
        return iter(self._names())


def _provider_flags(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The flags that choose a model; `prefix` keeps the top-level copies apart from a sub-command's."""
    parser.add_argument("--provider", dest=prefix + "provider", choices=PROVIDERS,
                        help="offline (default without an API key), openai, a preset, or compatible")
    parser.add_argument("--model", dest=prefix + "model", metavar="NAME", help="model name (default: the provider's)")
    parser.add_argument("--base-url", dest=prefix + "base_url", metavar="URL",
                        help="OpenAI-compatible server URL (env OPENAI_BASE_URL)")
    parser.add_argument("--speed", dest=prefix + "speed", type=float, metavar="N",
                        help="offline assistant pace in tokens/s (0 = as fast as possible)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="flowertui", description="Watch LangChain callbacks, streamed tokens and memory token spend.",
                     epilog="Flags before a command apply to it (`flowertui --memory window run …`); "
                            "one that means nothing to the command is refused.")
    parser.add_argument("--version", action="version", version=f"flowertui {__version__}")
    parser.add_argument("--memory", dest="top_memory", choices=KINDS, help="memory kind to start with (default buffer)")
    parser.add_argument("--compare", dest="top_compare", action="store_true",
                        help="start in compare mode (every memory kind)")
    parser.add_argument("--theme", dest="top_theme", metavar="NAME",
                        help="theme name (the last one chosen is remembered)")
    parser.add_argument("--resume", dest="top_resume", metavar="SESSION",
                        help="reopen a recorded session (an id, or latest) with the provider and model it used")
    parser.add_argument("--no-confirm-catch-up", dest="top_no_confirm_catch_up", action="store_true",
                        help="never ask before a summary memory catches up through a priced model "
                             "(config confirm_catch_up, env FLOWERTUI_CONFIRM_CATCH_UP)")
    parser.add_argument("--data-dir", dest="data_dir", help="where sessions are kept (env FLOWERTUI_DATA_DIR)")
    _provider_flags(parser, prefix="top_")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = commands.add_parser("run", help="run a scripted conversation without a screen")
    run.add_argument("--script", required=True, help="file with one user turn per line, or a bundled script: lesson, week")
    run.add_argument("--memory", choices=(*KINDS, "all"), help="memory kind (default buffer), or all (compare mode)")
    run.add_argument("--compare", action="store_true", help="compare mode with the --memory kind active")
    run.add_argument("--json", action="store_true", help="print one JSON document instead of the streamed replies")
    run.add_argument("--export", metavar="PATH", help="also write the session's events as JSONL")
    run.add_argument("--force", action="store_true", help="overwrite the --export file if it exists")
    _provider_flags(run)
    commands.add_parser("sessions", help="list recorded sessions (those with at least one turn), newest first")
    export = commands.add_parser("export", help="write a recorded session to a file")
    export.add_argument("session", nargs="?", default="latest", help="session id (or prefix), or latest")
    export.add_argument("--format", required=True, choices=_ExportFormats(), metavar="FORMAT",
                        help="one of: %(choices)s")
    export.add_argument("-o", "--output", metavar="PATH", help="the file to write, or - for stdout")
    export.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    export.add_argument("--endpoint", metavar="URL", help="--format otlp: the OTLP/HTTP traces URL "
                        "(default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces)")
    replay = commands.add_parser("replay", help="play a recorded session back through the panes, no model called")
    replay.add_argument("session", help="session id (or prefix), latest, or a .jsonl export")
    replay.add_argument("--time-scale", dest="time_scale", type=float, default=1.0, metavar="X",
                        help="playback pace: 1 = as recorded (default), 2 = twice as fast, 0 = instant")
    replay.add_argument("--max-gap", dest="max_gap", type=float, default=None, metavar="SECONDS",
                        help="shorten any pause longer than this to this (default 2; inf keeps every pause)")
    lesson = commands.add_parser("lesson", help="the lesson's programs: list them, run one offline, or copy one out")
    lesson.add_argument("number", nargs="?", type=int, help="the example to run (no number: list them)")
    lesson.add_argument("--copy", metavar="DIR", help="write the example's source into DIR instead of running it")
    lesson.add_argument("--force", action="store_true", help="overwrite the file --copy writes")
    lesson.add_argument("--cwd", metavar="DIR", help="working folder for files the example writes (default: a new temporary one)")
    lesson.add_argument("--provider", choices=("offline", "openai"), default="offline",
                        help="offline (default): the built-in server; openai: your OPENAI_API_KEY")
    lesson.add_argument("--headless", action="store_true", help="no screen: the program's output, then the trace table")
    lesson.add_argument("--json", action="store_true", help="one JSON document as `trace --json` prints it")
    lesson.add_argument("--theme", metavar="NAME", help="theme name for the app")
    serve = commands.add_parser("serve", help="the offline flower-shop assistant as an OpenAI-compatible server")
    serve.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one, printed)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--speed", type=float, default=0.0, help="streaming pace in tokens/s (0 = as fast as possible)")
    serve.add_argument("--quiet", action="store_true", help="no access log")
    serve.add_argument("--until-eof", dest="until_eof", action="store_true",
                       help="stop when stdin is closed (how flowertui trace runs it for a program)")
    serve.add_argument("--notices", action="store_true",
                       help="one JSON line per embeddings request on stdout (how flowertui trace runs it)")
    serve.add_argument("--fd", type=int, metavar="FD",
                       help="serve on this inherited listening socket (how flowertui trace runs it: the port is "
                            "known before the server is up)")
    serve.add_argument("--replay", metavar="SESSION",
                       help="answer with a recorded session's model replies, in order (an id, latest, or a .jsonl "
                            "export): a run repeated deterministically")
    diff = commands.add_parser("diff", help="compare two sessions, two runs of a traced session or two memory kinds")
    diff.add_argument("a", metavar="A", help="session id (or prefix), latest or a .jsonl export; "
                                             "ID:N for turn (run) N, ID:KIND for one memory kind")
    diff.add_argument("b", metavar="B", help="the same, compared against A")
    diff.add_argument("--json", action="store_true", help="print one JSON document")
    diff.add_argument("--headless", action="store_true", help="print the text table even on a terminal")
    diff.add_argument("--fail-over", dest="fail_over", metavar="PCT",
                      help="exit 1 when B spends more than A by over PCT (5%% or 5)")
    diff.add_argument("--on", choices=("tokens", "cost"), default=None, help="what --fail-over compares (tokens)")
    diff.add_argument("--theme", metavar="NAME", help="theme name for the screen")
    trace = commands.add_parser("trace", help="run a Python program and watch its LangChain callbacks live")
    trace.add_argument("--headless", action="store_true", help="no screen: output passes through, a table at the end")
    trace.add_argument("--json", action="store_true", help="print one JSON document (program stdout goes to stderr)")
    trace.add_argument("--offline", action=argparse.BooleanOptionalAction, default=None,
                       help="point the program at the built-in offline server (default: when no OPENAI_API_KEY "
                            "or OPENAI_BASE_URL is set)")
    trace.add_argument("--listen", action="store_true", help="no program: receive programs that call flowertui.watch()")
    trace.add_argument("--audit", action="store_true",
                       help="a proxy in front of the program's OPENAI_BASE_URL: the usage the wire carried, reconciled")
    trace.add_argument("--replay", metavar="SESSION",
                       help="the offline server answers with this recorded session's replies (an id, latest, or a "
                            ".jsonl export); with --headless or --json")
    trace.add_argument("--theme", metavar="NAME", help="theme name for the app")
    trace.add_argument("--otlp", metavar="URL", help="send each run as OpenTelemetry spans to this OTLP/HTTP "
                       "traces URL when it ends (`env`: the one OTEL_EXPORTER_OTLP_ENDPOINT names)")
    trace.add_argument("program", nargs=argparse.REMAINDER, help="[--] PROGRAM [ARGS…]; a .py file runs under this Python")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    refused = _apply_global_flags(args)
    if refused:
        return _fail(refused)
    if args.data_dir:
        os.environ["FLOWERTUI_DATA_DIR"] = args.data_dir
    if args.command != "serve":  # a server started for a traced program must not take the next start's notes
        from flowertui.paths import DataDirError, prepare_data_dir

        try:
            prepare_data_dir()
        except DataDirError as exc:
            return _fail(str(exc))
        _recover_traces()
        _close_interrupted()
    command = {"run": _run, "sessions": _sessions, "export": _export, "replay": _replay,
               "trace": _trace, "serve": _serve, "lesson": _lesson, "diff": _diff}.get(args.command, _tui)
    try:
        code = command(args)
        sys.stdout.flush()  # a reader that went away is met here, not at interpreter exit
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `flowertui sessions | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _apply_global_flags(args: argparse.Namespace) -> str | None:
    """Hand flags given before the sub-command to it; the one-line reason if one does not apply there."""
    for dest, (flag, commands) in GLOBAL_FLAGS.items():
        value = getattr(args, "top_" + dest)
        own = getattr(args, dest, None)
        setattr(args, dest, own)
        if value is None or value is False:
            continue
        if args.command not in commands:
            where = " and ".join("the app" if c is APP else f"`{c}`" for c in commands)
            hint = "; a replay's pace is `replay --time-scale X`" if dest == "speed" and args.command == "replay" else ""
            return f"{flag} applies to {where}, not to `{args.command}`{hint}"
        if own is not None and own is not False:
            return f"{flag} given both before and after `{args.command}`: give it once"
        if dest in SCREEN_FLAGS and (screenless := _without_screen(args)):
            return f"{flag} applies where a screen opens, not to {screenless}"
        setattr(args, dest, value)
    if getattr(args, "theme", None) and (screenless := _without_screen(args)):  # given after the sub-command
        return f"--theme applies where a screen opens, not to {screenless}"
    if args.command == "lesson" and args.number is None:
        listed = next((flag for flag in ("json", "headless", "copy") if getattr(args, flag)), None)
        if listed:
            return f"lesson --{listed} needs an example number: flowertui lesson N --{listed}"
    return None


def _without_screen(args: argparse.Namespace) -> str | None:
    """How this command was asked to run with no screen (so a theme would mean nothing), or None."""
    if args.command == "lesson" and args.number is None:
        return "`lesson` without a number (it lists the examples)"
    flag = next((name for name in ("headless", "json", "copy") if getattr(args, name, None)), None)
    return f"`{args.command} --{flag}`" if flag else None


def _fail(message: str, code: int = 2) -> int:
    print(f"flowertui: error: {message}", file=sys.stderr)
    return code


def _flags(args: argparse.Namespace, default_speed: float | None = None) -> dict:
    """The provider flags as `config.resolve` takes them."""
    return {"provider": args.provider, "model": args.model, "base_url": args.base_url,
            "speed": default_speed if args.speed is None else args.speed,
            "confirm_catch_up": False if getattr(args, "no_confirm_catch_up", None) else None}


def _tui(args: argparse.Namespace) -> int:
    """The app; Textual is imported here, LangChain only once the first frame is up."""
    from flowertui.config import ConfigError, resolve, resume_settings

    try:
        if args.resume:  # the session goes on with the provider and model it was recorded with, or not at all
            from flowertui.engine.events import SessionKind
            from flowertui.session.model import session_start

            history = _load(args.resume)
            recorded, session_id = session_start(history.events), history.header.get("session_id")
            if history.kind != SessionKind.CHAT:  # a program's run has no conversation to go on with
                raise ConfigError(f"session {session_id} is traced: traced sessions are replayed, not resumed "
                                  f"(flowertui replay {session_id})")
            try:
                settings = resume_settings(recorded or {}, _flags(args))
            except ConfigError as exc:
                raise ConfigError(f"cannot resume session {session_id}: {exc}") from exc
        else:
            history, settings = None, resolve(_flags(args))
    except (ConfigError, OSError, RuntimeError) as exc:
        return _fail(str(exc))
    from flowertui.app import startup

    startup.begin()  # until the first frame is out (AppBase._boot_after_first_frame): see startup.py
    try:
        from flowertui.app.app import ChatApp

        app = ChatApp(settings, memory_kind=args.memory, compare=bool(args.compare), theme=args.theme,
                      history=history)
        app.run()
    finally:
        startup.end()
    _exit_now(app.return_code or 0)
    return 0


def _exit_now(code: int) -> None:
    """Leave without tearing LangChain's modules down one by one (about 1 s); the session is already saved."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _load(ref: str):
    """A recorded session from the database or a JSONL export (StoreError/ExportError say why not)."""
    from flowertui.paths import data_dir
    from flowertui.session.replay import load_session
    from flowertui.session.store import DB_NAME

    return load_session(ref, data_dir() / DB_NAME)


def _sessions(args: argparse.Namespace) -> int:
    from datetime import datetime

    from flowertui.paths import data_dir
    from flowertui.session.store import DB_NAME, SessionStore, StoreError

    try:
        store = SessionStore(data_dir() / DB_NAME)
        rows = store.sessions()
        store.close()
    except StoreError as exc:
        return _fail(str(exc))
    if not rows:
        print("no sessions yet: run `flowertui` or `flowertui run --script lesson`")
        return 0
    print(f"{'session':<14}{'started':<18}{'provider/model':<34}{'turns':>6}{'tokens':>9}")
    from flowertui.engine.events import SessionKind
    from flowertui.trace.naming import traced_name

    for row in rows:
        started = datetime.fromtimestamp(row.started).strftime("%Y-%m-%d %H:%M")
        name = traced_name(row.model) if row.kind == SessionKind.TRACE else row.label
        tokens = ("~" if row.estimated else "") + str(row.total_tokens)  # `~`: holds tiktoken's estimates
        print(f"{row.id:<14}{started:<18}{name[:33]:<34}{row.turns:>6}{tokens:>9}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from flowertui.engine.prices import PriceTableError, configured_prices
    from flowertui.engine.session_kinds import ledger_of
    from flowertui.session.export import FORMATS, SENT_FORMATS, export

    if args.format in SENT_FORMATS:
        return _export_otlp(args)
    if args.endpoint:
        return _fail(f"--endpoint is for --format {' or '.join(SENT_FORMATS)}; --format {args.format} writes a file")
    if not args.output:
        return _fail(f"--format {args.format} writes a file: give it with -o PATH (- for stdout)")
    try:
        data = _load(args.session)
        ledger = ledger_of(data.kind, data.events, configured_prices())
        if args.output == "-":  # `-o -`: the document on stdout, nothing else there
            sys.stdout.write(FORMATS[args.format](data, ledger))
            return 0
        path = export(data, args.format, Path(args.output), ledger, force=args.force)
    except (OSError, RuntimeError, PriceTableError) as exc:
        return _fail(str(exc))
    print(f"exported session {data.header.get('session_id')} ({len(data.events)} events) to {path}")
    return 0


def _export_otlp(args: argparse.Namespace) -> int:
    """Send a recorded session's runs as spans; exit 1 when the endpoint did not take them all."""
    if args.output or args.force:
        return _fail("--format otlp sends to an endpoint (--endpoint URL), it writes no file")
    try:
        from flowertui.otlp.deliver import send_events
        from flowertui.otlp.endpoint import EndpointError, resolve

        endpoint = resolve(args.endpoint)
        data = _load(args.session)
    except ImportError as exc:
        return _fail(str(exc))
    except (EndpointError, OSError, RuntimeError) as exc:
        return _fail(str(exc))
    report = send_events(data.events, endpoint)
    if not report.ok:
        return _fail(report.line(), code=1)
    print(f"exported session {data.header.get('session_id')} ({len(data.events)} events): {report.line()}")
    return 0


def _otlp_sink(args: argparse.Namespace, *, headless: bool):
    """`trace --otlp`: the live exporter (None without the flag), or the one line why it cannot be."""
    if not getattr(args, "otlp", None):
        return None, None
    try:
        from flowertui.otlp.deliver import LiveExporter
        from flowertui.otlp.endpoint import EndpointError, resolve

        endpoint = resolve(args.otlp)
    except ImportError as exc:
        return None, str(exc)
    except EndpointError as exc:
        return None, f"--otlp: {exc}"
    say = (lambda line: print(f"flowertui: {line}", file=sys.stderr, flush=True)) if headless else None
    return LiveExporter(endpoint, say=say), None


def _replay(args: argparse.Namespace) -> int:
    from flowertui.config import ConfigError, viewer_settings
    from flowertui.session.replay import Replay

    if not args.time_scale >= 0:
        return _fail("--time-scale must be 0 (instant) or more")
    if args.max_gap is not None and not args.max_gap > 0:
        return _fail("--max-gap must be more than 0 seconds (inf keeps every pause)")
    replay = Replay(args.time_scale) if args.max_gap is None else Replay(args.time_scale, args.max_gap)
    try:
        settings = viewer_settings()  # a replay calls no model, so needs no key; themes and keys count
        history = _load(args.session)
    except (ConfigError, OSError, RuntimeError) as exc:
        return _fail(str(exc))
    from flowertui.engine.events import SessionKind

    if history.kind == SessionKind.TRACE:  # a traced program's session replays in the trace panes
        from flowertui.app.trace_app import TraceApp

        TraceApp(settings, None, theme=args.theme, history=history, replay=replay).run()
        return 0
    from flowertui.app.app import ChatApp

    ChatApp(settings, theme=args.theme, history=history, replay=replay).run()
    return 0


def _diff(args: argparse.Namespace) -> int:
    """`flowertui diff A B`: the screen on a terminal, else (or with --headless / --fail-over) a text table;
    --json one document. With --fail-over the verdict is one line on stderr and the exit code (1: over)."""
    from flowertui.engine.prices import PriceTableError, configured_prices
    from flowertui.paths import data_dir
    from flowertui.session.diff import DiffError, fail_over, load_diff, parse_pct
    from flowertui.session.store import DB_NAME

    if args.on and args.fail_over is None:
        return _fail("--on says what --fail-over compares: give --fail-over PCT too")
    try:
        pct = None if args.fail_over is None else parse_pct(args.fail_over)
        diff = load_diff(args.a, args.b, data_dir() / DB_NAME, configured_prices())
        verdict = None if pct is None else fail_over(diff, pct, args.on or "tokens")
    except (DiffError, PriceTableError) as exc:
        return _fail(str(exc))
    if args.json:
        import json

        document = diff.to_dict()
        if verdict is not None:
            document["fail_over"] = {"pct": pct, "on": args.on or "tokens", "over": verdict.over}
        print(json.dumps(document, ensure_ascii=False, indent=1))
    elif args.headless or verdict is not None or not sys.stdout.isatty():
        from flowertui.session.diff_table import render

        sys.stdout.write(render(diff))
    else:
        from flowertui.app.diff_app import DiffApp
        from flowertui.config import ConfigError, viewer_settings

        try:
            settings = viewer_settings()
        except ConfigError as exc:
            return _fail(str(exc))
        DiffApp(diff, theme=args.theme, config_theme=settings.theme).run()
    if verdict is None:
        return 0
    sys.stdout.flush()
    print(verdict.line, file=sys.stderr)
    return 1 if verdict.over else 0


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from flowertui.config import ConfigError, resolve
    from flowertui.engine.scripts import ScriptError, load_script
    from flowertui.session.export import ExportError
    from flowertui.engine.prices import PriceTableError
    from flowertui.engine.tokens import TokenizerDataError
    from flowertui.session.store import StoreError

    try:
        turns = load_script(args.script)
        settings = resolve(_flags(args, default_speed=0.0))
    except (ScriptError, ConfigError) as exc:
        return _fail(str(exc))
    from flowertui.run_script import RunOptions, run_script

    compare = args.memory == "all" or bool(args.compare)
    options = RunOptions(memory_kind=args.memory if args.memory not in (None, "all") else "buffer", compare=compare,
                         json=args.json, export=Path(args.export) if args.export else None, force=args.force)
    if options.export and (refused := _unwritable(options.export, args.force)):  # before any turn is paid for
        return _fail(refused)
    try:
        return run_script(settings, options, turns)
    except (ExportError, StoreError, TokenizerDataError, PriceTableError) as exc:
        return _fail(str(exc))


def _unwritable(path: Path, force: bool) -> str | None:
    """Why an export could not be written to `path` at the end of a run, or None."""
    if path.is_dir():
        return f"--export {path} is a directory: name a file"
    if path.exists() and not force:
        return f"{path} exists; pass --force to overwrite it"
    if not path.parent.is_dir():
        return f"cannot write {path}: the folder {path.parent} does not exist"
    return None


def _serve(args: argparse.Namespace) -> int:
    """The HTTP stack is imported here only: `flowertui` itself never loads it."""
    import shlex

    if args.speed < 0 or not 0 <= args.port <= 65535:
        return _fail("--speed must be 0 or more and --port from 0 to 65535")
    import threading

    notices, ended = None, threading.Event()
    if args.notices:
        from flowertui.serve.notices import Notices

        notices = Notices()
    if args.until_eof:  # read from the start: flowertui names the session before the first request comes
        read = notices.follow if notices else lambda stream: stream.read()
        threading.Thread(target=lambda: (read(sys.stdin.buffer), ended.set()), daemon=True).start()
    if args.fd is not None:  # started for a traced program: the HTTP stack loads without slowing it or flowertui
        import select

        from flowertui.trace.priority import built_low

        select.select([args.fd], [], [], IDLE_START)  # a short program never calls it: then it never loads at all
        built_low(_load_server)
    from flowertui.engine.tokens import TokenizerDataError
    from flowertui.serve.server import ServeError, ShopServer

    cassette = None
    if args.replay:
        from flowertui.serve.cassette import CassetteError

        try:
            cassette = _cassette(args.replay, None if args.quiet else lambda line: print(line, flush=True))
        except CassetteError as exc:
            return _fail(str(exc))
    sock = None
    if args.fd is not None:
        import socket

        sock = socket.socket(fileno=args.fd)
    server = ShopServer(args.host, args.port, args.speed, access_log=not args.quiet, sock=sock, replies=cassette,
                        on_embedding=notices.embedding if notices else None)
    try:
        base_url = server.start()
    except (ServeError, TokenizerDataError) as exc:
        return _fail(str(exc))
    child = server.child_env()
    if notices is None:  # with notices, stdout is flowertui's pipe, for them only
        if cassette is None:
            print(f"flowertui serve: the offline flower-shop assistant on {base_url}  (Ctrl-C stops it)", flush=True)
        else:
            skipped = f"; {cassette.unfinished} that never ended are left out" if cassette.unfinished else ""
            print(f"flowertui serve: replaying session {cassette.name} ({cassette.described}: {len(cassette.calls)} "
                  f"recorded model calls{skipped}) on {base_url}  (Ctrl-C stops it)", flush=True)
        print("  export " + " ".join(f"{name}={shlex.quote(child[name])}" for name in
                                     ("OPENAI_BASE_URL", "OPENAI_API_KEY", "TIKTOKEN_CACHE_DIR")), flush=True)
    if args.until_eof:
        threading.Thread(target=lambda: (ended.wait(), server.request_stop()), daemon=True).start()
    try:
        server.wait()
    finally:
        server.stop()
    return 0


def _cassette(ref: str, log=None):
    """A recorded session's model calls to replay (CassetteError: one line saying why not; none recorded too)."""
    from flowertui.paths import data_dir
    from flowertui.serve.cassette import CassetteError, load
    from flowertui.session.store import DB_NAME

    cassette = load(ref, data_dir() / DB_NAME, log)
    if not cassette.calls:
        raise CassetteError(f"session {cassette.name} recorded no model call that ended: there is nothing to replay")
    return cassette


IDLE_START = 0.4  # seconds `serve --fd` waits for a first connection before loading (a program importing LangChain
                  # takes longer than that to send its first request; a request sooner is served as soon as loaded)


def _load_server() -> None:
    """Import the HTTP stack and seed tiktoken's cache (a lowered thread runs this: see priority.py)."""
    from flowertui.engine.tokens import TokenizerDataError, ensure_offline_tiktoken
    from flowertui.serve import server  # noqa: F401

    try:
        ensure_offline_tiktoken()
    except TokenizerDataError:  # said by the server's own start
        pass


def _lesson(args: argparse.Namespace) -> int:
    """`flowertui lesson [N] [--copy DIR] [--headless] [--json] [--cwd DIR] [--provider …]`."""
    from flowertui.lesson.catalog import EXAMPLES, LessonError, copy_to, example

    if args.number is None:
        for item in EXAMPLES:
            print(f"{item.number}  {item.title_zh} / {item.title_en}\n   watch: {item.watch}")
        print("\nflowertui lesson N traces one offline; flowertui lesson N --copy DIR writes it out to edit.")
        return 0
    from flowertui.lesson.runner import run, working_dir
    from flowertui.trace.launcher import LaunchError

    try:
        item = example(args.number)
        if args.copy:
            print(f"wrote {copy_to(item, Path(args.copy), args.force)}")
            return 0
        if args.provider == "openai" and not os.environ.get("OPENAI_API_KEY"):
            raise LessonError("--provider openai needs OPENAI_API_KEY in the environment")
        folder = working_dir(args.cwd)
        if not (args.headless or args.json):
            offline = args.provider == "offline" and item.uses_model
            code = _trace_app(args, [str(item.path())], offline=offline, cwd=folder, lesson=item)
        else:
            print(f"flowertui lesson {item.number}: {item.title_zh} / {item.title_en}\n  watch: {item.watch}\n"
                  f"  working folder: {folder}", file=sys.stderr, flush=True)
            code = run(item, folder, args.provider, as_json=args.json)
    except (LessonError, LaunchError) as exc:
        return _fail(str(exc))
    written = [str(folder / name) for name in item.writes if (folder / name).exists()]
    if written:
        print(f"flowertui lesson {item.number}: wrote {', '.join(written)}", file=sys.stderr)
    return code


def _recover_traces() -> None:
    """Import events that traced programs spooled while no flowertui was there to receive them, and say where
    the output of programs that outlived their viewer went."""
    from flowertui.trace.outlived import output_notices
    from flowertui.trace.spool import spool_dir, waiting

    for line in output_notices(spool_dir()):
        print(f"flowertui: {line}", file=sys.stderr)

    if not waiting():
        return
    from flowertui.engine.prices import configured_prices
    from flowertui.paths import data_dir
    from flowertui.session.store import DB_NAME
    from flowertui.trace.spool import recover

    try:
        for session_id, imported, skipped in recover(data_dir() / DB_NAME, configured_prices()):
            reasons = ", ".join(f"{count} × {reason}" for reason, count in skipped.items())
            note = f"skipped {sum(skipped.values())} unreadable spooled records ({reasons})" if skipped else ""
            if imported:
                note = f"recovered spooled trace events into session {session_id}" + (f"; {note}" if note else "")
            else:
                note += f" of session {session_id}"
            print(f"flowertui: {note}", file=sys.stderr)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"flowertui: could not import spooled trace events: {exc}", file=sys.stderr)


def _close_interrupted() -> None:
    """Close the turns a killed flowertui left running (its session's writer lock is free)."""
    from flowertui.paths import data_dir
    from flowertui.locks import any_abandoned

    if not any_abandoned(data_dir()):  # cheap: only os and fcntl are loaded
        return
    from flowertui.engine.prices import configured_prices
    from flowertui.session.interrupted import close_interrupted
    from flowertui.session.store import DB_NAME

    try:
        for closed in close_interrupted(data_dir() / DB_NAME, configured_prices()):
            turns = ", ".join(map(str, closed.turns))
            estimate = "; the call in flight is estimated (~)" if closed.estimated else ""
            print(f"flowertui: closed turn {turns} of session {closed.session_id} as interrupted{estimate}",
                  file=sys.stderr)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"flowertui: could not close interrupted sessions: {exc}", file=sys.stderr)


def _trace(args: argparse.Namespace) -> int:
    """`flowertui trace [--headless] [--json] [--] PROGRAM [ARGS…]`."""
    from flowertui.trace.launcher import LaunchError

    from flowertui.trace.spool import check_spool

    if spool_problem := check_spool():  # said before the program starts, not after its events are lost
        print(f"flowertui: {spool_problem}", file=sys.stderr)
    exporter, refused = _otlp_sink(args, headless=args.headless or args.json)
    if refused:
        return _fail(refused)
    sinks = [exporter] if exporter is not None else []
    try:
        if args.listen and args.program:
            return _fail("--listen takes no program: run yours with flowertui.watch() in it")
        if args.listen and args.audit:
            return _fail("--audit needs a program flowertui starts (its OPENAI_BASE_URL is pointed at the proxy)")
        if args.listen and (args.headless or args.json):
            from flowertui.trace.headless_run import listen_headless

            return listen_headless(as_json=args.json, sinks=sinks)
        if args.replay and (args.listen or args.offline is False or not (args.headless or args.json)):
            return _fail("--replay needs a program and --headless or --json (in the app a restart would run past "
                         "the recording); it answers through the offline server, so not with --no-offline")
        if args.headless or args.json:
            from flowertui.trace.headless_run import run_headless

            with _program_env(args) as (env, keep, server):
                if not args.audit:
                    return run_headless(args.program, as_json=args.json, env=env, keep=keep, sinks=sinks, server=server)
                from flowertui.trace.audit.process import audited

                with audited(env, keep) as (env, keep, proxy):
                    return run_headless(args.program, as_json=args.json, env=env, keep=keep, audit=proxy, sinks=sinks,
                                        server=server)
        return _trace_app(args, args.program, offline=_offline(args), sinks=sinks)
    except LaunchError as exc:
        return _fail(str(exc))
    finally:
        if exporter is not None:  # the program has ended: what it ran is sent (a bounded wait), then said
            print(f"flowertui: {exporter.close().line()}", file=sys.stderr)


def _offline(args: argparse.Namespace) -> bool:
    """--offline, --no-offline, or by default: offline when the program has no OpenAI key or server of its own."""
    from flowertui.serve import offline_by_default

    if args.replay:
        return True
    return not args.listen and (offline_by_default(os.environ) if args.offline is None else args.offline)


@contextmanager
def _program_env(args: argparse.Namespace) -> Iterator[tuple[dict[str, str] | None, dict, ServerProcess | None]]:
    """The traced program's environment, and what its relay must hold: pointed at an offline server process
    (which outlives flowertui while the program runs) when --offline applies, and that server."""
    if not _offline(args):
        yield None, {}, None
        return
    from flowertui.serve.process import offline_server

    replay = None
    if args.replay:  # resolved now: `latest` must not become the session this trace is about to record
        from flowertui.serve.cassette import CassetteError
        from flowertui.trace.launcher import LaunchError

        try:
            cassette = _cassette(args.replay)
        except CassetteError as exc:
            raise LaunchError(str(exc)) from None
        replay = str(Path(args.replay).resolve()) if Path(args.replay).is_file() else cassette.name
        print(f"flowertui: replaying session {cassette.name} ({cassette.described}: {len(cassette.calls)} recorded "
              "model calls): the program's model calls get its replies", file=sys.stderr, flush=True)
    with offline_server(replay=replay) as triple:
        yield triple


def _trace_app(args: argparse.Namespace, program: list[str], *, offline: bool, cwd: Path | None = None,
               lesson=None, sinks: list | None = None) -> int:
    """The app's trace mode; flowertui's exit code is the program's last run's."""
    from flowertui.config import ConfigError, viewer_settings
    from flowertui.trace import launcher

    listen = getattr(args, "listen", False)
    if not listen:
        launcher.resolve(program)  # a program that cannot start is a one-line error before any screen
    try:
        settings = viewer_settings()  # the program's provider variables are its own: the viewer calls no model
    except ConfigError as exc:
        return _fail(str(exc))
    from flowertui.app.trace_app import TraceApp

    app = TraceApp(settings, program, listen=listen, theme=args.theme, offline=offline, cwd=cwd, lesson=lesson,
                   sinks=sinks, audit=getattr(args, "audit", False))
    app.run()
    if app.stopped_on_quit:
        print(f"flowertui: {app.stopped_on_quit}", file=sys.stderr)
    coverage = app.tracer.coverage if app.tracer is not None else None
    if coverage is not None and coverage.state == "not traced":  # said where it stays once the screen is gone
        print(coverage.line(), file=sys.stderr)
    return 0 if app.returncode is None else launcher.exit_code(app.returncode)
