"""The lesson's programs: ported imports, the lesson's own lines kept, and each runs offline to exit 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from flowertui.lesson.catalog import EXAMPLES, example
from flowertui.serve.server import ShopServer

PROGRAMS = Path(EXAMPLES[0].path()).parent
pytestmark = pytest.mark.xdist_group("lesson-programs")  # the `runs` fixture runs once, in one worker
# pre-1.0 paths; `langchain.agents` (create_agent and its middleware) is LangChain 1.x's own
OLD_IMPORTS = re.compile(r"^\s*(from|import) langchain(\.(?!agents\b)| )", re.MULTILINE)

# Lines the lesson prints or names it uses, kept verbatim by the port.
KEPT = {
    1: ['print(f"The squared result is: {value**2}")', "task1 = asyncio.create_task(compute(3, 4, print_result))"],
    2: ['logger.add(logfile, colorize=True, enqueue=True)', 'prompt = PromptTemplate.from_template("1 + {number} = ")',
        "chain = LLMChain(llm=llm, prompt=prompt, callbacks=[handler], verbose=True)"],
    3: ["class MyFlowerShopSyncHandler(BaseCallbackHandler):", 'print(f"获取花卉数据: token: {token}")',
        'print("祝你今天愉快！")', 'HumanMessage(content="哪种花卉最适合生日？只简单说3种，不超过50字")'],
    4: ['conversation("我姐姐明天要过生日，我需要一束生日花束。")', 'print("\\n总计使用的tokens:", cb.total_tokens)'],
    5: ["async def additional_interactions():", 'print("\\n另外的交互中使用的tokens:", cb.total_tokens)'],
    6: ["ConversationSummaryBufferMemory(llm=llm, max_token_limit=300)", "with get_openai_callback() as cb:"],
    7: ["class MyCallBackHandler(BaseCallbackHandler):", 'print(f"recv token: {token}")',
        "callbacks=[MyFlowerShopSyncHandler()]", 'chain.run(occasion="生日", callbacks=[MyCallBackHandler()])'],
    8: ["with get_usage_metadata_callback() as cb:", "# 回合3 （第二天的对话）", "我又来了，还记得我昨天为什么要来买花吗？"],
}


def test_the_registry_names_every_program_once():
    assert sorted(p.name for p in PROGRAMS.glob("*.py")) == sorted(e.file for e in EXAMPLES)
    assert [e.number for e in EXAMPLES] == list(range(1, 9))
    assert all(e.title_zh and e.title_en and e.watch and e.note for e in EXAMPLES)


@pytest.mark.parametrize("number", range(1, 9))
def test_programs_use_langchain_1x_imports_and_keep_the_lessons_lines(number):
    source = example(number).source()
    assert not OLD_IMPORTS.search(source), "a pre-1.0 `langchain.` import is left"
    for line in KEPT[number]:
        assert line in source


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every program run once against one server, two at a time, each in its own working folder."""
    with ShopServer() as server:
        def run(item):
            folder = tmp_path_factory.mktemp(f"example{item.number}")
            done = subprocess.run([sys.executable, str(item.path())], cwd=folder, capture_output=True, text=True,
                                  timeout=180, env={**os.environ, **server.child_env()})
            return item.number, (done, folder)

        with ThreadPoolExecutor(2) as pool:
            yield dict(pool.map(run, EXAMPLES))


@pytest.mark.parametrize("number", range(1, 9))
def test_each_program_runs_offline_to_exit_0(runs, number):
    done, _ = runs[number]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr


def test_example_1_prints_the_lessons_order(runs):
    lines = runs[1][0].stdout.splitlines()
    assert lines == ["The result is: 7", "The squared result is: 49", "Main starts...", "Starting compute...",
                     "Starting another task...", "Finished compute...", "Finished another task...", "Main ends..."]


def test_example_2_writes_output_log_in_its_working_folder(runs):
    done, folder = runs[2]
    log = (folder / "output.log").read_text("utf-8")
    assert "Entering new LLMChain chain" in log and "1 + 2 = " in log and "Finished chain" in log
    assert "Entering new LLMChain chain" in done.stdout  # verbose=True


def test_example_3_prints_the_handlers_lines_around_the_tokens(runs):
    lines = runs[3][0].stdout.splitlines()
    tokens = [i for i, line in enumerate(lines) if line.startswith("获取花卉数据: token: ")]
    assert len(tokens) > 20
    assert lines[:2] == ["正在获取花卉数据...", "花卉数据获取完毕。提供建议..."]
    assert lines[-2:] == ["整理花卉建议...", "祝你今天愉快！"] and tokens[-1] < len(lines) - 2


@pytest.mark.parametrize(("number", "label"), [(4, "总计使用的tokens:"), (5, "另外的交互中使用的tokens:")])
def test_token_counters_print_a_real_total(runs, number, label):
    found = re.findall(rf"{label} (\d+)", runs[number][0].stdout)
    assert len(found) == 1 and int(found[0]) > 100


def test_example_6_prints_one_total_per_memory_kind_and_summaries_cost_more(runs):
    totals = dict(re.findall(r"^(Conversation\w+Memory(?:\([^)]*\))?): (\d+)$", runs[6][0].stdout, re.MULTILINE))
    assert len(totals) == 5
    assert int(totals["ConversationSummaryMemory"]) > int(totals["ConversationBufferMemory"])


def test_example_7_both_handlers_get_every_token_only_the_request_one_sees_chains(runs):
    lines = runs[7][0].stdout.splitlines()
    assert lines.count("请求回调: 模型开始") == 2 and len([x for x in lines if x.startswith("请求回调: 链开始")]) == 3
    tokens = [x[len("recv token: "):] for x in lines if x.startswith("recv token: ")]
    assert tokens and tokens == [x[len("获取花卉数据: token: "):] for x in lines if x.startswith("获取花卉数据: token: ")]


def test_example_8_prints_one_total_per_strategy_and_summarising_costs_most(runs):
    totals = dict(re.findall(r"^(trim_messages\(.*?\)|SummarizationMiddleware\(.*?\)): (\d+)$", runs[8][0].stdout,
                             re.MULTILINE))
    assert len(totals) == 3 and all(int(total) > 100 for total in totals.values())
    summarised = int(next(total for name, total in totals.items() if name.startswith("Summarization")))
    assert all(summarised > int(total) for name, total in totals.items() if name.startswith("trim_messages"))
