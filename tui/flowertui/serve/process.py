"""The offline server for a traced program, in its own process, so it outlives a viewer that dies.

flowertui binds the listening socket itself (so the URL is known at once and the program starts without
waiting for the HTTP stack to import: connections wait in the socket's backlog) and hands it to
`flowertui serve --quiet --until-eof --fd N`, whose stdin is a pipe: flowertui holds the write end, and
so does each run's relay (relay.py), which outlives flowertui. The server exits when the last holder is
gone, so after `kill -9` of flowertui it keeps answering the program until the program has ended.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from flowertui.engine.tokens import tiktoken_cache_dir

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

    def start(self) -> str:
        """Bind, start the server process on that socket (it comes up while the program starts); the base URL."""
        sock = socket.create_server((LOCALHOST, 0), backlog=128)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
        read_end, self.lifeline = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flowertui", "serve", "--quiet", "--until-eof", "--fd", str(sock.fileno()),
                 "--speed", str(self.speed), *(("--replay", self.replay) if self.replay else ())],
                stdin=read_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(sock.fileno(),),
                start_new_session=True)
        finally:
            os.close(read_end)
            self.base_url = f"http://{LOCALHOST}:{sock.getsockname()[1]}/v1"
            sock.close()  # the server process has its own copy
        return self.base_url

    def child_env(self) -> dict[str, str]:
        """The program's OpenAI settings, and the tiktoken cache the server seeds as it starts."""
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": PLACEHOLDER_KEY,
                "TIKTOKEN_CACHE_DIR": str(tiktoken_cache_dir())}

    def keep(self) -> dict:
        """Spawn arguments that make a relay hold the server's lifeline."""
        return {"pass_fds": (self.lifeline,)} if self.lifeline is not None else {}

    def stop(self) -> None:
        """Let go of the lifeline and stop the server now (flowertui is ending its program's run itself)."""
        if self.lifeline is not None:
            os.close(self.lifeline)
            self.lifeline = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
