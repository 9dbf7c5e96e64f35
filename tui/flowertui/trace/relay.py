"""Stands between a traced program and flowertui, so the program never notices the viewer dying.

Run as a script (`python -I -S relay.py …`: standard library only, no probe, no site) by the launcher:

    relay.py [--output PATH --notice PATH] -- PROGRAM [ARGS…]

It starts the program, then ends as the program ended (the same exit code, or the same signal).
With `--output`, the program's stdout and stderr are pipes to this relay, which forwards them to
its own (flowertui's pipes); once a write fails because flowertui is gone, everything after goes to
PATH instead, and the `--notice` file (in the spool folder) tells flowertui's next start where.
Without it the program writes to the relay's streams directly. A descriptor the launcher passes
(the offline server's lifeline: the server exits when its last holder does) stays open in the relay,
never in the program, until the program has ended.

SIGINT and SIGTERM sent to the process group reach the program; the relay waits them out.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

READ_SIZE = 1 << 16


def main(args: list[str]) -> int:
    output, notice = None, None
    while args and args[0] != "--":
        flag, value, args = args[0], args[1], args[2:]
        if flag == "--output":
            output = value
        elif flag == "--notice":
            notice = value
    argv = args[1:]
    for sig in (signal.SIGINT, signal.SIGTERM):  # a handler, not SIG_IGN, which the program would inherit
        signal.signal(sig, lambda *_: None)
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE} if output else {}
    try:
        process = subprocess.Popen(argv, **streams)
    except OSError as exc:
        os.write(2, f"flowertui: cannot start {argv[0]}: {exc.strerror or exc}\n".encode())
        return 127
    if output:
        _Forward(process, output, notice).run()
    while True:
        try:
            returncode = process.wait()
            break
        except InterruptedError:
            continue
    if returncode < 0:  # end the same way, so whoever waits on the relay sees what the program did
        signal.signal(-returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -returncode)
    return returncode if returncode >= 0 else 128 - returncode


class _Forward:
    """The program's pipes to the relay's stdout and stderr while they take writes, then to a file."""

    def __init__(self, process: subprocess.Popen, output: str, notice: str | None) -> None:
        self.sources = {process.stdout.fileno(): 1, process.stderr.fileno(): 2}
        self.output, self.notice = output, notice
        self.file: int | None = None

    def run(self) -> None:
        while self.sources:
            try:
                ready, _, _ = select.select(list(self.sources), [], [])
            except InterruptedError:
                continue
            for fd in ready:
                data = os.read(fd, READ_SIZE)
                if not data:
                    del self.sources[fd]
                    os.close(fd)
                    continue
                self._write(self.sources[fd], data)

    def _write(self, target: int, data: bytes) -> None:
        if self.file is None:
            try:
                while data:
                    data = data[os.write(target, data):]
                return
            except OSError:  # the viewer is gone (EPIPE): the rest goes to the file
                self._to_file()
        if self.file is not None:
            try:
                os.write(self.file, data)
            except OSError:
                pass

    def _to_file(self) -> None:
        try:
            os.makedirs(os.path.dirname(self.output), mode=0o700, exist_ok=True)
            self.file = os.open(self.output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            if self.notice:
                os.makedirs(os.path.dirname(self.notice), mode=0o700, exist_ok=True)
                fd = os.open(self.notice, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.write(fd, self.output.encode())
                os.close(fd)
        except OSError:
            self.file = os.open(os.devnull, os.O_WRONLY)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
