"""`flowertui serve`: request latency over loopback and the HTTP stack's import cost.

The baseline for latency is the same server with TCP_NODELAY left off (the
socket default), measured in the same run; the baseline for import cost is
aiohttp's server, the other well-kept stack considered.

    .venv/bin/python bench/serve_bench.py --requests 200 --runs 7
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import httpx

from flowertui.serve import server as serve_server

LEGACY = {"model": "gpt-3.5-turbo-instruct", "prompt": "我姐姐明天要过生日，我需要一束生日花束。", "max_tokens": 256}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "哪种花卉最适合生日？只简单说3种，不超过50字"}]}
STREAM = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}


def latencies(base_url: str, requests: int) -> dict[str, float]:
    """Median milliseconds per request, one keep-alive client; and requests/s from 8 threads sharing a client."""
    with httpx.Client() as client:
        def legacy() -> None:
            client.post(f"{base_url}/completions", json=LEGACY).raise_for_status()

        def chat() -> None:
            client.post(f"{base_url}/chat/completions", json=CHAT).raise_for_status()

        def stream() -> None:
            with client.stream("POST", f"{base_url}/chat/completions", json=STREAM) as response:
                assert list(response.iter_lines())[-2] == "data: [DONE]"

        result = {}
        for name, call in (("legacy completion", legacy), ("chat completion", chat), ("streamed chat", stream)):
            call()
            times = []
            for _ in range(requests):
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
            result[name] = statistics.median(times) * 1000
    with httpx.Client() as shared, ThreadPoolExecutor(8) as pool:
        start = time.perf_counter()
        list(pool.map(lambda _: shared.post(f"{base_url}/chat/completions", json=CHAT).raise_for_status(), range(requests)))
        result["8 clients, req/s"] = requests / (time.perf_counter() - start)
    return result


def without_nodelay():
    original = socket.socket.setsockopt

    def setsockopt(self, level, option, value):
        if option == socket.TCP_NODELAY:
            return None
        return original(self, level, option, value)

    return mock.patch.object(socket.socket, "setsockopt", setsockopt)


def import_seconds(statement: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", f"import time; t = time.perf_counter(); {statement}; "
                               "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True)
        times.append(float(done.stdout))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with serve_server.ShopServer() as server:
        ours = latencies(server.base_url, args.requests)
    with without_nodelay(), serve_server.ShopServer() as server:
        base = latencies(server.base_url, args.requests)
    print(f"{'measure':<22}{'serve':>10}{'no NODELAY':>12}{'ratio':>8}")
    for name in ours:
        print(f"{name:<22}{ours[name]:>10.2f}{base[name]:>12.2f}{ours[name] / base[name]:>8.2f}")
    stack = import_seconds("import starlette.applications, starlette.responses, uvicorn", args.runs)
    aio = import_seconds("import aiohttp.web", args.runs)
    whole = import_seconds("import flowertui.serve.server", args.runs)
    print(f"import starlette+uvicorn {stack:.3f} s, aiohttp.web {aio:.3f} s, flowertui.serve.server {whole:.3f} s")


if __name__ == "__main__":
    main()
