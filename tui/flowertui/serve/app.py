"""The Starlette application: routes, request decoding, errors in the API's shape.

Every failure is answered, never raised to the server: a bad body is a 400 with
{"error": {"message", "type", "param", "code"}}, an unknown path a 404, a wrong
method a 405, anything unexpected a 500 with no traceback, and serving goes on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from flowertui.serve import shapes
from flowertui.serve.bodies import BadRequest, chat_request, completion_request
from flowertui.serve.replies import answer_chat, answer_completion

ADVERTISED_MODELS = ["flowershop-offline", "gpt-3.5-turbo-instruct", "gpt-3.5-turbo", "gpt-4o-mini"]


def create_app(speed: float = 0.0) -> Starlette:
    """The API; `speed` paces streamed replies in tokens/s (0: as fast as possible)."""

    async def chat_completions(request: Request) -> Response:
        parsed = chat_request(await _json(request))
        answer = answer_chat(parsed)
        if parsed.options.stream:
            return _stream(shapes.chat_chunks(answer, parsed.options.include_usage), speed)
        return JSONResponse(shapes.chat_response(answer))

    async def completions(request: Request) -> Response:
        parsed = completion_request(await _json(request))
        answer = answer_completion(parsed)
        if parsed.options.stream:
            return _stream(shapes.completion_chunks(answer, parsed.options.include_usage), speed)
        return JSONResponse(shapes.completion_response(answer))

    async def list_models(request: Request) -> Response:
        return JSONResponse(shapes.models(ADVERTISED_MODELS))

    async def get_model(request: Request) -> Response:
        return JSONResponse(shapes.model(request.path_params["name"]))  # any model name is served

    routes = [
        Route("/v1/chat/completions", _answered(chat_completions), methods=["POST"]),
        Route("/v1/completions", _answered(completions), methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{name:path}", get_model, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})


def _answered(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Errors become answers here, so nothing reaches the server's error log (or a screen)."""

    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BadRequest as exc:
            return JSONResponse(shapes.error(str(exc), param=exc.param), status_code=400)
        except Exception as exc:  # the API's 500, never a traceback
            return JSONResponse(shapes.error(f"the offline assistant failed: {type(exc).__name__}", "server_error"),
                                status_code=500)

    return answer


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


def _stream(rounds: Iterator[list[dict[str, Any]]], speed: float) -> StreamingResponse:
    async def events() -> AsyncIterator[bytes]:
        for index, chunks in enumerate(rounds):
            if speed > 0 and index > 1:
                await asyncio.sleep(1 / speed)
            yield b"".join(b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n" for chunk in chunks)
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"unknown URL: {request.method} {request.url.path}",
               405: f"method {request.method} not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
    return JSONResponse(shapes.error(message), status_code=exc.status_code)

