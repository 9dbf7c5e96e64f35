"""The lesson's callbacks, traced from outside: who received which event, and what it cost."""

from __future__ import annotations

import json

import pytest

from tests.support.openai_server import OpenAIServer, Reply
from tests.support.traced import Traced, program, receivers, session_events, trace_json


@pytest.fixture(scope="module")
def lesson_traced(tmp_path_factory) -> tuple[Traced, int]:
    """lesson.py traced once for the module against a loopback server (gpt-4o-mini, 42 + 5 tokens a call), and
    how many calls the server answered."""
    data = tmp_path_factory.mktemp("lesson-traced") / "data"
    with OpenAIServer(Reply(model="gpt-4o-mini", prompt_tokens=42, completion_tokens=5)) as server:
        doc, done = trace_json(program("lesson.py"), server.base_url, env={"FLOWERTUI_DATA_DIR": str(data)})
        calls = len(server.requests)
    return Traced(doc, done, data), calls


@pytest.mark.xdist_group("lesson-traced")
def test_every_handler_is_attributed_with_its_scope_and_the_ledger_matches_the_server(lesson_traced):
    traced, calls = lesson_traced
    doc, done = traced.doc, traced.done
    assert done.returncode == 0 and doc["exit_code"] == 0, done.stderr.decode()
    events = traced.events()
    assert doc["events"] == len(events)

    chain_starts = {e.name: e for e in events if e.kind == "chain_start"}
    model_starts = [e for e in events if e.kind == "chat_model_start"]
    assert len(model_starts) == calls == 2
    # request handler: on the chain it was passed to, and inherited by the model run under it
    sequence = chain_starts["RunnableSequence"]
    assert receivers(sequence) == {"MyFlowerShopAsyncHandler": "request", "OpenAICallbackHandler": "context"}
    first_model = next(e for e in model_starts if e.parent_run_id == sequence.run_id)
    assert receivers(first_model) == {"MyFlowerShopAsyncHandler": "request", "OpenAICallbackHandler": "context",
                                      "MyFlowerShopSyncHandler": "constructor"}
    # verbose=True is a constructor handler: the ConversationChain's own run only, never its model call
    conversation = chain_starts["ConversationChain"]
    assert receivers(conversation) == {"StdOutCallbackHandler": "constructor", "OpenAICallbackHandler": "context"}
    second_model = next(e for e in model_starts if e.parent_run_id != sequence.run_id)
    assert "StdOutCallbackHandler" not in receivers(second_model)
    assert "MyFlowerShopAsyncHandler" not in receivers(second_model)
    # the constructor handler got every streamed token, and only model events
    tokens = [e for e in events if e.kind == "llm_new_token"]
    assert tokens and all(receivers(e)["MyFlowerShopSyncHandler"] == "constructor" for e in tokens)
    assert all("MyFlowerShopSyncHandler" not in receivers(e) for e in events if e.kind.startswith("chain"))
    # which handlers act on the event (not just the base class's no-op)
    acting = {h["name"] for h in first_model.payload["handlers"] if h["acts"]}
    assert acting == {"MyFlowerShopAsyncHandler", "OpenAICallbackHandler"}  # on_llm_start via the fallback

    # the ledger equals the server's usage and what get_openai_callback printed in the program
    printed = json.loads(next(line for line in done.stderr.decode().splitlines()
                              if line.startswith("CALLBACK "))[len("CALLBACK "):])
    model = doc["models"]["gpt-4o-mini"]
    assert model["calls"] == 2 and model["usage_missing_calls"] == 0
    assert (model["prompt_tokens"], model["completion_tokens"]) == (42 * calls, 5 * calls)
    assert (model["prompt_tokens"], model["completion_tokens"], model["total_tokens"]) == (
        printed["prompt_tokens"], printed["completion_tokens"], printed["total_tokens"])
    assert abs(model["cost"] - printed["total_cost"]) < 1e-12 and model["currency"] == "USD"
    assert [(r["name"], r["kind"], r["total_tokens"]) for r in doc["runs"]] == [
        ("RunnableSequence", "chain", 47), ("ConversationChain", "chain", 47)]
    handlers = doc["handlers"]
    assert {name: h["scope"] for name, h in handlers.items()} == {
        "MyFlowerShopSyncHandler": "constructor", "MyFlowerShopAsyncHandler": "request",
        "StdOutCallbackHandler": "constructor", "OpenAICallbackHandler": "context"}
    assert handlers["MyFlowerShopSyncHandler"]["events"] == sum(
        "MyFlowerShopSyncHandler" in receivers(e) for e in events)
    # the key the program used never reaches the store
    assert not any("sk-lessonsecret" in json.dumps(e.to_dict(), ensure_ascii=False) for e in events)


