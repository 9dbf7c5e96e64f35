"""Test setup: private app folders per test (safe under pytest-xdist), and no network beyond loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time

import pytest

from tests.support.traced import traces  # noqa: F401  (a session fixture: programs traced once per worker)


@pytest.fixture(autouse=True, scope="session")
def _app_dirs(tmp_path_factory):
    """One seeded tiktoken cache per worker; config and data folders for session-wide fixtures."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("flowertui")
    mp.setenv("FLOWERTUI_CACHE_DIR", str(root / "cache"))
    mp.setenv("FLOWERTUI_CONFIG_DIR", str(root / "config"))
    mp.setenv("FLOWERTUI_DATA_DIR", str(root / "data"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DASHSCOPE_API_KEY", "DEEPSEEK_API_KEY", "FLOWERTUI_PROVIDER"):
        mp.delenv(name, raising=False)
    yield root
    mp.undo()


@pytest.fixture(autouse=True)
def _own_folders(tmp_path_factory, monkeypatch):
    """Each test its own data and config folders (beside its tmp_path, which stays empty): nothing it stores is
    seen by another test, in any worker."""
    folders = tmp_path_factory.mktemp("folders")
    monkeypatch.setenv("FLOWERTUI_DATA_DIR", str(folders / "data"))
    monkeypatch.setenv("FLOWERTUI_CONFIG_DIR", str(folders / "config"))


@pytest.fixture(autouse=True, scope="session")
def _loopback_only():
    """Any connection to a non-loopback address fails the test that made it."""
    original = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise AssertionError(f"test tried to reach the network: {address!r}")
        return original(self, address)

    socket.socket.connect = guarded
    yield
    socket.socket.connect = original


@pytest.fixture
def slow_engine(monkeypatch):
    """LangChain 'loads' until the test opens the gate."""
    gate = threading.Event()
    from flowertui.engine import assembly

    real = assembly.assemble

    def waiting(*args, **kwargs):
        gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(assembly, "assemble", waiting)
    return gate


def pytest_collection_modifyitems(items):
    """Modules that start child processes (`flowertui`, traced programs) first: most of the suite's time is theirs,
    and xdist hands tests out in collection order, so the quick in-process tests are left to even out the workers
    at the end instead of one worker finishing a long trace test alone."""
    starts_processes: dict[object, bool] = {}

    def quick(item) -> bool:
        if item.path not in starts_processes:
            source = item.path.read_text("utf-8") if item.path.suffix == ".py" else ""
            starts_processes[item.path] = any(word in source for word in ("subprocess", "support.traced", "PtyApp"))
        return not starts_processes[item.path]

    items.sort(key=quick)  # stable: each module keeps its order



def pytest_xdist_auto_num_workers(config):
    """`-n auto`: a worker per core, and one more per core idle as the run starts.

    Most tests spend much of their time waiting on child processes (a traced program importing LangChain, a server,
    a paced reply), so one worker per core leaves a quiet machine's cores partly idle (1.26 cores busy on average
    over a 2-worker run on 2 cores). On a machine already busy, extra workers only push the load past what the
    product's bounded waits are meant for (the probe's 3 s at exit, the tracer's 5 s drain): 4 workers on 2 cores
    at load 6-7 failed 2-4 tests a run. Idle is measured over a moment (/proc/stat), not the load average, which
    still remembers the install that ran just before. PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    cores = len(os.sched_getaffinity(0))
    idle = min(cores, max(0, round(_idle_cores(cores))))
    return cores + idle


def _idle_cores(cores: int) -> float:
    """Cores idle over the next quarter second, from the kernel's CPU counters (the load average where they are
    not readable)."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    try:
        total, idle = sample()
        time.sleep(0.25)
        total2, idle2 = sample()
        return (idle2 - idle) / max(1, total2 - total) * os.cpu_count()
    except (OSError, ValueError, IndexError):
        return cores - os.getloadavg()[0]


def pytest_configure(config):
    """A suite started in the background (`pytest … &` in a script) inherits SIGINT ignored, and so would every
    `flowertui serve` or `trace --listen` child the tests stop with SIGINT: they must see Ctrl-C as a user's do."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
