"""The offline server for a traced program, in its own process, so it outlives a viewer that dies.

`flowertui serve --quiet --until-eof` is started with a pipe as its stdin: flowertui holds the write end,
and so does each run's relay (relay.py), which outlives flowertui. The server exits when the last holder
is gone, so after `kill -9` of flowertui it keeps answering the program until the program has ended.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

PLACEHOLDER_KEY = "sk-flowertui-offline"  # the client insists on a key; the server ignores it (as server.py's)
START_TIMEOUT = 30.0


class ServerProcess:
    """One `flowertui serve` child; `start()` gives the base URL, `child_env()` what a program needs."""

    def __init__(self, speed: float = 0.0) -> None:
        self.speed = speed
        self.process: subprocess.Popen | None = None
        self.lifeline: int | None = None  # the write end of the server's stdin; give it to relays (pass_fds)
        self.base_url = ""
        self.tiktoken_dir = ""

    def start(self) -> str:
        """Start the server and read its banner (RuntimeError when it does not come up)."""
        read_end, self.lifeline = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flowertui", "serve", "--quiet", "--until-eof", "--speed", str(self.speed)],
                stdin=read_end, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        finally:
            os.close(read_end)
        banner = self.process.stdout.readline().decode(errors="replace")  # the URL line
        exports = shlex.split(self.process.stdout.readline().decode(errors="replace"))
        self.process.stdout.close()  # nothing more is written: --quiet
        settings = dict(item.split("=", 1) for item in exports if "=" in item)
        if "OPENAI_BASE_URL" not in settings:
            self.stop()
            raise RuntimeError(f"the offline server did not start: {banner.strip() or 'no answer'}")
        self.base_url, self.tiktoken_dir = settings["OPENAI_BASE_URL"], settings.get("TIKTOKEN_CACHE_DIR", "")
        return self.base_url

    def child_env(self) -> dict[str, str]:
        env = {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": PLACEHOLDER_KEY}
        if self.tiktoken_dir:
            env["TIKTOKEN_CACHE_DIR"] = self.tiktoken_dir
        return env

    def keep(self) -> dict:
        """Spawn arguments that make a relay hold the server's lifeline."""
        return {"pass_fds": (self.lifeline,)} if self.lifeline is not None else {}

    def stop(self) -> None:
        """Let go of the lifeline and stop the server (a relay still holding it keeps nothing alive: it is asked
        to stop here)."""
        if self.lifeline is not None:
            os.close(self.lifeline)
            self.lifeline = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
