"""Export formats: content, the callback log against LangChain's own FileCallbackHandler, atomic writes."""

from __future__ import annotations

import json
import re

import pytest
from langchain_core.callbacks import FileCallbackHandler

from flowertui.engine.events import SCHEMA_VERSION
from flowertui.engine.kinds import KINDS
from flowertui.engine.ledger import Ledger
from flowertui.engine.prices import load_prices
from flowertui.engine.providers import ProviderSettings
from flowertui.engine.session_kinds import SessionKind, ledger_of
from flowertui.session.export import FORMATS, ExportError, export, read_jsonl
from flowertui.session.model import SessionData
from tests.support.rigs import LESSON, offline_rig, record_session

PRICES = load_prices()
PLANTED = "sk-planted-export-key-0123456789abcdef"


def _data(rig) -> SessionData:
    return SessionData.of(rig.events)


def _ledger(rig) -> Ledger:
    """The ledger the CLI's export builds: the recorded events fed in order."""
    return ledger_of(SessionKind.CHAT, rig.events, PRICES)


@pytest.fixture(scope="module")
def compared():
    rig = offline_rig("buffer", compare=True)
    for line in LESSON:
        rig.conversation.ask(line)
    return rig


def test_jsonl_is_a_header_and_exactly_the_events(compared, tmp_path):
    path = export(_data(compared), "jsonl", tmp_path / "s.jsonl", _ledger(compared))
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert lines[0]["schema"] == SCHEMA_VERSION and lines[0]["session_id"] == compared.bus.session_id
    assert lines[0]["provider"] == "offline" and lines[0]["memory_settings"]["window_k"] == 2
    assert [e for e in lines[1:]] == [e.to_dict() for e in compared.events]
    assert read_jsonl(path).events == compared.events


def test_markdown_has_every_turn_and_the_ledger_numbers(compared):
    text = FORMATS["md"](_data(compared), _ledger(compared))
    for line in LESSON:
        assert f"> {line}" in text
    for kind in KINDS:
        for row in compared.ledger.turns(kind):
            assert (f"| {kind} | {row.prompt_tokens} | {row.completion_tokens} | {row.maintenance_tokens} | "
                    f"{row.total_tokens} |") in text
        assert f"| {compared.ledger.totals(kind).total_tokens} |" in text
    assert "estimated" in text


def test_html_is_self_contained_with_turns_event_tree_and_ledger(compared):
    text = FORMATS["html"](_data(compared), _ledger(compared))
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)=['\"]?https?:", text)
    assert text.count("<details>") == 3
    for line in LESSON:
        assert line in text
    assert "chat_model_start" in text and " ms" in text and "memory maintenance" in text
    for kind in KINDS:
        assert f"<td>{compared.ledger.totals(kind).total_tokens}</td>" in text


def test_html_escapes_markup_in_user_text():
    rig = offline_rig("buffer")
    rig.conversation.ask("<script>alert(1)</script> [/bold]")
    text = FORMATS["html"](_data(rig), _ledger(rig))
    assert "<script>alert" not in text and "&lt;script&gt;" in text


def test_the_callback_log_is_what_file_callback_handler_writes(tmp_path):
    rig = offline_rig("buffer")
    logfile = tmp_path / "langchain.log"
    with FileCallbackHandler(str(logfile), mode="w") as handler:
        for line in LESSON:
            rig.conversation.chain.invoke({"input": line},
                                          config={"callbacks": [rig.conversation._request, handler]})
    theirs = re.sub(r"\x1b\[[0-9;]*m", "", logfile.read_text("utf-8"))
    assert FORMATS["log"](_data(rig), _ledger(rig)) == theirs


def test_an_existing_file_is_kept_unless_forced_and_bad_paths_say_why(compared, tmp_path):
    target = tmp_path / "s.md"
    target.write_text("mine")
    with pytest.raises(ExportError, match="--force"):
        export(_data(compared), "md", target, _ledger(compared))
    assert target.read_text() == "mine"
    export(_data(compared), "md", target, _ledger(compared), force=True)
    assert target.read_text().startswith("# flowertui session")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="cannot write"):
        export(_data(compared), "md", blocker / "s.md", _ledger(compared))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "s.md"]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_planted_key_is_absent_from_every_format(fmt):
    rig, _ = record_session([f"我的密钥是 {PLANTED}", LESSON[0]], "summary",
                            provider=ProviderSettings(speed=0, api_key=PLANTED))
    text = FORMATS[fmt](_data(rig), _ledger(rig))
    assert PLANTED not in text
    assert "redacted" in text or fmt == "log"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_an_export_gets_the_permissions_the_umask_gives(compared, tmp_path, umask, mode):
    import os

    previous = os.umask(umask)
    try:
        path = export(_data(compared), "md", tmp_path / "s.md", _ledger(compared))
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == mode
    assert [p.name for p in tmp_path.iterdir()] == ["s.md"]  # no temporary file left beside it


def test_html_counts_streamed_pieces_as_pieces_and_tokens_as_the_provider_reported(compared):
    text = FORMATS["html"](_data(compared), _ledger(compared))
    assert "tokens streamed" not in text
    ends = [e for e in compared.events if e.kind == "llm_end" and not e.maintenance]
    for end in ends:
        pieces = sum(e.counted_token for e in compared.events if e.kind == "llm_new_token" and e.run_id == end.run_id)
        said = f"{pieces} pieces streamed · {end.payload['usage']['output_tokens']} output tokens"
        assert said in text

