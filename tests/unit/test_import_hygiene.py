"""The engine and session layers stay free of Textual, so they run and test without a screen."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import flowertui

PACKAGE = Path(flowertui.__file__).parent
HEADLESS = ["engine", "session", "trace", "serve", "lesson"]


def test_no_engine_or_session_module_imports_textual():
    offenders = []
    for folder in HEADLESS:
        for path in (PACKAGE / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(n == "textual" or n.startswith("textual.") for n in names):
                    offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_a_headless_run_never_loads_textual():
    code = (
        "import sys; from flowertui.cli import main; main(['run', '--script', 'lesson']);"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'textual'], 'textual imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_app_draws_without_importing_langchain():
    """The first frame must not wait for LangChain: nothing on the app's import path loads it."""
    code = (
        "import sys; import flowertui.cli, flowertui.config, flowertui.app.app;"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'langchain_classic', 'langchain_openai')];"
        "assert not loaded, loaded"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_command_line_reads_the_provider_registry_without_loading_langchain_or_tiktoken():
    """`flowertui --help` and every start-up parse `--provider` against the preset registry itself."""
    code = (
        "import sys; from flowertui.cli import build_parser; from flowertui.engine.providers import PROVIDERS;"
        "action = next(a for a in build_parser()._actions if a.dest == 'top_provider');"
        "assert tuple(action.choices) == PROVIDERS, action.choices;"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'langchain_openai', 'tiktoken')];"
        "assert not loaded, loaded"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
