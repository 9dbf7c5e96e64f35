"""Modern programs run offline end to end through the real command: `flowertui trace --headless --offline PROGRAM`."""

from __future__ import annotations

from pathlib import Path

from tests.support.traced import flowertui

PROGRAMS = Path(__file__).parent / "programs"


def run(name: str) -> tuple[dict[str, list[str]], str]:
    """The program's tagged lines (TAG rest), and everything printed."""
    done = flowertui("trace", "--headless", "--offline", str(PROGRAMS / name), timeout=180)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, out + err
    assert "Traceback" not in out + err and f"{name} exited 0" in out + err
    said: dict[str, list[str]] = {}
    for line in out.splitlines():
        head, _, rest = line.partition(" ")
        said.setdefault(head, []).append(rest)
    return said, out + err


def test_a_langgraph_agent_calls_its_tool_and_answers_offline():
    said, out = run("agent.py")
    assert said["TOOL"] == ["roses"]
    assert said["KINDS"] == ["HumanMessage AIMessage ToolMessage AIMessage"]
    assert "roses: 8 CNY a stem" in said["ANSWER"][0]
    assert any(line.startswith("gpt-4o-mini") and line.split()[1] == "2" for line in out.splitlines())  # two calls


def test_a_rag_chain_with_openai_embeddings_runs_offline():
    said, out = run("rag.py")
    assert said["FOUND"] == ["Delivery in the city is 15 CNY; order before 18:00 for same-day delivery."]
    assert said["ANSWER"][0].startswith("Yes, we deliver")
    assert "VectorStoreRetriever" in out


def test_structured_output_both_ways_runs_offline():
    said, _ = run("structured.py")
    assert said["BOUQUET"] == ["json_schema Bouquet roses 11", "function_calling Bouquet roses 11"]
