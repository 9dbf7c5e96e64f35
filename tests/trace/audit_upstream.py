"""A small OpenAI-shaped upstream on 127.0.0.1 (Starlette on uvicorn) for the audit tests.

Per model name asked: `flaky` answers 429 once, then 200; `raw-stream` streams chunks cut at odd places
(mid-line, CRLF, multi-byte characters split) and never sends usage, keeping the exact bytes it sent;
`cached` reports 4 cached prompt tokens; `slow-stream` sends 50 chunks 50 ms apart; `nameless` streams without a `model` field (usage when asked);
any other model gets a plain answer: the SHA-256 of the first message's content and the request body's length.
Each request's Authorization header is kept, to show the key reached the upstream.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def _answer(model: str, text: str, prompt: int = 12, completion: int = 7, cached: int = 0) -> dict:
    return {"id": "chatcmpl-audit", "object": "chat.completion", "created": 1, "model": f"{model}-2026-01-01",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "prompt_tokens_details": {"cached_tokens": cached}}}


class Upstream:
    def __init__(self) -> None:
        self.authorization: list[str] = []
        self.sent = bytearray()  # what the raw stream sent, exactly
        self.seen: dict[str, int] = {}
        app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])
        sock = socket.create_server(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, log_level="critical"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Upstream:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    async def chat(self, request: Request) -> Response:
        self.authorization.append(request.headers.get("authorization", ""))
        body = await request.body()
        asked = json.loads(body)
        model = asked.get("model") or "echo"
        content = str(asked["messages"][0]["content"])
        digest, size = hashlib.sha256(content.encode()), len(body)
        self.seen[model] = self.seen.get(model, 0) + 1
        if model == "flaky" and self.seen[model] == 1:
            return JSONResponse({"error": {"message": "slow down", "type": "rate_limit", "code": "rate_limit_exceeded"}},
                                status_code=429, headers={"retry-after": "0"})
        if model == "slow-stream":
            return StreamingResponse(self._slow_stream(), media_type="text/event-stream")
        if model == "raw-stream":
            return StreamingResponse(self._raw_stream(), media_type="text/event-stream")
        if model == "nameless" and asked.get("stream"):
            usage = (asked.get("stream_options") or {}).get("include_usage")
            return StreamingResponse(self._nameless_stream(bool(usage)), media_type="text/event-stream")
        answer = _answer(model, f"{digest.hexdigest()} {size}", cached=4 if model == "cached" else 0)
        if model == "nameless":
            del answer["model"]
        return JSONResponse(answer)

    async def _nameless_stream(self, usage: bool):
        """Chunks without a `model` field (some compatible servers), then the usage chunk when asked for."""
        for piece in ("Pink ", "roses."):
            yield f"data: {json.dumps({'id': 'c', 'object': 'chat.completion.chunk', 'created': 1, 'choices': [{'index': 0, 'delta': {'content': piece}, 'finish_reason': None}]})}\n\n"
        if usage:
            yield f"data: {json.dumps({'id': 'c', 'object': 'chat.completion.chunk', 'created': 1, 'choices': [], 'usage': {'prompt_tokens': 9, 'completion_tokens': 2, 'total_tokens': 11}})}\n\n"
        yield "data: [DONE]\n\n"

    async def _slow_stream(self):
        """50 chunks, 50 ms apart; `slow_sent` counts those sent before the proxy hung up."""
        self.slow_sent = 0
        for n in range(50):
            yield f"data: {json.dumps({'id': 'c', 'object': 'chat.completion.chunk', 'created': 1, 'model': 'slow-stream', 'choices': [{'index': 0, 'delta': {'content': str(n)}, 'finish_reason': None}]})}\n\n"
            self.slow_sent += 1
            await asyncio.sleep(0.05)
        yield "data: [DONE]\n\n"

    async def _raw_stream(self):
        chunks = [json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "raw-stream",
                              "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]},
                             ensure_ascii=False) for piece in ("玫瑰 ", "roses ", "🌹", " end")]
        body = ("".join(f"data: {c}\r\n\r\n" for c in chunks) + "data: [DONE]\n\n").encode()
        cuts = [0, 3, 10, 11, 50, 51, 52, len(body) // 2, len(body) - 5, len(body)]
        for start, end in zip(cuts, cuts[1:]):
            piece = body[start:end]
            if piece:
                self.sent += piece
                yield piece
                await asyncio.sleep(0.01)
