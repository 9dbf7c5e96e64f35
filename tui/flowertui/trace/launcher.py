"""Starting a traced program: the command line, the probe's environment, and the exit code.

A `.py` path runs under the current interpreter; anything else is a command
looked up on PATH. The probe folder goes first on PYTHONPATH, so any Python the
command starts (this one, another virtualenv's) loads the probe at start-up.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flowertui.trace.probe import PROBE_DIR
from flowertui.trace.probe.flowertui_probe import ENV_ADDR, ENV_ENABLED, ENV_RUN, ENV_SESSION, ENV_SPOOL, ENV_TOKEN


class LaunchError(RuntimeError):
    """The program cannot be started; the message says why in one line."""


def resolve(command: list[str]) -> list[str]:
    """The argv to execute: `app.py` becomes `[python, app.py]`, a bare name is found on PATH."""
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise LaunchError("name a program to trace: flowertui trace [options] [--] PROGRAM [ARGS…]")
    program = command[0]
    if program.endswith(".py"):
        if not Path(program).is_file():
            raise LaunchError(f"cannot start {program}: no such file")
        return [sys.executable, program, *command[1:]]
    if os.sep in program or (os.altsep and os.altsep in program):
        found = program if os.access(program, os.X_OK) and Path(program).is_file() else None
    else:
        found = shutil.which(program)
    if found is None:
        raise LaunchError(f"cannot start {program}: not found or not executable")
    return [found, *command[1:]]


def display(command: list[str]) -> str:
    """The command as a shell would show it (the status line, the session's name)."""
    return shlex.join(command[1:] if command and command[0] == "--" else command)


def with_tiktoken_cache(base: Mapping[str, str]) -> dict[str, str]:
    """The program's environment with TIKTOKEN_CACHE_DIR at flowertui's seeded cache, unless it names its own.

    tiktoken downloads its files on first use; a program that counts tokens (token-buffer memory,
    get_num_tokens) against any provider must not need the network for that. The files are checked
    by hash on every read, so this never changes a count. A TIKTOKEN_CACHE_DIR (or tiktoken's older
    DATA_GYM_CACHE_DIR) of the user's own is kept, even if flowertui pointed its own process elsewhere.
    """
    from flowertui.engine.tokens import CACHE_VARIABLE, TokenizerDataError, ensure_offline_tiktoken, \
        inherited_cache_dir, seeded_dir, tiktoken_cache_dir

    env = dict(base)
    if env.get(CACHE_VARIABLE) == str(tiktoken_cache_dir()) and inherited_cache_dir() is not None:
        env[CACHE_VARIABLE] = inherited_cache_dir()  # flowertui's own setting leaked in: the user's wins
    if CACHE_VARIABLE in env or "DATA_GYM_CACHE_DIR" in env:
        return env
    try:
        env[CACHE_VARIABLE] = str(seeded_dir() or ensure_offline_tiktoken())
    except TokenizerDataError:  # nothing seeded: the program counts as it would without flowertui
        pass
    return env


def probe_env(base: Mapping[str, str], *, addr: str | None, token: str, spool_dir: Path, session_id: str,
              run: int, unbuffered: bool = False) -> dict[str, str]:
    """The program's environment: the caller's, plus the probe folder first on PYTHONPATH and its settings."""
    env = dict(base)
    env["PYTHONPATH"] = os.pathsep.join([str(PROBE_DIR), *filter(None, [base.get("PYTHONPATH")])])
    env[ENV_ENABLED] = "1"
    env[ENV_TOKEN] = token
    env[ENV_SPOOL] = str(spool_dir)
    env[ENV_SESSION] = session_id
    env[ENV_RUN] = str(run)
    if addr:
        env[ENV_ADDR] = addr
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return env


RELAY = Path(__file__).with_name("relay.py")  # standard library only: run with -I -S, no probe, no site


def relayed(argv: list[str], output: Path | None = None, notice: Path | None = None) -> list[str]:
    """`argv` run under the relay (relay.py), which outlives flowertui: with `output`, the program's stdout and
    stderr pass through it and go to that file once flowertui is gone (`notice` says so to its next start)."""
    files = ["--output", str(output), "--notice", str(notice)] if output and notice else []
    return [sys.executable, "-I", "-S", str(RELAY), *files, "--", *argv]


def launch(argv: list[str], env: Mapping[str, str], *, addr: str, token: str, session_id: str, run: int,
           unbuffered: bool = False, relay: bool = False, relay_output: bool = False, **streams) -> subprocess.Popen:
    """Spawn run `run` of the program with the probe pointed at `addr` (LaunchError when it cannot start).

    `relay` runs it under relay.py, which outlives flowertui (holding `pass_fds` for it); `relay_output` also
    passes its stdout and stderr through the relay, to a file in the data folder once flowertui is gone.
    """
    from flowertui.paths import data_dir
    from flowertui.trace.outlived import notice_path
    from flowertui.trace.spool import spool_dir

    env = probe_env(env, addr=addr, token=token, spool_dir=spool_dir(), session_id=session_id, run=run,
                    unbuffered=unbuffered)
    if relay or relay_output:
        output = notice = None
        if relay_output:
            output = data_dir() / "program-output" / f"{session_id}.{run}.log"
            notice = notice_path(spool_dir(), session_id, run)
        argv = relayed(argv, output, notice)
    return spawn(argv, env, **streams)


@dataclass(frozen=True)
class EarlyRun:
    """A program's first run, started before flowertui imports its session machinery (ledger, store, event
    schema: ≈ 0.1 s), so the program's start-up overlaps flowertui's. Its probe connects to `sock`, bound
    here: the connection waits in the socket's backlog until the Listener takes the socket over."""

    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen
    sock: socket.socket
    token: str
    session_id: str
    started: float  # time.monotonic() at spawn


def start_early(command: list[str], env: Mapping[str, str] | None = None, **options) -> EarlyRun:
    """Resolve and spawn the program as run 1 of a new session (LaunchError when it cannot start); `options`
    as `launch` takes them."""
    argv = resolve(command)
    env = with_tiktoken_cache(os.environ if env is None else env)
    sock = socket.create_server(("127.0.0.1", 0), backlog=128)
    token, session_id = os.urandom(16).hex(), os.urandom(6).hex()  # secrets.token_hex's; the bus's id shape
    host, port = sock.getsockname()[:2]
    try:
        process = launch(argv, env, addr=f"{host}:{port}", token=token, session_id=session_id, run=1, **options)
    except BaseException:
        sock.close()
        raise
    return EarlyRun(argv, env, process, sock, token, session_id, time.monotonic())


def spawn(argv: list[str], env: Mapping[str, str], **streams) -> subprocess.Popen:
    """Start the program (its own process group when asked, so stop signals reach only it)."""
    try:
        return subprocess.Popen(argv, env=dict(env), **streams)
    except OSError as exc:
        raise LaunchError(f"cannot start {argv[0]}: {exc.strerror or exc}") from exc


def exit_code(returncode: int) -> int:
    """The program's exit code; 128+N when signal N killed it, as a shell reports it."""
    return 128 - returncode if returncode < 0 else returncode


def describe_exit(returncode: int, *, handlers: bool = True) -> str:
    """How the program ended. `handlers` False: its probe never said bye, so no exit handler ran (`os._exit`,
    or a crash below Python): the exit code alone would read as a normal end."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exited {returncode}" if handlers else f"exited {returncode} without running exit handlers (os._exit)"
