"""Run the API with uvicorn in a background thread: `start()` gives the base URL, `stop()` ends it.

`flowertui serve` runs it in the foreground; `flowertui trace --offline` starts one
in-process and points the traced program at it (`child_env`). The socket is bound
here, before the thread starts, so the port (a free one by default) is known at
once and a port in use fails in the caller, not in the thread.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from flowertui.engine.tokens import ensure_offline_tiktoken
from flowertui.serve.app import EmbeddingSink, create_app
from flowertui.serve.replies import Replies

LOCALHOST = "127.0.0.1"
PLACEHOLDER_KEY = "sk-flowertui-offline"  # the client insists on a key; this server ignores it
START_TIMEOUT = 10.0


class ServeError(RuntimeError):
    """The server could not start (port in use, bad host): the message says why."""


class ShopServer:
    """The offline assistant's OpenAI-compatible server, in a daemon thread."""

    def __init__(self, host: str = LOCALHOST, port: int = 0, speed: float = 0.0, access_log: bool = False,
                 on_embedding: EmbeddingSink | None = None, sock: socket.socket | None = None,
                 replies: Replies | None = None) -> None:
        """`sock`: a listening socket bound by whoever started this process (its port already known to them);
        `replies`: what answers instead of the offline assistant (a recorded session: serve/cassette.py)."""
        self.host = host
        self.port = port
        self.speed = speed
        self.access_log = access_log
        self.on_embedding = on_embedding  # told of each embeddings request served (see create_app)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock = sock
        self.replies = replies

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def start(self) -> str:
        """Bind, serve in a thread, wait until it accepts connections; returns the base URL."""
        ensure_offline_tiktoken()  # disk work done before the first request, not during it
        if self._sock is not None:
            sock, self.host = self._sock, self._sock.getsockname()[0]
        else:
            sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(self.speed, self.on_embedding, self.replies), log_config=LOGGING_CONFIG if self.access_log else None,
                                access_log=self.access_log, log_level="info" if self.access_log else "error",
                                lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="flowertui-serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            self.stop()
            sock.close()
            raise ServeError(f"the server on {self.base_url} did not start")
        return self.base_url

    def stop(self) -> None:
        """Ask the server to finish its open responses and stop; waits for the thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def request_stop(self) -> None:
        """Ask the server to stop, from any thread: `wait()` returns once it has."""
        if self._server is not None:
            self._server.should_exit = True

    def wait(self) -> None:
        """Serve in the foreground until the thread ends (stop(), or Ctrl-C in the caller)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.2)

    def child_env(self) -> dict[str, str]:
        """What a program needs in its environment to use this server offline with the OpenAI client.

        TIKTOKEN_CACHE_DIR lets the program's own token counting (token-buffer memory,
        get_num_tokens) find tiktoken's files without downloading them.
        """
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": PLACEHOLDER_KEY,
                "TIKTOKEN_CACHE_DIR": str(ensure_offline_tiktoken())}

    def __enter__(self) -> ShopServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it: no 40 ms Nagle stalls
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock
