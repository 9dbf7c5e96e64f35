"""`flowertui serve --replay SESSION` and `flowertui trace --replay SESSION`, through the real commands.

A program is traced offline once (the recording); then it runs again against a replaying server, and must
print the same replies with the same usage. Edited JSONL exports prove the replies come from the recording,
not from the offline assistant (which would answer the same prompts the same way).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.once import built_once
from tests.support.traced import flowertui

PROGRAMS = Path(__file__).parent / "programs"


def said(output: bytes, tag: str = "CALL") -> list[str]:
    return [line.partition(" ")[2] for line in output.decode().splitlines() if line.startswith(tag + " ")]


def traced(data: Path, *args: str) -> tuple[dict, subprocess.CompletedProcess]:
    done = flowertui("trace", "--json", *args, env={"FLOWERTUI_DATA_DIR": str(data)}, timeout=180)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr.decode()
    return json.loads(done.stdout), done


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """replayed.py traced offline once: its session id, its data folder, its document and what it printed."""
    def build(folder: Path) -> list:
        document, done = traced(folder / "data", "--offline", str(PROGRAMS / "replayed.py"))
        return [document["session_id"], document, said(done.stderr)]  # --json: the program's stdout is on stderr

    (session_id, document, printed), folder = built_once(tmp_path_factory, "replay-recording", build)
    return session_id, folder / "data", document, printed


@pytest.fixture(scope="module")
def agent_export(tmp_path_factory):
    """The LangGraph agent traced offline once, exported as JSONL (its data folder, the file)."""
    def build(folder: Path) -> None:
        document, _ = traced(folder / "data", "--offline", str(PROGRAMS / "agent.py"))
        done = flowertui("--data-dir", str(folder / "data"), "export", document["session_id"], "--format", "jsonl",
                         "-o", str(folder / "agent.jsonl"))
        assert done.returncode == 0, done.stderr.decode()

    _, folder = built_once(tmp_path_factory, "replay-agent", build)
    return folder / "data", folder / "agent.jsonl"


@contextmanager
def replaying(ref: str, data: Path):
    """`flowertui serve --replay REF` on a free port: (base URL, banner line, a list the rest of stdout lands in)."""
    process = subprocess.Popen([sys.executable, "-m", "flowertui", "--data-dir", str(data), "serve", "--replay", ref],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    rest: list[str] = []
    try:
        banner = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/v1", banner)
        assert found, banner + process.stderr.read()
        yield found.group(0), banner, rest
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        rest += out.splitlines()
        assert "Traceback" not in err, err


def edited(source: Path, target: Path, edit) -> Path:
    """A copy of a JSONL export with `edit(event)` applied to each event line."""
    lines = source.read_text("utf-8").splitlines()
    events = [json.loads(line) for line in lines[1:]]
    for event in events:
        edit(event)
    target.write_text("\n".join([lines[0], *(json.dumps(e, ensure_ascii=False) for e in events)]) + "\n", "utf-8")
    return target


def test_a_program_run_against_serve_replay_gets_the_recorded_replies_and_usage(recording):
    session_id, data, _, recorded = recording
    assert len(recorded) == 5
    with replaying(session_id, data) as (base_url, banner, log):
        assert f"replaying session {session_id}" in banner and "5 recorded model calls" in banner
        done = subprocess.run([sys.executable, str(PROGRAMS / "replayed.py")], capture_output=True, timeout=120,
                              env={**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-test-placeholder"})
        assert done.returncode == 0, done.stderr.decode()
        assert said(done.stdout) == recorded  # chat, Responses API (both streamed or not), legacy: text, usage

        import openai

        client = openai.OpenAI(base_url=base_url, api_key="sk-test-placeholder")  # the SDK's own retries left on
        with pytest.raises(openai.ConflictError) as refused:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "one more?"}])
        message = refused.value.body["message"]
        assert session_id in message and "request 6" in message and "5 model calls" in message
        assert refused.value.body["code"] == "replay_exhausted"
    replayed = [line for line in log if line.startswith("replay: request")]
    assert [line.split(":")[1].strip() for line in replayed] == [f"request {n}" for n in range(1, 7)]  # no retry of 409
    assert all("mismatch" not in line for line in replayed[:5]) and "past the last recorded call" in replayed[5]


def test_trace_replay_repeats_a_run_with_the_same_tokens(recording):
    session_id, data, original, recorded = recording
    document, done = traced(data, "--replay", session_id, str(PROGRAMS / "replayed.py"))
    assert said(done.stderr) == recorded  # each call's reply and usage, as the program saw them
    assert f"flowertui: replaying session {session_id} (trace/" in done.stderr.decode()
    # the session totals, read by a later start (which imports events a busy machine left in the spool)
    listed = flowertui("--data-dir", str(data), "sessions").stdout.decode().splitlines()
    totals = {line.split()[0]: line.split()[-1] for line in listed[1:]}
    assert totals[document["session_id"]] == totals[session_id] == str(sum(
        model["total_tokens"] for model in original["models"].values()))


def test_a_request_unlike_the_recording_gets_the_next_reply_and_a_mismatch_line(recording):
    session_id, data, _, recorded = recording
    import openai

    with replaying(session_id, data) as (base_url, _, log):
        client = openai.OpenAI(base_url=base_url, api_key="sk-test-placeholder", max_retries=0)
        reply = client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}])
    first = json.loads(recorded[0])
    assert reply.choices[0].message.content == first["text"]
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (first["input"], first["output"])
    [line] = [line for line in log if line.startswith("replay: request 1")]
    assert "mismatch" in line and "the prompt differs" in line and "model gpt-4.1, recorded gpt-4o-mini" in line


def test_requests_out_of_the_recorded_order_get_the_replies_to_their_own_prompts(recording):
    """Gathered concurrent calls reach the server in any order: a request gets the recorded call with its prompt."""
    session_id, data, _, recorded = recording
    import openai

    with replaying(session_id, data) as (base_url, _, log):
        client = openai.OpenAI(base_url=base_url, api_key="sk-test-placeholder", max_retries=0)
        asked = ["Tell me about roses", "Which flowers suit a birthday?"]  # the recording's calls 2 and 1
        replies = [client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])
                   for text in asked]
    assert [r.choices[0].message.content for r in replies] == [json.loads(recorded[n])["text"] for n in (1, 0)]
    lines = [line for line in log if line.startswith("replay: request")]
    assert "call 2/5" in lines[0] and "call 1/5" in lines[1] and not any("mismatch" in line for line in lines)


def test_a_recorded_failure_is_answered_as_that_failure_and_not_retried(agent_export, tmp_path):
    data, export = agent_export

    def edit(event):
        if event["kind"] == "llm_end" and not event["payload"].get("tool_calls"):
            event["kind"] = "llm_error"
            event["payload"] = {"error": "RateLimitError: Error code: 429 - quota", "type": "RateLimitError"}

    cassette = edited(export, tmp_path / "failed.jsonl", edit)
    import openai

    with replaying(str(cassette), data) as (base_url, _, log):
        client = openai.OpenAI(base_url=base_url, api_key="sk-test-placeholder")  # the SDK's own retries left on
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "How much?"}])
        with pytest.raises(openai.RateLimitError) as failed:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "and?"}])
    assert "failed when recorded: RateLimitError: Error code: 429 - quota" in failed.value.body["message"]
    assert len([line for line in log if line.startswith("replay: request")]) == 2  # asked once, not retried


def test_a_langgraph_agent_replays_its_tool_calls_from_a_jsonl_export(agent_export, tmp_path):
    data, export = agent_export

    def edit(event):  # the recording, not the offline assistant, must be what answers
        payload = event["payload"]
        if event["kind"] == "llm_end" and payload.get("tool_calls"):
            payload["tool_calls"][0]["arguments"] = json.dumps({"flower": "tulips"})
            payload["usage"] = {"input_tokens": 1000, "output_tokens": 20, "total_tokens": 1020}
        elif event["kind"] == "llm_end":
            payload["text"] = "Tulips are 6 CNY a stem (replayed)."
            payload["usage"] = {"input_tokens": 2000, "output_tokens": 9, "total_tokens": 2009,
                                "cached_input_tokens": 1500}
        elif event["kind"] == "llm_new_token":
            payload["token"] = ""

    cassette = edited(export, tmp_path / "edited.jsonl", edit)
    document, done = traced(data, "--replay", str(cassette), str(PROGRAMS / "agent.py"))
    assert said(done.stderr, "TOOL") == ["tulips"]
    assert said(done.stderr, "KINDS") == ["HumanMessage AIMessage ToolMessage AIMessage"]
    assert said(done.stderr, "ANSWER") == ["Tulips are 6 CNY a stem (replayed)."]
    model = document["models"]["gpt-4o-mini"]
    assert (model["calls"], model["prompt_tokens"], model["completion_tokens"]) == (2, 3000, 29)
    assert model["cached_tokens"] == 1500


def test_a_reply_the_recording_cut_is_sent_as_kept_and_marked(agent_export, tmp_path):
    data, export = agent_export
    kept = "roses " * 1000

    def edit(event):
        if event["kind"] == "llm_end" and not event["payload"].get("tool_calls"):
            event["payload"]["text"] = kept[:4000] + "… [+2000 chars]"  # what sanitize.truncate stores

    cassette = edited(export, tmp_path / "cut.jsonl", edit)
    import openai

    with replaying(str(cassette), data) as (base_url, _, log):
        client = openai.OpenAI(base_url=base_url, api_key="sk-test-placeholder", max_retries=0)
        first = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "How much are roses?"}])
    assert first.choices[0].message.tool_calls[0].function.name == "price_of"
    assert first.choices[0].finish_reason == "tool_calls"
    assert raw.headers["x-flowertui-replay-cut"] == "2000" and "call 2/2" in raw.headers["x-flowertui-replay"]
    assert raw.parse().choices[0].message.content == kept[:4000]
    assert any("cut: 2000 characters were not recorded" in line for line in log)


HOSTILE = {
    "not JSON": "this is not json\n",
    "no header": '{"kind": "llm_end"}\n',
    "too deep": '{"schema": 2, "session_kind": "trace"}\n' + "[" * 100_000 + "]" * 100_000 + "\n",
    "usage not a count": None,
    "text not text": None,
    "run id a list": None,
    "no model call": '{"schema": 2, "session_kind": "trace", "session_id": "x"}\n',
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_malformed_or_hostile_session_file_is_refused_in_one_line(case, agent_export, tmp_path):
    _, export = agent_export
    path = tmp_path / "bad.jsonl"
    if HOSTILE[case] is not None:
        path.write_text(HOSTILE[case], "utf-8")
    else:
        def edit(event):
            if event["kind"] != "llm_end":
                return
            if case == "usage not a count":
                event["payload"]["usage"] = {"input_tokens": "many", "output_tokens": 1, "total_tokens": 1}
            elif case == "text not text":
                event["payload"]["text"] = {"a": 1}
            else:
                event["run_id"] = ["x"]

        edited(export, path, edit)
    done = flowertui("serve", "--replay", str(path), timeout=60)
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert done.stdout == b""


def test_a_chat_session_replays_its_turns_and_summariser_calls(tmp_path):
    """`flowertui run` recorded offline with summary memory, then run again through `serve --replay latest`."""
    data = tmp_path / "data"
    first = flowertui("--data-dir", str(data), "run", "--script", "lesson", "--memory", "summary", "--json")
    assert first.returncode == 0, first.stderr.decode()
    recorded = json.loads(first.stdout)
    with replaying("latest", data) as (base_url, banner, log):
        assert f"replaying session {recorded['session_id']} (offline/flowershop-offline: 8 recorded" in banner
        again = flowertui("--data-dir", str(data), "run", "--script", "lesson", "--memory", "summary", "--json",
                          "--provider", "compatible", "--base-url", base_url, "--model", "flowershop-offline")
    assert again.returncode == 0, again.stderr.decode()
    replayed = json.loads(again.stdout)
    assert [t["reply"] for t in replayed["turns"]] == [t["reply"] for t in recorded["turns"]]
    rows = [[(t["prompt_tokens"], t["completion_tokens"], t["maintenance_tokens"])
             for t in run["memories"]["summary"]["turns"]] for run in (recorded, replayed)]
    assert rows[0] == rows[1] and replayed["total_tokens"] == recorded["total_tokens"]
    assert len([line for line in log if line.startswith("replay: request")]) == 8  # 4 replies, 4 summaries


@pytest.mark.parametrize("flags", [["--replay", "latest"], ["--headless", "--no-offline", "--replay", "latest"],
                                   ["--headless", "--replay", "no-such-session"]])
def test_trace_replay_refuses_what_it_cannot_do_before_the_program_starts(flags, tmp_path):
    marker = tmp_path / "ran"
    program = tmp_path / "prog.py"
    program.write_text(f"open({str(marker)!r}, 'w').close()\n")
    done = flowertui("trace", *flags, str(program), timeout=60)
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not marker.exists()


def test_a_session_id_with_control_characters_reaches_headers_and_the_log_cleaned(agent_export, tmp_path):
    _, export = agent_export
    hostile = "x\r\nSet-Cookie: a=b\x1b[31m"

    def edit(event):
        event["session_id"] = hostile

    cassette = edited(export, tmp_path / "named.jsonl", edit)
    import httpx

    with replaying(str(cassette), tmp_path / "data") as (base_url, banner, _):
        reply = httpx.post(f"{base_url}/chat/completions",
                           json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "How much?"}]})
    assert reply.status_code == 200 and "set-cookie" not in reply.headers
    assert reply.headers["x-flowertui-replay"] == "x Set-Cookie: a=b call 1/2" and "\x1b" not in banner
