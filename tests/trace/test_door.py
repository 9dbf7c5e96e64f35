"""Speed at the door: what `flowertui trace` does before the program starts is kept to the standard library."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.traced import flowertui

SPY = """
import json, sys
from flowertui import cli
from flowertui.trace import launcher

seen = []
spawn = launcher.spawn

def spy(argv, env, **streams):
    seen.append(sorted(m for m in sys.modules if m.startswith(("flowertui.engine", "flowertui.session", "tiktoken"))))
    return spawn(argv, env, **streams)

launcher.spawn = spy
code = cli.main(["trace", "--headless", "--no-offline", sys.argv[1]])
print(json.dumps(seen), file=sys.stderr)
"""


def test_the_program_starts_before_flowertui_loads_its_session_machinery(tmp_path):
    program = tmp_path / "empty.py"
    program.write_text("print('hi')\n")
    flowertui("trace", "--headless", "--no-offline", str(program))  # tiktoken's cache seeded once, as on any machine
    done = subprocess.run([sys.executable, "-c", SPY, str(program)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [loaded] = json.loads(done.stderr.strip().splitlines()[-1])
    # the event schema, ledgers, store and tiktoken load while the program starts, not before it
    assert not [m for m in loaded if m.startswith(("flowertui.engine.events", "flowertui.engine.trace_ledger",
                                                   "flowertui.engine.ledger", "flowertui.session", "tiktoken"))]
    assert done.stdout == "hi\n"
