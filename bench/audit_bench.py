"""`flowertui trace --audit`: what the proxy adds to each HTTP call, against direct calls to the same upstream.

The upstream is the offline server (`flowertui serve` in its own process, pace 0); the proxy is the real one
(its own process, its records read and discarded as the trace would read them). Direct and proxied calls
alternate in the same run, one keep-alive `openai` client each, so both see the same machine load.
Reported: median and p90 milliseconds per call of each kind, and the proxy's overhead (proxied − direct).
Also the time to the first streamed chunk (what a user of a streaming chat feels) and a 300 KB request body.

    .venv/bin/python bench/audit_bench.py --calls 200
"""

from __future__ import annotations

import argparse
import statistics
import time

import openai

from flowertui.serve.process import PLACEHOLDER_KEY, ServerProcess
from flowertui.trace.audit.process import AuditProxy

MESSAGES = [{"role": "user", "content": "哪种花卉最适合生日？只简单说3种，不超过50字"}]
BIG = [{"role": "user", "content": "roses " * 50_000}]  # 300 KB, 50k tokens: under the context limit


class _Discard:
    """Stands for the session's bus: the records are checked and built, then dropped."""

    @staticmethod
    def redact(text: str) -> str:
        return text

    def emit(self, payload, **_) -> None:
        pass


def kinds(client: openai.OpenAI):
    def chat() -> float:
        start = time.perf_counter()
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        return time.perf_counter() - start

    def stream_first() -> float:
        start = time.perf_counter()
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                                stream_options={"include_usage": True})
        next(iter(stream))
        first = time.perf_counter() - start
        for _ in stream:
            pass
        return first

    def stream_whole() -> float:
        start = time.perf_counter()
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                                stream_options={"include_usage": True}):
            pass
        return time.perf_counter() - start

    def embeddings() -> float:
        start = time.perf_counter()
        client.embeddings.create(model="text-embedding-3-small", input=["roses", "tulips", "lilies"])
        return time.perf_counter() - start

    def big_body() -> float:
        start = time.perf_counter()
        client.chat.completions.create(model="gpt-4o-mini", messages=BIG, max_tokens=5)
        return time.perf_counter() - start

    return {"chat": chat, "stream, first chunk": stream_first, "stream, whole": stream_whole,
            "embeddings": embeddings, "300 KB request": big_body}


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200, help="calls of each kind, direct and proxied each")
    args = parser.parse_args()
    server = ServerProcess(0.0)
    upstream = server.start()
    proxy = AuditProxy(upstream)
    proxy.start()
    proxy.attach(_Discard())
    try:
        direct = openai.OpenAI(base_url=upstream, api_key=PLACEHOLDER_KEY, max_retries=0)
        proxied = openai.OpenAI(base_url=proxy.base_url, api_key=PLACEHOLDER_KEY, max_retries=0)
        plain, audited = kinds(direct), kinds(proxied)
        for name in plain:  # warm both paths (connections, the server's first reply)
            plain[name](), audited[name]()
        times = {name: ([], []) for name in plain}
        for _ in range(args.calls):
            for name in plain:
                times[name][0].append(plain[name]())
                times[name][1].append(audited[name]())
        print(f"{args.calls} calls of each kind, each way; milliseconds")
        print(f"{'call':<20}{'direct med':>11}{'p90':>8}{'proxied med':>13}{'p90':>8}{'overhead med':>14}{'p90':>8}")
        for name, (a, b) in times.items():
            gaps = [y - x for x, y in zip(a, b)]
            print(f"{name:<20}{statistics.median(a) * 1e3:>11.2f}{p90(a) * 1e3:>8.2f}"
                  f"{statistics.median(b) * 1e3:>13.2f}{p90(b) * 1e3:>8.2f}"
                  f"{statistics.median(gaps) * 1e3:>14.2f}{p90(gaps) * 1e3:>8.2f}")
        proxy.wait_idle(5)
        print(f"proxy records unreadable: {proxy.dropped}")
    finally:
        proxy.stop()
        server.stop()


if __name__ == "__main__":
    main()
