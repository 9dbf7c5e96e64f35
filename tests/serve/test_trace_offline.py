"""`flowertui trace --offline`: the default without an API key; the program is pointed at an in-process server."""

from __future__ import annotations

import json

import pytest

from tests.support.traced import flowertui

PROGRAM = """
import os, sys
print("BASE", os.environ.get("OPENAI_BASE_URL"), file=sys.stderr)
if len(sys.argv) > 1:
    from langchain_openai import ChatOpenAI
    from langchain_community.callbacks import get_openai_callback
    with get_openai_callback() as cb:
        reply = ChatOpenAI(model="gpt-4o-mini", streaming=True, stream_usage=True).invoke("哪种花卉最适合生日？")
    print("REPLY", reply.content.splitlines()[0], file=sys.stderr)
    print("TOTAL", cb.total_tokens, file=sys.stderr)
"""


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "program.py"
    path.write_text(PROGRAM, "utf-8")
    return str(path)


def lines(done, prefix: str) -> list[str]:
    return [line.split(" ", 1)[1] for line in done.stderr.decode().splitlines() if line.startswith(prefix + " ")]


def test_without_a_key_the_program_talks_to_the_offline_server(program):
    done = flowertui("trace", "--json", program, "call")
    assert done.returncode == 0, done.stderr.decode()
    document = json.loads(done.stdout)
    assert lines(done, "BASE")[0].startswith("http://127.0.0.1:")
    assert lines(done, "REPLY") == ["为生日，推荐："]
    model = document["models"]["gpt-4o-mini"]
    assert model["calls"] == 1 and model["usage_missing_calls"] == 0
    assert model["total_tokens"] == int(lines(done, "TOTAL")[0]) > 0


def test_no_offline_leaves_the_environment_alone(program):
    done = flowertui("trace", "--json", "--no-offline", program)
    assert done.returncode == 0 and lines(done, "BASE") == ["None"]


def test_a_key_in_the_environment_means_no_offline_server_unless_asked(program):
    keyed = {"OPENAI_API_KEY": "sk-" + "k" * 30}
    assert lines(flowertui("trace", "--json", program, env=keyed), "BASE") == ["None"]
    forced = flowertui("trace", "--json", "--offline", program, env=keyed)
    assert lines(forced, "BASE")[0].startswith("http://127.0.0.1:")


def test_a_server_of_the_programs_own_is_kept(program):
    done = flowertui("trace", "--json", program, env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert lines(done, "BASE") == ["http://127.0.0.1:9/v1"]
