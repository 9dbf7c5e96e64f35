"""Secrets split across streamed tokens, the secret shapes known, and who may read the data folder.

Every test runs the real command in a child process and reads what it stored: the
database (and its -wal file, byte for byte), a JSONL export, stdout and stderr.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from flowertui.engine.sanitize import REDACTED, Redactor
from flowertui.session.store import DB_NAME, SessionStore
from tests.support.faults import PLANTED_KEY
from tests.support.openai_server import OpenAIServer, Reply

PROGRAMS = Path(__file__).parent / "programs"
DB_PASSWORD = "correct-horse-battery"
URL_PASSWORD = "urlpassw0rd99"
GITHUB_KEY = "ghp_" + "A1b2" * 9
FLAG_PASSWORD = "s3cretFlagValue"


def run(*args: str, data: Path, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowertui", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FLOWERTUI_DATA_DIR": str(data), **(env or {})}, **kwargs)


def stored_bytes(data: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())


def tokens(events) -> list[str]:
    return [e.payload["token"] for e in events if e.kind == "llm_new_token"]


def test_a_secret_split_across_streamed_tokens_is_never_stored_in_a_trace(tmp_path):
    data = tmp_path / "data"
    env = {"MY_DB_PASSWORD": DB_PASSWORD, "URL_PW": URL_PASSWORD}
    done = run("trace", "--json", str(PROGRAMS / "stream_secret.py"), "--password", FLAG_PASSWORD, data=data, env=env)
    assert done.returncode == 0, done.stderr
    session_id = json.loads(done.stdout)["session_id"]
    exported = tmp_path / "trace.jsonl"
    assert run("export", session_id, "--format", "jsonl", "-o", str(exported), data=data).returncode == 0
    store = SessionStore(data / DB_NAME)
    events = store.events(session_id)
    store.close()
    streamed = tokens(events)
    assert len(streamed) > 100  # one per character: every secret is split across many tokens
    joined = "".join(streamed)
    (end,) = [e for e in events if e.kind == "llm_end"]
    assert joined == end.payload["text"]  # nothing lost or added: the stream shows what the end shows
    assert joined == (f"db at postgres://bob:{REDACTED}@db/x, the password is {REDACTED} and the key ghp_{REDACTED}"
                      " done.")
    secrets = [DB_PASSWORD, URL_PASSWORD, GITHUB_KEY, FLAG_PASSWORD]
    everything = stored_bytes(data) + exported.read_bytes() + (done.stdout + done.stderr).encode()
    for secret in secrets:
        assert secret.encode() not in everything, secret
        for first in range(len(streamed)):  # no run of stored tokens, joined, holds it
            assert secret not in "".join(streamed[first:first + 40])
    assert events[0].payload["command"].endswith(f"--password {REDACTED}")


def test_a_provider_key_split_across_streamed_tokens_is_never_stored_in_a_chat(tmp_path):
    data = tmp_path / "data"
    script = tmp_path / "turns.txt"
    script.write_text("which key?\n", "utf-8")
    pieces = ["Your key is ", PLANTED_KEY[:6], PLANTED_KEY[6:19], PLANTED_KEY[19:], " and roses ", "are red."]
    with OpenAIServer(Reply(pieces=pieces)) as server:
        done = run("run", "--script", str(script), "--base-url", server.base_url, "--model", "qwen-turbo",
                   "--export", str(tmp_path / "chat.jsonl"), data=data, env={"OPENAI_API_KEY": PLANTED_KEY})
    assert done.returncode == 0, done.stderr
    store = SessionStore(data / DB_NAME)
    (session,) = store.sessions()
    streamed = tokens(store.events(session.id))
    store.close()
    assert "".join(streamed) == f"Your key is {REDACTED} and roses are red."
    # the key's tail is held until it cannot grow any more; text that cannot start a secret is never held
    assert [t for t in streamed if t] == ["Your key is ", f"{REDACTED} and roses ", "are red."]
    everything = stored_bytes(data) + (tmp_path / "chat.jsonl").read_bytes() + (done.stdout + done.stderr).encode()
    assert PLANTED_KEY[6:].encode() not in everything


@pytest.mark.parametrize(("text", "shown"), [
    ("use sk-proj-abcdefghijklmnop1234 now", f"use sk-proj-{REDACTED} now"),
    ("use sk-ant-api03-abcdefghijklmnop now", f"use sk-ant-{REDACTED} now"),
    ("token github_pat_11ABCDEFG0123456789abcdef", f"token github_pat_{REDACTED}"),
    ("slack xoxb-1234567890-abcdefghij", f"slack xoxb-{REDACTED}"),
    ("aws AKIAIOSFODNN7EXAMPLE.", f"aws AKIA{REDACTED}."),
    ("hub hf_abcdefghijklmnopqrstuvwxyz", f"hub hf_{REDACTED}"),
    ("psql postgres://bob:hunter2hunter2@db/x", f"psql postgres://bob:{REDACTED}@db/x"),
    ("run --password hunter2hunter2 -v", f"run --password {REDACTED} -v"),
    ("run --api-key=abcdefgh12345678", f"run --api-key={REDACTED}"),
    ("run --client-secret 'abcdefgh12345678'", f"run --client-secret '{REDACTED}'"),
    ("Authorization: Bearer abcdefgh.1234", f"Authorization: Bearer {REDACTED}"),
    ("password=abc12345", f"password={REDACTED}"),
    # under 8 characters: left alone (too many false hits)
    ("run --password short", "run --password short"),
    ("postgres://bob:pw@db", "postgres://bob:pw@db"),
    ("password=abc1234", "password=abc1234"),
    ("the task-management-checklist and a desk-organizer-set", "the task-management-checklist and a desk-organizer-set"),
])
def test_the_secret_shapes_known(text, shown):
    assert Redactor()(text) == shown


def test_secret_environment_names(tmp_path):
    env = {"DB_PASSWORD": "aaaaaaaa1", "MYSQL_PASSWD": "bbbbbbbb2", "SIGNING_KEY": "cccccccc3",
           "GCP_CREDENTIALS": "dddddddd4", "X_API_KEY": "eeeeeeee5", "GH_TOKEN": "ffffffff6", "APP_SECRET": "gggggggg7",
           "SHORT_TOKEN": "tiny", "KEYBOARD": "hhhhhhhh8", "HOME_DIR": "iiiiiiii9"}
    from flowertui.trace.receiver import program_redactor

    redact = program_redactor(env)
    assert redact(" ".join(env.values())) == " ".join([REDACTED] * 7 + ["tiny", "hhhhhhhh8", "iiiiiiii9"])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_is_its_owners_only_and_an_old_install_is_fixed(tmp_path):
    data = tmp_path / "data"
    old = os.umask(0o022)
    try:
        done = run("trace", "--json", str(PROGRAMS / "stream_secret.py"), data=data,
                   env={"MY_DB_PASSWORD": DB_PASSWORD, "URL_PW": URL_PASSWORD})
        assert done.returncode == 0, done.stderr
        assert mode(data) == 0o700 and mode(data / DB_NAME) == 0o600
        reader = sqlite3.connect(data / DB_NAME)  # SQLite's own side files, made under this umask
        reader.execute("SELECT COUNT(*) FROM events").fetchone()
        files = [data / f"{DB_NAME}-wal", data / f"{DB_NAME}-shm"]
        assert all(f.exists() and mode(f) == 0o600 for f in files), {f.name: oct(mode(f)) for f in files}
        reader.close()
        # an install from before: everything readable by all
        spool = data / "trace-spool"
        spool.mkdir(exist_ok=True)
        (spool / "old.1.1.jsonl.importing").write_text("")
        (data / "state.json").write_text("{}")
        for path in [data, spool, *data.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        exported = tmp_path / "out" / "s.jsonl"
        exported.parent.mkdir()
        assert run("sessions", data=data).returncode == 0
        assert mode(data) == 0o700 and mode(spool) == 0o700
        assert all(mode(p) == 0o600 for p in data.rglob("*") if p.is_file()), [
            (p.name, oct(mode(p))) for p in data.rglob("*")]
        assert run("export", "latest", "--format", "jsonl", "-o", str(exported), data=data).returncode == 0
        assert mode(exported) == 0o644  # exports follow the umask, as any file the user writes
    finally:
        os.umask(old)
