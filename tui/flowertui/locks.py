"""Which sessions have a writer alive: each writer holds a lock on `session-locks/<session>.lock`.

A session writer takes a shared `flock` on its session's lock file before it writes
the session's first event, and keeps it until it closes; the kernel lets go of it when
the process dies, however it dies. A later start that can take the lock exclusively
knows the writer is gone, so a turn it left "running" will never be closed by it
(`session/interrupted.py` closes it). A writer that closes cleanly removes the file
unless another writer of the same session still holds it. Only `os` and `fcntl` load
here: every start looks at this folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock, so no writer is ever taken for dead
    fcntl = None  # type: ignore[assignment]

LOCK_DIR = "session-locks"
SUFFIX = ".lock"


def lock_dir(data: Path) -> Path:
    return data / LOCK_DIR


class WriterLock:
    """A session writer's hold on its session's lock file (nothing without flock, or when it cannot be made)."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self.fd = path, fd

    @classmethod
    def hold(cls, data: Path, session_id: str) -> WriterLock:
        path = lock_dir(data) / f"{session_id}{SUFFIX}"
        if fcntl is None or not session_id.replace("-", "").isalnum():
            return cls(path, None)
        try:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            while True:  # a start that closed the session may have removed the file we opened: open it again
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                fcntl.flock(fd, fcntl.LOCK_SH)
                try:
                    if os.fstat(fd).st_ino == os.stat(path).st_ino:
                        return cls(path, fd)
                except FileNotFoundError:
                    pass
                os.close(fd)
        except OSError:  # no lock folder to be had: the session is written, and never taken for dead
            return cls(path, None)

    def release(self) -> None:
        """Remove the file when no other writer of the session holds it, then let go."""
        if self.fd is None:
            return
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def any_abandoned(data: Path) -> bool:
    """Whether some session's writers all died (a quick look before anything heavier is loaded)."""
    with abandoned(data) as found:
        return bool(found.sessions)


class Abandoned:
    """Sessions whose writers all died, locked by this process; those `settle`d lose their lock file on exit."""

    def __init__(self, sessions: list[str]) -> None:
        self.sessions = sessions
        self.settled: set[str] = set()

    def settle(self, session_id: str) -> None:
        """Nothing of the session is left open: the next start need not look at it again."""
        self.settled.add(session_id)


@contextmanager
def abandoned(data: Path) -> Iterator[Abandoned]:
    """The sessions whose every writer died (their lock files are free), held locked while the caller closes what
    they left open, so that no writer starts on them meanwhile. Cheap when there are none."""
    folder = lock_dir(data)
    held: list[tuple[str, int, Path]] = []
    try:
        names = os.listdir(folder) if fcntl is not None else []
    except OSError:
        names = []
    try:
        for name in names:
            if not name.endswith(SUFFIX):
                continue
            path = folder / name
            try:
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a writer holds it: alive
                os.close(fd)
                continue
            held.append((name[: -len(SUFFIX)], fd, path))
        found = Abandoned([session_id for session_id, _, _ in held])
        yield found
        for session_id, _, path in held:
            if session_id in found.settled:
                try:
                    path.unlink(missing_ok=True)
                except OSError:
                    pass
    finally:
        for _, fd, _ in held:
            os.close(fd)
