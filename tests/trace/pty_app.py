"""`flowertui` with its screen, run for real on a pseudo-terminal: keys in, the screen's text out."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
import time

_ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


class PtyApp:
    """One `python -m flowertui ARGS…` on a 160×48 pty; `screen()` is everything it drew, escapes removed."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "48", **(env or {})}
        full_env.pop("TEXTUAL", None)
        self.process = subprocess.Popen([sys.executable, "-m", "flowertui", *args], stdin=slave, stdout=slave,
                                        stderr=slave, env=full_env, cwd=cwd, start_new_session=True)
        os.close(slave)
        self.master = master
        self._raw = bytearray()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self._raw += data

    def screen(self) -> str:
        with self._lock:
            raw = bytes(self._raw)
        return _ESCAPES.sub(b"", raw).decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Until `text` was drawn (spaces ignored: the screen may cut words apart with cursor moves)."""
        wanted = text.replace(" ", "")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wanted in self.screen().replace(" ", "").replace("\r", "").replace("\n", ""):
                return
            if self.process.poll() is not None:
                time.sleep(0.3)
                if wanted in self.screen().replace(" ", "").replace("\r", "").replace("\n", ""):
                    return
                raise AssertionError(f"flowertui exited {self.process.returncode} before showing {text!r}:\n"
                                     f"{self.screen()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not shown within {timeout}s:\n{self.screen()[-3000:]}")

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        try:
            os.close(self.master)
        except OSError:
            pass
