"""The engine and session layers stay free of Textual, so they run and test without a screen."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import flowertui

PACKAGE = Path(flowertui.__file__).parent
HEADLESS = ["engine", "session", "trace", "serve", "lesson", "otlp"]


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter (what a start imports is seen only there), which must exit 0."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done


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
    run_python(code)


def test_the_app_draws_without_importing_langchain():
    """The first frame must not wait for LangChain: nothing on the app's import path loads it."""
    code = (
        "import sys; import flowertui.cli, flowertui.config, flowertui.app.app;"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'langchain_classic', 'langchain_openai')];"
        "assert not loaded, loaded"
    )
    run_python(code)


def test_the_command_line_reads_the_provider_registry_without_loading_langchain_or_tiktoken():
    """`flowertui --help` and every start-up parse `--provider` against the preset registry itself."""
    code = (
        "import sys; from flowertui.cli import build_parser; from flowertui.engine.providers import PROVIDERS;"
        "action = next(a for a in build_parser()._actions if a.dest == 'top_provider');"
        "assert tuple(action.choices) == PROVIDERS, action.choices;"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'langchain_openai', 'tiktoken')];"
        "assert not loaded, loaded"
    )
    run_python(code)


def test_the_app_imports_before_its_first_frame_only_what_that_frame_draws():
    """The side panes (tables, tabs, the plot), the footer, the events' records, the ledger, the price table, the
    screens, Markdown, the session layer, the tokenizer and the prices' database load after the first frame."""
    later = ("plotext", "textual_plotext", "markdown_it", "flowertui.session", "flowertui.app.screens",
             "flowertui.engine.tokens", "tiktoken", "sqlite3", "textual.widgets._markdown",
             "textual.widgets._text_area", "genai_prices", "flowertui.app.widgets.events_pane",
             "flowertui.app.widgets.token_stream", "flowertui.app.widgets.counter", "textual.widgets._data_table",
             "textual.widgets._tabs", "flowertui.engine.events", "flowertui.engine.ledger", "flowertui.engine.prices",
             "flowertui.app.widgets.app_footer", "textual.widgets._footer")
    code = (
        "import sys; import flowertui.cli, flowertui.config, flowertui.app.app;"
        f"loaded = [m for m in sys.modules if m.startswith({later!r})];"
        "assert not loaded, loaded"
    )
    run_python(code)


async def test_only_the_starting_theme_is_read_before_the_first_frame(tmp_path, monkeypatch):
    """The other theme files are read once the first frame is up; `t` then cycles through all of them."""
    from flowertui.app.app import ChatApp
    from flowertui.config import Settings
    from flowertui.engine.kinds import MemorySettings
    from flowertui.engine.providers import ProviderSettings
    from tests.support.pilot import wait_until

    monkeypatch.setenv("FLOWERTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWERTUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(ChatApp, "boot", lambda self: None)  # no engine needed for this
    app = ChatApp(Settings(ProviderSettings(speed=0), MemorySettings()), theme="lavender")
    assert app.theme == "lavender" and app.flower_themes == ["lavender"]
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: len(app.flower_themes) == 6, what="the other themes to be read")
        assert app.theme == "lavender"
        border = app.query_one("#conversation").styles.border_top[1]  # the starting theme is fully applied
        assert border.hex.lower() == app.theme_variables["ft-pane-conversation"].lower()
        assert app.has_class("-dark-mode", "-theme-lavender")


def test_the_spool_check_on_every_start_loads_nothing_when_no_spool_waits(tmp_path):
    """Every command checks for spooled trace events first; with none, that costs no engine or session import."""
    code = (
        "import sys; from flowertui.cli import _recover_traces; before = set(sys.modules); _recover_traces();"
        "loaded = sorted(m for m in set(sys.modules) - before if m.startswith('flowertui.') or m == 'shlex');"
        "assert set(loaded) <= {'flowertui.trace', 'flowertui.trace.spool', 'flowertui.trace.outlived',"
        " 'flowertui.paths'}, loaded"
    )
    env = {**os.environ, "FLOWERTUI_DATA_DIR": str(tmp_path)}
    run_python(code, env)


def test_the_interrupted_turns_check_on_every_start_loads_nothing_when_no_writer_died(tmp_path):
    """Every command looks for turns a killed flowertui left running; with none, only the lock folder is read."""
    code = (
        "import sys; from flowertui.cli import _close_interrupted; before = set(sys.modules); _close_interrupted();"
        "loaded = sorted(m for m in set(sys.modules) - before if m.startswith(('flowertui.', 'sqlite3')));"
        "assert set(loaded) <= {'flowertui.locks', 'flowertui.paths'}, loaded"
    )
    env = {**os.environ, "FLOWERTUI_DATA_DIR": str(tmp_path)}
    run_python(code, env)


def test_starting_the_app_loads_no_session_layer_before_its_first_frame():
    """The command line's own path to the app (flags, settings, the App built) leaves the session layer for later."""
    code = (
        "import sys; from textual.app import App; App.run = lambda self, *a, **k: None;"
        "import flowertui.cli as cli; cli._exit_now = lambda code: None; cli.main([]);"
        "loaded = [m for m in sys.modules if m.startswith(('flowertui.session', 'sqlite3'))];"
        "assert not loaded, loaded"
    )
    run_python(code)


