"""Fidelity: what the lesson's programs print equals what flowertui recorded of the same run.

Each example runs through the real command, `flowertui lesson N --json`, which
traces it against the offline server; totals come from the provider's usage on
both sides, so they must be equal, not close.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate

import pytest

from flowertui.engine.sanitize import strip_escapes
from tests.support.traced import flowertui, receivers, session_events

pytestmark = pytest.mark.xdist_group("lesson-fidelity")  # one worker runs each example once for the module
LOGURU_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \| INFO .*\n", re.MULTILINE)


def lesson(number: int, folder) -> tuple[dict, str]:
    """The JSON document and the program's output (which --json sends to stderr)."""
    done = flowertui("lesson", str(number), "--json", "--cwd", str(folder), timeout=180)
    err = done.stderr.decode()
    assert done.returncode == 0, err[-3000:]
    document = json.loads(done.stdout)
    assert document["exit_code"] == 0 and document["langchain"]
    return document, err


@pytest.fixture(scope="module")
def lessons(tmp_path_factory):
    """lessons(N): `lesson(N)` run once for the module, in its own folder (the tests only read what it made)."""
    made: dict[int, tuple[dict, str]] = {}

    def run(number: int) -> tuple[dict, str]:
        if number not in made:
            made[number] = lesson(number, tmp_path_factory.mktemp(f"lesson{number}"))
        return made[number]

    return run


def ledger_total(document: dict) -> int:
    return sum(model["total_tokens"] for model in document["models"].values())


@pytest.mark.parametrize(("number", "label"), [(4, "总计使用的tokens:"), (5, "另外的交互中使用的tokens:")])
def test_the_printed_total_equals_the_ledger_total(lessons, number, label):
    document, printed = lessons(number)
    totals = [int(n) for n in re.findall(rf"{label} (\d+)", printed)]
    assert len(totals) == 1 and totals[0] > 0
    assert totals[0] == ledger_total(document) == sum(run["total_tokens"] for run in document["runs"])
    assert all(m["usage_missing_calls"] == 0 for m in document["models"].values())


def test_the_lessons_model_is_priced_as_openai_lists_it(lessons):
    model = lessons(4)[0]["models"]["gpt-3.5-turbo-instruct"]
    assert model["currency"] == "USD"
    assert model["cost"] == pytest.approx((model["prompt_tokens"] * 1.50 + model["completion_tokens"] * 2.00) / 1e6)


def test_concurrent_calls_are_three_runs_of_equal_size(lessons):
    document, _ = lessons(5)
    assert len(document["runs"]) == 3 and len({run["total_tokens"] for run in document["runs"]}) == 1


def test_every_memory_kinds_printed_total_equals_its_runs_in_the_ledger(tmp_path):
    document, printed = lesson(6, tmp_path)
    totals = [int(n) for n in re.findall(r"总计使用的tokens: (\d+)", printed)]
    assert len(totals) == 5
    assert sum(totals) == ledger_total(document)
    # the kinds ran one after another: each printed total closes a run of consecutive top-level runs
    ends = set(accumulate(run["total_tokens"] for run in document["runs"]))
    assert set(accumulate(totals)) <= ends
    # the summariser's own calls are top-level LLMChain runs, counted by both sides
    assert any(run["name"] == "LLMChain" for run in document["runs"])


def test_every_agent_strategys_printed_total_equals_its_runs_in_the_ledger(lessons):
    document, printed = lessons(8)  # get_usage_metadata_callback's totals, the summariser's call included
    totals = [int(n) for n in re.findall(r"总计使用的tokens: (\d+)", printed)]
    assert len(totals) == 3
    assert sum(totals) == ledger_total(document) == sum(run["total_tokens"] for run in document["runs"])
    ends = set(accumulate(run["total_tokens"] for run in document["runs"]))
    assert set(accumulate(totals)) <= ends  # three agents, three turns each: a total closes every third run
    assert len(document["runs"]) == 9 and {run["name"] for run in document["runs"]} == {"LangGraph"}
    model = document["models"]["gpt-4o-mini"]
    assert model["calls"] == 10 and model["usage_missing_calls"] == 0  # nine turns and one summary


def test_output_log_equals_the_log_export_ansi_stripped(tmp_path):
    document, _ = lesson(2, tmp_path / "work")
    written = (tmp_path / "work" / "output.log").read_text("utf-8")
    callback_part = LOGURU_RECORD.sub("", strip_escapes(written))  # loguru's own record line is not a callback
    assert LOGURU_RECORD.search(strip_escapes(written)), "loguru wrote its record too"
    done = flowertui("export", document["session_id"], "--format", "log", "-o", str(tmp_path / "export.log"))
    assert done.returncode == 0, done.stderr.decode()
    exported = (tmp_path / "export.log").read_text("utf-8")
    assert "> Entering new LLMChain chain..." in exported
    assert callback_part == exported


def test_request_handler_reaches_child_runs_constructor_handler_only_the_models(tmp_path):
    document, _ = lesson(7, tmp_path)
    events = session_events(document["session_id"])
    models = {e.run_id for e in events if e.kind == "chat_model_start"}
    assert len(models) == 2
    for event in events:
        got = receivers(event)
        if "MyFlowerShopSyncHandler" in got:
            assert event.run_id in models and got["MyFlowerShopSyncHandler"] == "constructor", event
    starts = [e for e in events if e.kind == "chain_start"]
    assert [e.name for e in starts] == ["LLMChain", "RunnableSequence", "PromptTemplate"]
    for start in starts:
        assert receivers(start).get("MyCallBackHandler") == "request" and "MyFlowerShopSyncHandler" not in receivers(start)
    for model_start in (e for e in events if e.kind == "chat_model_start"):
        assert {"MyCallBackHandler": "request", "MyFlowerShopSyncHandler": "constructor"}.items() <= receivers(model_start).items()
    tokens = [e for e in events if e.kind == "llm_new_token"]
    assert tokens and all(receivers(e).get("MyFlowerShopSyncHandler") == "constructor" for e in tokens)
    assert document["handlers"]["MyCallBackHandler"]["scope"] == "request"
    assert document["handlers"]["MyFlowerShopSyncHandler"]["scope"] == "constructor"
