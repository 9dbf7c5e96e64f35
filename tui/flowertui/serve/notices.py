"""What the offline server tells the flowertui that started it (`serve --notices`): one JSON line per
embeddings request on its stdout, written before the answer is sent. LangChain emits no callback for
embeddings, so flowertui learns of them only here and counts them in the traced session.

flowertui writes, on the server's stdin, which session and run the program is (a JSON line per run). Once
flowertui is gone (a write fails, or its pipe is full), notices go to that run's spool file in the probe's
format instead (docs/PROBE.md), and flowertui's next start imports them into the session.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from flowertui.serve.embeddings import EmbeddingCall


class Notices:
    def __init__(self, fd: int = 1) -> None:
        self.fd = fd
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)  # never holds up an answer
        self.session: str | None = None
        self.run = 0
        self.spool: str | None = None
        self._viewer = True
        self._number = 0
        self._lock = threading.Lock()

    def follow(self, stream: BinaryIO) -> None:
        """Read flowertui's lines (`{"session", "run", "spool"}`) until it and every relay have let go (EOF)."""
        for line in stream:
            try:
                told = json.loads(line)
                session, run, spool = told["session"], told["run"], told["spool"]
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(session, str) and session.isalnum() and type(run) is int and isinstance(spool, str):
                with self._lock:
                    self.session, self.run, self.spool = session, run, spool

    def embedding(self, call: EmbeddingCall) -> None:
        self.send({"t": "embedding", "model": call.model, "inputs": call.inputs, "prompt_tokens": call.prompt_tokens,
                   "dimensions": call.dimensions, "wall": time.time(), "mono": time.monotonic()})

    def send(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        with self._lock:
            if self._viewer:
                try:
                    if os.write(self.fd, line) == len(line):  # a pipe takes a line this short whole, or not at all
                        return
                except OSError:  # flowertui is gone (EPIPE), or not reading (full pipe)
                    pass
                self._viewer = False
            self._to_spool(record)

    def _to_spool(self, record: dict[str, Any]) -> None:
        if not (self.session and self.spool):
            return
        self._number += 1
        line = json.dumps({"n": self._number, "dropped": 0, "records": [record]}, ensure_ascii=False) + "\n"
        try:
            os.makedirs(self.spool, mode=0o700, exist_ok=True)
            path = os.path.join(self.spool, f"{self.session}.{self.run}.{os.getpid()}.jsonl")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        except OSError:
            pass
