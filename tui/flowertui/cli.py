"""Command line: argument parsing and sub-commands. Heavy imports happen only in the branch that needs them."""

from __future__ import annotations

import argparse
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
    parser.add_argument("--memory", default="buffer", choices=MEMORY_CHOICES[:-1], help="memory kind to start with")
    parser.add_argument("--compare", action="store_true", help="start in compare mode (all five memory kinds)")
    parser.add_argument("--theme", help="theme name (the last one chosen is remembered)")
    _provider_flags(parser)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = commands.add_parser("run", help="run a scripted conversation without a screen")
    run.add_argument("--script", required=True, help="file with one user turn per line, or a bundled script: lesson, week")
    run.add_argument("--memory", default="buffer", choices=MEMORY_CHOICES, help="memory kind, or all (compare mode)")
    run.add_argument("--json", action="store_true", help="print one JSON document instead of the streamed replies")
    run.add_argument("--export", metavar="PATH", help="also write the session's events as JSONL")
    run.add_argument("--force", action="store_true", help="overwrite the --export file if it exists")
    _provider_flags(run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return _run(args)
    return _tui(args)


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
    except ConfigError as exc:
        return _fail(str(exc))
    from flowertui.app.app import FlowerApp

    FlowerApp(settings, memory_kind=args.memory, compare=args.compare, theme=args.theme,
              keymap=settings.keymap, config_theme=settings.theme).run()
    return 0


def _run(args: argparse.Namespace) -> int:
    from flowertui.config import ConfigError
    from flowertui.engine.scripts import ScriptError, load_script
    from flowertui.session.export import ExportError

    try:
        turns = load_script(args.script)
        settings = _settings(args, 0.0)
    except (ScriptError, ConfigError) as exc:
        return _fail(str(exc))
    from flowertui.headless import run_script

    try:
        return run_script(args, settings, turns)
    except ExportError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
