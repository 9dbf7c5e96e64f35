"""Embeddings a traced program asks the offline server for are counted: LangChain emits no callback for them,
so the server tells flowertui (serve/notices.py) and they show as their own model rows, priced."""

from __future__ import annotations

import json
import os
from pathlib import Path

import openai

from flowertui.engine.prices import configured_prices
from flowertui.paths import data_dir
from flowertui.serve.process import ServerProcess
from flowertui.session.store import DB_NAME
from flowertui.trace.spool import recover, spool_dir
from tests.support.traced import flowertui, session_events

PROGRAMS = Path(__file__).parent / "programs"


def test_a_rag_programs_embeddings_show_as_a_priced_model_row_with_the_servers_count():
    done = flowertui("trace", "--json", "--offline", str(PROGRAMS / "rag_counted.py"), timeout=180)
    assert done.returncode == 0, done.stderr.decode()
    said = dict(line.split(" ", 1) for line in done.stderr.decode().splitlines() if line.startswith(("SERVED", "FOUND")))
    assert said["FOUND"].startswith("Delivery in the city")
    requests, tokens = map(int, said["SERVED"].split())
    assert requests >= 2 and tokens > 0
    document = json.loads(done.stdout)
    row = document["models"]["text-embedding-3-small"]
    assert (row["calls"], row["prompt_tokens"], row["completion_tokens"]) == (requests, tokens, 0)
    assert row["price_source"] == "database" and row["currency"] == "USD"
    assert abs(row["cost"] - tokens * 0.02 / 1_000_000) < 1e-12  # genai-prices: $0.02 per million input tokens
    assert document["coverage"] == "traced"  # an embeddings call is a model call
    stored = [e for e in session_events(document["session_id"]) if e.kind == "embeddings"]
    assert stored and {e.payload.model for e in stored} == {"text-embedding-3-small"}
    assert sum(e.payload.prompt_tokens for e in stored) == tokens
    exported = flowertui("export", document["session_id"], "--format", "jsonl", "-o", "-")
    assert exported.returncode == 0, exported.stderr.decode()
    kinds = [json.loads(line).get("kind") for line in exported.stdout.decode().splitlines()]
    assert kinds.count("embeddings") == len(stored)
    markdown = flowertui("export", document["session_id"], "--format", "md", "-o", "-")
    assert "text-embedding-3-small" in markdown.stdout.decode()


def test_embeddings_served_after_the_viewer_is_gone_are_spooled_and_imported_into_the_run():
    from flowertui.trace.assembly import assemble_trace
    from flowertui.session.store import SessionWriter
    from flowertui.engine.events import TraceVariant

    database = data_dir() / DB_NAME
    data_dir().mkdir(parents=True, exist_ok=True)
    session = assemble_trace(writer=lambda ledger: SessionWriter(database, ledger))
    session.start_session(TraceVariant.RUN, "rag.py")
    run = session.start_run("rag.py", 4242)
    session.close()
    server = ServerProcess()
    server.start()
    try:
        # what follow() tells the server, written by hand: follow() also starts flowertui's reader thread, whose
        # select() would hold the pipe open after close(), so the viewer would not be gone
        os.write(server.lifeline, (json.dumps({"session": session.session_id, "run": run,
                                               "spool": str(spool_dir())}) + "\n").encode())
        server.process.stdout.close()  # the viewer is gone: the server's next notice meets a closed pipe
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        usage = client.embeddings.create(model="text-embedding-3-small", input=["roses for mum", "tulips"]).usage
    finally:
        server.stop()
    spooled = list(spool_dir().glob(f"{session.session_id}.{run}.*.jsonl"))
    assert len(spooled) == 1
    imported = recover(database, configured_prices())
    assert [(session_id, ok) for session_id, ok, _ in imported] == [(session.session_id, True)]
    stored = [e for e in session_events(session.session_id) if e.kind == "embeddings"]
    assert [(e.turn, e.payload.model, e.payload.inputs, e.payload.prompt_tokens) for e in stored] == [
        (run, "text-embedding-3-small", 2, usage.prompt_tokens)]
    assert not [e for e in session_events(session.session_id) if e.kind in ("turn_end", "turn_cancelled")]  # the
    # probe's spool (or the next start's closer) ends the run, not the server's notices
