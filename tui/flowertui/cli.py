"""Command line: argument parsing and sub-commands. Heavy imports happen only in the branch that needs them."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from flowertui import __version__

MEMORY_CHOICES = ("buffer", "window", "summary", "summary_buffer", "token_buffer", "all")
PROVIDER_CHOICES = ("offline", "openai", "dashscope", "deepseek", "ollama", "compatible")


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _provider_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", choices=PROVIDER_CHOICES, help="offline (default without an API key), openai, a preset, or compatible")
    parser.add_argument("--model", help="model name (default: the provider's)")
    parser.add_argument("--base-url", dest="base_url", help="OpenAI-compatible server URL (env OPENAI_BASE_URL)")
    parser.add_argument("--speed", type=float, help="offline assistant pace in tokens/s (0 = as fast as possible)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="flowertui", description="Watch LangChain callbacks, streamed tokens and memory token spend.")
    parser.add_argument("--version", action="version", version=f"flowertui {__version__}")
    parser.add_argument("--memory", choices=MEMORY_CHOICES[:-1], help="memory kind to start with (default buffer)")
    parser.add_argument("--compare", action="store_true", help="start in compare mode (all five memory kinds)")
    parser.add_argument("--theme", help="theme name (the last one chosen is remembered)")
    parser.add_argument("--resume", metavar="SESSION", help="reopen a recorded session (an id, or latest)")
    parser.add_argument("--data-dir", dest="data_dir", help="where sessions are kept (env FLOWERTUI_DATA_DIR)")
    _provider_flags(parser)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = commands.add_parser("run", help="run a scripted conversation without a screen")
    run.add_argument("--script", required=True, help="file with one user turn per line, or a bundled script: lesson, week")
    run.add_argument("--memory", default="buffer", choices=MEMORY_CHOICES, help="memory kind, or all (compare mode)")
    run.add_argument("--json", action="store_true", help="print one JSON document instead of the streamed replies")
    run.add_argument("--export", metavar="PATH", help="also write the session's events as JSONL")
    run.add_argument("--force", action="store_true", help="overwrite the --export file if it exists")
    _provider_flags(run)
    commands.add_parser("sessions", help="list recorded sessions, newest first")
    export = commands.add_parser("export", help="write a recorded session to a file")
    export.add_argument("session", nargs="?", default="latest", help="session id (or prefix), or latest")
    export.add_argument("--format", required=True, choices=("jsonl", "md", "html", "log"))
    export.add_argument("-o", "--output", required=True, metavar="PATH")
    export.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    replay = commands.add_parser("replay", help="play a recorded session back through the panes, no model called")
    replay.add_argument("session", help="session id (or prefix), latest, or a .jsonl export")
    replay.add_argument("--speed", type=float, default=1.0, help="1 = original timing, 0 = instant")
    lesson = commands.add_parser("lesson", help="the lesson's programs: list them, run one offline, or copy one out")
    lesson.add_argument("number", nargs="?", type=int, help="the example to run (no number: list them)")
    lesson.add_argument("--copy", metavar="DIR", help="write the example's source into DIR instead of running it")
    lesson.add_argument("--force", action="store_true", help="overwrite the file --copy writes")
    lesson.add_argument("--cwd", metavar="DIR", help="working folder for files the example writes (default: a new temporary one)")
    lesson.add_argument("--provider", choices=("offline", "openai"), default="offline",
                        help="offline (default): the built-in server; openai: your OPENAI_API_KEY")
    lesson.add_argument("--headless", action="store_true", help="no screen: the program's output, then the trace table")
    lesson.add_argument("--json", action="store_true", help="one JSON document as `trace --json` prints it")
    serve = commands.add_parser("serve", help="the offline flower-shop assistant as an OpenAI-compatible server")
    serve.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one, printed)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--speed", type=float, default=0.0, help="streaming pace in tokens/s (0 = as fast as possible)")
    trace = commands.add_parser("trace", help="run a Python program and watch its LangChain callbacks live")
    trace.add_argument("--headless", action="store_true", help="no screen: output passes through, a table at the end")
    trace.add_argument("--json", action="store_true", help="print one JSON document (program stdout goes to stderr)")
    trace.add_argument("--offline", action=argparse.BooleanOptionalAction, default=None,
                       help="point the program at the built-in offline server (default: when no OPENAI_API_KEY "
                            "or OPENAI_BASE_URL is set)")
    trace.add_argument("program", nargs=argparse.REMAINDER, help="[--] PROGRAM [ARGS…]; a .py file runs under this Python")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.data_dir:
        os.environ["FLOWERTUI_DATA_DIR"] = args.data_dir
    _recover_traces()
    command = {"run": _run, "sessions": _sessions, "export": _export, "replay": _replay,
               "trace": _trace, "serve": _serve, "lesson": _lesson}.get(args.command, _tui)
    try:
        return command(args)
    except KeyboardInterrupt:
        return 130


def _fail(message: str, code: int = 2) -> int:
    print(f"flowertui: error: {message}", file=sys.stderr)
    return code


def _settings(args: argparse.Namespace, default_speed: float | None):
    from flowertui.config import resolve

    return resolve({"provider": args.provider, "model": args.model, "base_url": args.base_url,
                    "speed": default_speed if args.speed is None else args.speed})


def _tui(args: argparse.Namespace) -> int:
    """The app; Textual is imported here, LangChain only once the first frame is up."""
    from flowertui.config import ConfigError

    try:
        settings = _settings(args, None)
        history = _load(args.resume) if args.resume else None
    except (ConfigError, OSError, RuntimeError) as exc:
        return _fail(str(exc))
    from flowertui.app.app import FlowerApp

    FlowerApp(settings, memory_kind=args.memory, compare=args.compare, theme=args.theme, keymap=settings.keymap,
              config_theme=settings.theme, history=history).run()
    return 0


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
    for row in rows:
        started = datetime.fromtimestamp(row.started).strftime("%Y-%m-%d %H:%M")
        print(f"{row.id:<14}{started:<18}{(row.provider + '/' + row.model)[:33]:<34}{row.turns:>6}{row.total_tokens:>9}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from flowertui.engine.prices import PriceTableError, configured_prices
    from flowertui.session.export import export

    try:
        data = _load(args.session)
        path = export(data, args.format, Path(args.output), configured_prices(), force=args.force)
    except (OSError, RuntimeError, PriceTableError) as exc:
        return _fail(str(exc))
    print(f"exported session {data.header.get('session_id')} ({len(data.events)} events) to {path}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from flowertui.config import ConfigError

    if args.speed < 0:
        return _fail("--speed must be 0 (instant) or more")
    try:
        settings = _settings(args, None)
        history = _load(args.session)
    except (ConfigError, OSError, RuntimeError) as exc:
        return _fail(str(exc))
    from flowertui.app.app import FlowerApp

    FlowerApp(settings, theme=args.theme, keymap=settings.keymap, config_theme=settings.theme, history=history,
              replay_speed=args.speed).run()
    return 0


def _run(args: argparse.Namespace) -> int:
    from flowertui.config import ConfigError
    from flowertui.engine.scripts import ScriptError, load_script
    from flowertui.session.export import ExportError
    from flowertui.engine.prices import PriceTableError
    from flowertui.engine.tokens import TokenizerDataError
    from flowertui.session.store import StoreError

    try:
        turns = load_script(args.script)
        settings = _settings(args, 0.0)
    except (ScriptError, ConfigError) as exc:
        return _fail(str(exc))
    from flowertui.headless import run_script

    try:
        return run_script(args, settings, turns)
    except (ExportError, StoreError, TokenizerDataError, PriceTableError) as exc:
        return _fail(str(exc))


def _serve(args: argparse.Namespace) -> int:
    """The HTTP stack is imported here only: `flowertui` itself never loads it."""
    if args.speed < 0 or not 0 <= args.port <= 65535:
        return _fail("--speed must be 0 or more and --port from 0 to 65535")
    from flowertui.engine.tokens import TokenizerDataError
    from flowertui.serve.server import ServeError, ShopServer

    server = ShopServer(args.host, args.port, args.speed, access_log=True)
    try:
        base_url = server.start()
    except (ServeError, TokenizerDataError) as exc:
        return _fail(str(exc))
    print(f"flowertui serve: the offline flower-shop assistant on {base_url}  (Ctrl-C stops it)", flush=True)
    print(f"  export OPENAI_BASE_URL={base_url} OPENAI_API_KEY={server.child_env()['OPENAI_API_KEY']}", flush=True)
    try:
        server.wait()
    finally:
        server.stop()
    return 0


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
        folder = working_dir(args.cwd)
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
    """Import events that traced programs spooled while no flowertui was there to receive them."""
    from flowertui.trace.spool import waiting

    if not waiting():
        return
    from flowertui.engine.prices import configured_prices
    from flowertui.paths import data_dir
    from flowertui.session.store import DB_NAME
    from flowertui.trace.spool import recover

    try:
        for session_id in recover(data_dir() / DB_NAME, configured_prices()):
            print(f"flowertui: recovered spooled trace events into session {session_id}", file=sys.stderr)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"flowertui: could not import spooled trace events: {exc}", file=sys.stderr)


def _trace(args: argparse.Namespace) -> int:
    """`flowertui trace [--headless] [--json] [--] PROGRAM [ARGS…]`."""
    from flowertui.trace.launcher import LaunchError

    try:
        if args.headless or args.json:
            from flowertui.serve import offline_by_default
            from flowertui.trace.headless import run_headless

            if not (offline_by_default(os.environ) if args.offline is None else args.offline):
                return run_headless(args.program, as_json=args.json)
            from flowertui.serve.server import offline_env

            with offline_env(os.environ) as env:
                return run_headless(args.program, as_json=args.json, env=env)
        return _fail("the app's trace mode is not built yet; add --headless")
    except LaunchError as exc:
        return _fail(str(exc))
