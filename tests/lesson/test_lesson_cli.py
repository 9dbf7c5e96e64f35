"""`flowertui lesson`: the list, --copy, --cwd and bad numbers, through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys

from flowertui.lesson.catalog import EXAMPLES, example


def flowertui(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowertui", *args], capture_output=True, text=True, timeout=180,
                          cwd=cwd)


def test_lesson_lists_every_example_with_both_titles_and_what_to_watch():
    done = flowertui("lesson")
    assert done.returncode == 0, done.stderr
    for item in EXAMPLES:
        assert f"{item.number}  {item.title_zh} / {item.title_en}" in done.stdout
        assert item.watch in done.stdout


def test_copy_writes_the_source_and_keeps_an_existing_file(tmp_path):
    done = flowertui("lesson", "3", "--copy", str(tmp_path / "mine"))
    written = tmp_path / "mine" / "03_async_handlers.py"
    assert done.returncode == 0 and written.read_text("utf-8") == example(3).source()
    written.write_text("# my edits\n", "utf-8")
    again = flowertui("lesson", "3", "--copy", str(tmp_path / "mine"))
    assert again.returncode == 2 and "exists" in again.stderr and written.read_text("utf-8") == "# my edits\n"
    assert flowertui("lesson", "3", "--copy", str(tmp_path / "mine"), "--force").returncode == 0
    assert written.read_text("utf-8") == example(3).source()


def test_an_unknown_example_is_one_line_and_exit_2():
    done = flowertui("lesson", "9")
    assert done.returncode == 2 and done.stderr.strip() == "flowertui: error: no example 9: choose 1 to 8 (`flowertui lesson` lists them)"


def test_output_log_goes_to_the_working_folder_never_the_current_one(tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    done = flowertui("lesson", "2", "--headless", "--cwd", str(there), cwd=here)
    assert done.returncode == 0, done.stderr
    assert (there / "output.log").is_file() and list(here.iterdir()) == []
    assert "Entering new LLMChain chain" in done.stdout


def test_without_cwd_a_temporary_folder_is_used_and_named(tmp_path):
    done = flowertui("lesson", "2", "--headless", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []
    written = done.stderr.strip().splitlines()[-1].split("wrote ")[-1]
    assert written.endswith("output.log") and os.path.isfile(written)


def test_lesson_json_has_the_trace_shape_and_the_programs_exit_code(tmp_path):
    done = flowertui("lesson", "1", "--json", "--cwd", str(tmp_path))
    assert done.returncode == 0, done.stderr
    document = __import__("json").loads(done.stdout)
    assert {"exit_code", "session_id", "events", "models", "runs", "handlers"} <= set(document)
    assert document["exit_code"] == 0 and document["langchain"] is False  # example 1 uses no LangChain
    assert "The squared result is: 49" in done.stderr  # with --json the program's stdout goes to stderr


def test_lesson_headless_passes_the_output_through_then_the_trace_table(tmp_path):
    done = flowertui("lesson", "3", "--headless", "--cwd", str(tmp_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["正在获取花卉数据...", "花卉数据获取完毕。提供建议..."] and lines[-1] == "祝你今天愉快！"
    assert "top-level run" in done.stderr and "MyFlowerShopAsyncHandler" in done.stderr


def test_provider_openai_without_a_key_is_one_line_and_exit_2(tmp_path):
    done = flowertui("lesson", "4", "--provider", "openai", "--cwd", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip() == "flowertui: error: --provider openai needs OPENAI_API_KEY in the environment"


def test_the_shipped_lessons_print_no_deprecation_warnings_but_a_users_program_does(tmp_path):
    """Lessons 2 and 4 use LangChain's deprecated LLMChain, ConversationBufferMemory and langchain_community on
    purpose; LangChain's own filters (added at its import) would print each warning."""
    for number in (2, 4):
        done = flowertui("lesson", str(number), "--headless", "--cwd", str(tmp_path / str(number)))
        assert done.returncode == 0, done.stderr
        assert "Deprecat" not in done.stdout + done.stderr
    own = os.path.join(os.path.dirname(__file__), "..", "trace", "programs", "deprecated_own.py")
    done = flowertui("trace", "--headless", own)
    assert done.returncode == 0, done.stderr
    assert "DeprecationWarning: my_helper is deprecated" in done.stderr
    assert "LangChainDeprecationWarning: old_chain is deprecated in my app" in done.stderr