def test_the_probe_started_in_a_program_loads_only_the_standard_library(tmp_path):
    """Injected at interpreter start, the probe imports nothing beyond the standard library (LangChain it
    patches only when the program itself imports it), and nothing of flowertui's package."""
    code = (
        "import sys, json; probe = sys.modules.get('flowertui_probe');"
        "print(json.dumps({'active': bool(probe and probe.active()),"
        " 'loaded': sorted(m for m in sys.modules if m.split('.')[0] not in sys.stdlib_module_names)}))"
    )

    def loaded(**env: str) -> dict:
        return json.loads(run_python(code, {**os.environ, **env}).stdout)

    without = loaded()  # what this interpreter loads anyway (a virtualenv's .pth hooks)
    traced = loaded(PYTHONPATH=str(PACKAGE / "trace" / "probe"), FLOWERTUI_TRACE="1",
                    FLOWERTUI_TRACE_SPOOL=str(tmp_path))  # no viewer: the probe would spool; nothing is sent
    assert traced["active"]
    assert set(traced["loaded"]) - set(without["loaded"]) == {"sitecustomize", "flowertui_probe"}


def test_the_otlp_exporter_and_protobuf_load_only_when_an_otlp_export_is_asked_for(tmp_path):
    """A run, a file export, a headless trace and the apps' import paths never load opentelemetry-proto,
    protobuf or flowertui.otlp: the extra costs nothing unless `--format otlp` or `--otlp` is given."""
    program = tmp_path / "plain.py"
    program.write_text("print('hello')\n")
    code = "\n".join([
        "import sys, contextlib, io",
        "from flowertui.cli import main",
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):",
        "    assert main(['run', '--script', 'lesson']) == 0",
        "    assert main(['export', 'latest', '--format', 'md', '-o', '-']) == 0",
        f"    assert main(['trace', '--headless', {str(program)!r}]) == 0",
        "import flowertui.app.app, flowertui.app.trace_app",
        # langsmith itself tries `import opentelemetry.sdk` (the namespace package is found, the SDK not)
        "loaded = [m for m in sys.modules if m.startswith(('opentelemetry.proto', 'google.protobuf', 'flowertui.otlp'))]",
        "assert not loaded, loaded",
    ])
    env = {**os.environ, "FLOWERTUI_DATA_DIR": str(tmp_path / "data")}
    run_python(code, env)


def test_the_engine_loads_langchain_without_running_langsmith_s_generated_api_types():
    """langsmith imports its whole generated API package (`langsmith.types`, hundreds of pydantic models, about a
    quarter of the engine's import) for one type alias; LangChain imports langsmith whatever we do. The package's
    body runs only when something reads from it, and then everything in it is there."""
    code = (
        "import sys; import flowertui.engine.assembly;"
        "types = sys.modules['langsmith.types'];"
        "assert 'Session' not in vars(types), 'langsmith.types ran at import';"
        "from langsmith.types.run_select_field import RunSelectField;"
        "from langsmith.types import Session; import langsmith; from langsmith import types as again;"
        "assert again is types and langsmith.types is types and types.Run.__name__ == 'Run'"
    )
    run_python(code)


def test_the_engine_loads_the_lesson_s_memories_without_every_memory_class_or_yaml():
    """`langchain_classic.memory`'s `__init__` imports every memory class (entity, vector-store, a text splitter) and
    LangChain imports `yaml` only to save chains to files: neither package body runs when the engine loads, the
    lesson's five memories and ConversationChain work, and the packages are whole once something reads from them."""
    code = (
        "import sys; import flowertui.engine.assembly;"
        "from flowertui.engine import legacy;"
        "memory = sys.modules['langchain_classic.memory'];"
        "assert 'ConversationEntityMemory' not in vars(memory), 'langchain_classic.memory ran at import';"
        "assert 'langchain_classic.memory.entity' not in sys.modules and 'langchain_text_splitters' not in sys.modules;"
        "assert 'safe_dump' not in vars(sys.modules['yaml']), 'yaml ran at import';"
        "assert legacy.ConversationBufferMemory().memory_variables == ['history'];"
        "from langchain_classic.memory import ConversationEntityMemory, ConversationBufferMemory;"
        "assert ConversationBufferMemory is legacy.ConversationBufferMemory;"
        "import yaml; assert yaml.safe_load(yaml.safe_dump({'a': [1]})) == {'a': [1]} and yaml.__version__"
    )
    run_python(code)


def test_a_deferred_package_serves_two_threads_that_first_use_it_at_once_and_keeps_its_files():
    """The second of two threads that first read a deferred package waited for the body, then was told the name did
    not exist (`from yaml import safe_load` an ImportError); and the package's files were hidden from
    importlib.resources and pkgutil, its loader wrapped without them. `dir()` lists what the body defines."""
    code = """
import importlib.resources, pkgutil, threading
import flowertui.engine.assembly
import yaml
assert 'safe_dump' not in vars(yaml)
failed, start = [], threading.Barrier(4)
def use(name):
    start.wait()
    try:
        getattr(__import__('yaml'), name)
    except Exception as exc:
        failed.append(repr(exc))
threads = [threading.Thread(target=use, args=(name,)) for name in ('safe_load', 'safe_dump', 'dump', 'load')]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
assert failed == [], failed
memory = importlib.resources.files('langchain_classic.memory')
assert memory.joinpath('prompt.py').is_file() and len(list(memory.iterdir())) > 10
assert pkgutil.get_data('yaml', 'nodes.py')
import langchain_classic.memory
assert 'ConversationEntityMemory' in dir(langchain_classic.memory)
"""
    run_python(code)
