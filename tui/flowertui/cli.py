"""Command line: argument parsing and sub-commands. Heavy imports happen only in the branch that needs them."""

from __future__ import annotations

import argparse
import os
import sys

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.data_dir:
        os.environ["FLOWERTUI_DATA_DIR"] = args.data_dir
    command = {"run": _run, "sessions": _sessions, "export": _export, "replay": _replay}.get(args.command, _tui)
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

    app = FlowerApp(settings, memory_kind=args.memory, compare=args.compare, theme=args.theme,
                    keymap=settings.keymap, config_theme=settings.theme, history=history)
    app.run()
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
