"""The offline server for a traced program, in its own process, so it outlives a viewer that dies.

flowertui binds the listening socket itself (so the URL is known at once and the program starts without
waiting for the HTTP stack to import: connections wait in the socket's backlog) and hands it to
`flowertui serve --quiet --until-eof --fd N`, whose stdin is a pipe: flowertui holds the write end, and
so does each run's relay (relay.py), which outlives flowertui. The server exits when the last holder is
gone, so after `kill -9` of flowertui it keeps answering the program until the program has ended.

The server's stdout is a pipe to flowertui for its notices (serve/notices.py: the embeddings it answered);
`follow` says on the lifeline which session and run they belong to, and `drain` reads those already written.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flowertui.engine.tokens import TokenizerDataError, ensure_offline_tiktoken, seeded_dir, tiktoken_cache_dir

PLACEHOLDER_KEY = "sk-flowertui-offline"  # the client insists on a key; the server ignores it (as server.py's)
LOCALHOST = "127.0.0.1"
STOP_WAIT = 5.0


class ServerProcess:
    """One `flowertui serve` child; `start()` gives the base URL, `child_env()` what a program needs."""

    def __init__(self, speed: float = 0.0, replay: str | None = None) -> None:
        self.speed = speed
        self.replay = replay  # a session id or an export's path: the server answers with its recorded replies
        self.process: subprocess.Popen | None = None
        self.lifeline: int | None = None  # the write end of the server's stdin; give it to relays (pass_fds)
        self.base_url = ""
        self._sock: socket.socket | None = None  # bound, until the server process has its copy
        self._read_end = -1
        self._handle: Callable[[dict[str, Any]], None] | None = None
        self._notices = b""
        self._lock = threading.Lock()

    def start(self) -> str:
        """Bind, then start the server process on that socket; the base URL."""
        self.bind()
        self.launch()
        return self.base_url

    def bind(self) -> str:
        """Bind the socket and make the lifeline: the URL is known and connections wait in the backlog, so the
        program can be started before the server process (`launch`)."""
        self._sock = socket.create_server((LOCALHOST, 0), backlog=128)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
        self._read_end, self.lifeline = os.pipe()
        self.base_url = f"http://{LOCALHOST}:{self._sock.getsockname()[1]}/v1"
        return self.base_url

    def launch(self) -> None:
        """Start `flowertui serve` on the bound socket (it comes up while the program starts)."""
        if self._sock is None:
            return
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flowertui", "serve", "--quiet", "--until-eof", "--notices", "--fd",
                 str(self._sock.fileno()), "--speed", str(self.speed), *(("--replay", self.replay) if self.replay else ())],
                stdin=self._read_end, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                pass_fds=(self._sock.fileno(),), start_new_session=True)
        finally:
            os.close(self._read_end)
            self._sock.close()  # the server process has its own copy
            self._sock = None

    def child_env(self) -> dict[str, str]:
        """The program's OpenAI settings, and tiktoken's seeded cache (seeded here only the first time ever: the
        server, which seeds it too, may load after the program's first token count)."""
        try:
            cache = seeded_dir() or ensure_offline_tiktoken()
        except TokenizerDataError:  # the server says so as it starts
            cache = tiktoken_cache_dir()
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": PLACEHOLDER_KEY, "TIKTOKEN_CACHE_DIR": str(cache)}

    def keep(self) -> dict:
        """Spawn arguments that make a relay hold the server's lifeline."""
        return {"pass_fds": (self.lifeline,)} if self.lifeline is not None else {}

    def follow(self, session_id: str, run: int, spool: Path, handle: Callable[[dict[str, Any]], None]) -> None:
        """Notices from now on belong to this run (`handle` takes each, from a thread of its own or `drain`);
        once flowertui is gone the server spools them in `spool` under the run's name."""
        if self.lifeline is None or self.process is None:
            return
        try:
            os.write(self.lifeline, (json.dumps({"session": session_id, "run": run, "spool": str(spool)}) + "\n").encode())
        except OSError:
            pass
        with self._lock:
            first, self._handle = self._handle is None, handle
        if first:
            threading.Thread(target=self._read, name="flowertui-serve-notices", daemon=True).start()

    def drain(self) -> None:
        """Handle the notices written so far (the server writes one before it answers: a finished program's are
        all there)."""
        with self._lock:
            self._take()

    def _read(self) -> None:
        stdout = self.process.stdout if self.process is not None else None
        while stdout is not None and not stdout.closed:
            try:
                select.select([stdout], [], [])
            except (OSError, ValueError):
                return
            with self._lock:
                if not self._take():
                    return

    def _take(self) -> bool:
        """Read what the pipe holds now; False at its end."""
        stdout = self.process.stdout if self.process is not None else None
        try:
            while stdout is not None and select.select([stdout], [], [], 0)[0]:
                data = os.read(stdout.fileno(), 1 << 16)
                if not data:
                    return False
                *lines, self._notices = (self._notices + data).split(b"\n")
                if len(self._notices) > 1 << 16:  # not a notice: the server writes short lines
                    self._notices = b""
                for line in lines:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict) and self._handle is not None:
                        self._handle(record)
        except (OSError, ValueError):
            return False
        return True

    def stop(self) -> None:
        """Let go of the lifeline and stop the server now (flowertui is ending its program's run itself)."""
        if self._sock is not None:  # bound, never launched
            os.close(self._read_end)
            self._sock.close()
            self._sock = None
        let_go(self.process, self.lifeline)
        self.lifeline = None
        if self.process is not None and self.process.stdout is not None:
            with self._lock:
                self.process.stdout.close()
        self.process = None


def let_go(process: subprocess.Popen | None, lifeline: int | None) -> None:
    """Close flowertui's end of a helper process's lifeline and stop the process now (terminate, then kill):
    flowertui is ending its program's run itself. Shared by the offline server and the audit proxy."""
    if lifeline is not None:
        os.close(lifeline)
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_WAIT)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def offline_server(speed: float = 0.0, replay: str | None = None) -> Iterator[tuple[dict[str, str], dict, ServerProcess]]:
    """The environment pointing a program at an offline server process, the spawn arguments that make its
    relay hold the server's lifeline (the server outlives flowertui until the program ends), and the server,
    bound: its process is launched by whoever starts the program, right after it. `replay`: a recorded session
    the server answers with instead of the offline assistant."""
    server = ServerProcess(speed, replay)
    try:
        server.bind()  # run_headless launches it once the program has started
        yield {**os.environ, **server.child_env()}, server.keep(), server
    finally:
        server.stop()
