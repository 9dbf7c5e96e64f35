"""The Starlette application: routes, request decoding, errors in the API's shape.

Every failure is answered, never raised to the server: a bad body is a 400 with
{"error": {"message", "type", "param", "code"}}, a body over the cap a 413, an
unknown path a 404, a wrong method a 405, anything unexpected a 500 with no
traceback, and serving goes on. Bodies are read on the event loop up to the cap;
decoding, answering and rendering run in a worker thread, so one big request
never holds up the others.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from flowertui.serve import shapes
from flowertui.serve.bodies import BadRequest, chat_request, completion_request
from flowertui.serve.embeddings import EmbeddingCall, call_of, embedding_body, embedding_request
from flowertui.serve.limits import MAX_BODY_BYTES, TooLarge, decode
from flowertui.serve.replies import Answer, Replies, answer_chat, answer_completion
from flowertui.serve.responses_api import Shaper, responses_request

ADVERTISED_MODELS = ["flowershop-offline", "gpt-3.5-turbo-instruct", "gpt-3.5-turbo", "gpt-4o-mini",
                     "text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"]

EmbeddingSink = Callable[[EmbeddingCall], None]


def create_app(speed: float = 0.0, on_embedding: EmbeddingSink | None = None,
               replies: Replies | None = None) -> Starlette:
    """The API; `speed` paces streamed replies in tokens/s (0: as fast as possible); `replies` answers chat and
    completion requests instead of the offline assistant (a recorded session's, serve/cassette.py).

    `on_embedding` is told of every embeddings request answered (from a worker
    thread; what it raises is ignored): LangChain emits no callback for
    embeddings, so the server is the only one that sees them.
    """

    def chunked(read: Callable[[Any], Any], answer: Callable[[Any], Answer],
                chunks: Callable[[Answer, bool], Iterator[list[dict[str, Any]]]],
                whole: Callable[[Answer], dict[str, Any]]) -> Callable[[bytes], Response]:
        """An endpoint of the chat-completions family: read, answer, then stream chunks or send one body."""

        def build(body: bytes) -> Response:
            parsed = read(decode(body))
            answered = answer(parsed)
            if parsed.options.stream:
                return _stream(chunks(answered, parsed.options.include_usage), speed, headers=dict(answered.headers))
            return JSONResponse(whole(answered), headers=dict(answered.headers))

        return build

    chat_answer = replies.chat if replies is not None else answer_chat
    completion_answer = replies.completion if replies is not None else answer_completion
    chat = chunked(chat_request, chat_answer, shapes.chat_chunks, shapes.chat_response)
    completion = chunked(completion_request, completion_answer, shapes.completion_chunks, shapes.completion_response)

    def response(body: bytes) -> Response:
        parsed = responses_request(decode(body))
        answered = chat_answer(parsed)
        shaper = Shaper(parsed, answered)
        if parsed.options.stream:
            return _stream(shaper.events(), speed, typed=True, headers=dict(answered.headers))
        return JSONResponse(shaper.response(), headers=dict(answered.headers))

    def embedding(body: bytes) -> Response:
        parsed = embedding_request(decode(body))
        answer = Response(embedding_body(parsed), media_type="application/json")
        if on_embedding is not None:
            try:
                on_embedding(call_of(parsed))
            except Exception:  # the owner's hook never breaks an answer
                pass
        return answer

    async def list_models(request: Request) -> Response:
        return JSONResponse(shapes.models(ADVERTISED_MODELS))

    async def get_model(request: Request) -> Response:
        return JSONResponse(shapes.model(request.path_params["name"]))  # any model name is served

    routes = [
        Route("/v1/chat/completions", _answered(chat), methods=["POST"]),
        Route("/v1/completions", _answered(completion), methods=["POST"]),
        Route("/v1/responses", _answered(response), methods=["POST"]),
        Route("/v1/embeddings", _answered(embedding), methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{name:path}", get_model, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})


def _answered(build: Callable[[bytes], Response]) -> Callable[[Request], Awaitable[Response]]:
    """The body read up to the cap, the answer built in a worker thread; errors become answers here,
    so nothing reaches the server's error log (or a screen)."""

    async def answer(request: Request) -> Response:
        try:
            return await run_in_threadpool(build, await _body(request))
        except TooLarge:
            return JSONResponse(shapes.error(f"the request body is larger than {MAX_BODY_BYTES} bytes",
                                             code="request_too_large"), status_code=413)
        except BadRequest as exc:
            return JSONResponse(shapes.error(str(exc), param=exc.param, code=exc.code),
                                status_code=exc.status, headers=exc.headers)
        except Exception as exc:  # the API's 500, never a traceback
            return JSONResponse(shapes.error(f"the offline assistant failed: {type(exc).__name__}", "server_error"),
                                status_code=500)

    return answer


async def _body(request: Request) -> bytes:
    """The body, refused as soon as it (or its declared length) passes MAX_BODY_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _stream(rounds: Iterator[list[dict[str, Any]]], speed: float, typed: bool = False,
            headers: dict[str, str] | None = None) -> StreamingResponse:
    """Server-sent events: chat and completions end with `data: [DONE]`; the Responses API names each event."""

    def encoded(chunk: dict[str, Any]) -> bytes:
        line = b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"
        return b"event: " + chunk["type"].encode() + b"\n" + line if typed else line

    async def events() -> AsyncIterator[bytes]:
        for index, chunks in enumerate(rounds):
            if speed > 0 and index > 1:
                await asyncio.sleep(1 / speed)
            yield b"".join(encoded(chunk) for chunk in chunks)
        if not typed:
            yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", **(headers or {})})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"unknown URL: {request.method} {request.url.path}",
               405: f"method {request.method} not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
    return JSONResponse(shapes.error(message), status_code=exc.status_code)