def test_missing_streamed_usage_is_marked_with_estimates_never_zero():
    with OpenAIServer(Reply(model="gpt-4o-mini")) as server:
        doc, done = trace_json(program("no_stream_usage.py"), server.base_url)
    assert done.returncode == 0, done.stderr.decode()
    model = doc["models"]["gpt-4o-mini"]
    assert model["usage_missing_calls"] == 1
    assert model["prompt_tokens"] > 0 and model["completion_tokens"] > 0
    end = next(e for e in session_events(doc["session_id"]) if e.kind == "llm_end")
    assert end.payload["usage"] is None and "stream_usage=True" in end.payload["usage_missing"]


def test_three_concurrent_agenerate_calls_are_three_runs_with_their_own_tokens():
    replies = [Reply(model="gpt-4o-mini", pieces=[f"w{n} "] * n, prompt_tokens=10 * n, completion_tokens=n)
               for n in (1, 2, 3)]
    with OpenAIServer(*replies) as server:
        doc, done = trace_json(program("gather_three.py"), server.base_url)
    assert done.returncode == 0, done.stderr.decode()
    runs = doc["runs"]
    assert len(runs) == 3 and all(r["kind"] == "chat_model" and r["calls"] == 1 for r in runs)
    events = session_events(doc["session_id"])
    for run in runs:
        mine = [e for e in events if e.run_id == run["run_id"]]
        text = "".join(e.payload["token"] for e in mine if e.kind == "llm_new_token")
        n = text.count("w")
        assert n in (1, 2, 3) and text == f"w{n} " * n  # no token of another call slipped in
        assert (run["prompt_tokens"], run["completion_tokens"]) == (10 * n, n)
    assert sorted(r["completion_tokens"] for r in runs) == [1, 2, 3]
    assert doc["models"]["gpt-4o-mini"]["total_tokens"] == 66


@pytest.mark.xdist_group("traces")
def test_a_langgraph_graph_nests_its_nodes_and_shows_the_tool_call(traces):
    traced = traces("graph.py")
    assert traced.done.returncode == 0, traced.done.stderr.decode()
    [graph] = traced.doc["runs"]
    assert graph["kind"] == "graph" and graph["status"] == "done"
    events = traced.events()
    parents = {e.run_id: e.parent_run_id for e in events if e.kind.endswith("_start")}

    def root(run_id):
        while parents.get(run_id):
            run_id = parents[run_id]
        return run_id

    nodes = [e for e in events if e.kind == "chain_start" and e.name in ("agent", "tools")]
    assert [e.name for e in nodes] == ["agent", "tools", "agent"]
    assert all(e.parent_run_id == graph["run_id"] for e in nodes)
    tool_start = next(e for e in events if e.kind == "tool_start")
    tool_end = next(e for e in events if e.kind == "tool_end")
    assert tool_start.name == "flower_price" and "rose" in tool_start.payload["input"]
    assert "5 CNY" in tool_end.payload["output"]
    assert root(tool_start.run_id) == graph["run_id"]
    assert sum(e.kind == "chat_model_start" for e in events) == 2


@pytest.mark.xdist_group("lesson-traced")
def test_a_traced_run_is_stored_as_a_trace_session_whose_ledger_rows_the_json_document_prints(lesson_traced):
    from flowertui.engine.prices import configured_prices
    from flowertui.engine.session_kinds import SessionKind, TraceVariant, ledger_of
    from flowertui.engine.events import trace_variant
    from flowertui.session.model import SessionData
    from flowertui.session.store import DB_NAME, SessionStore

    traced, _ = lesson_traced
    doc, done = traced.doc, traced.done
    assert done.returncode == 0, done.stderr.decode()
    events = traced.events()
    data = SessionData.of(events)
    assert data.kind == SessionKind.TRACE and trace_variant(events[0].payload) == TraceVariant.RUN
    ledger = ledger_of(data.kind, events, configured_prices())
    assert {key: doc[key] for key in ("models", "runs", "handlers")} == ledger.rows().to_dict()
    store = SessionStore(traced.data / DB_NAME)
    [overview] = [s for s in store.sessions() if s.id == doc["session_id"]]
    store.close()
    assert overview.kind == SessionKind.TRACE
    assert overview.total_tokens == ledger.total().tokens == sum(m["total_tokens"] for m in doc["models"].values()) > 0
