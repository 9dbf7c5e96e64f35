"""POST /v1/embeddings: deterministic vectors of the model's real size, similar texts nearer.

A text becomes counts of its hashed character 1- to 3-grams (words too), each
gram adding ±1 to one of the vector's dimensions, then scaled to length 1: texts
sharing words and characters point the same way, so a RAG program's similarity
search finds the passage that shares the question's words. LangChain's
OpenAIEmbeddings sends token arrays (it splits long texts with tiktoken); they
are decoded with the model's encoding, so a text and its tokens give one vector.
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

from flowertui.engine import tokens
from flowertui.serve.bodies import BadRequest, request_model, request_object
from flowertui.serve.limits import check_context
from flowertui.serve.replies import count

DIMENSIONS = {"text-embedding-3-large": 3072, "text-embedding-3-small": 1536, "text-embedding-ada-002": 1536}
DEFAULT_DIMENSIONS = 1536
MAX_INPUTS = 2048  # the API's limit per request
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str
    texts: tuple[str, ...]
    token_counts: tuple[int, ...]
    dimensions: int
    base64: bool


@dataclass(frozen=True)
class EmbeddingCall:
    """What the server tells its owner about each embeddings request it answered (LangChain sends no callback)."""

    model: str
    inputs: int
    prompt_tokens: int
    dimensions: int


def embedding_request(body: Any) -> EmbeddingRequest:
    """A /v1/embeddings body, checked; the input is a string, strings, tokens, or arrays of tokens."""
    body = request_object(body)
    model = request_model(body)
    texts, counts = _inputs(body.get("input"), model)
    native = DIMENSIONS.get(model, DEFAULT_DIMENSIONS)
    dimensions = body.get("dimensions", native)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= native:
        raise BadRequest(f"'dimensions' must be an integer from 1 to {native} for {model}", "dimensions")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise BadRequest("'encoding_format' must be 'float' or 'base64'", "encoding_format")
    for count in counts:
        check_context(model, count, None, "input")
    return EmbeddingRequest(model, texts, counts, dimensions, encoding == "base64")


def _inputs(raw: Any, model: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    if isinstance(raw, str):
        items: list[Any] = [raw]
    elif isinstance(raw, list) and raw and all(_is_token(t) for t in raw):
        items = [raw]  # one text as tokens
    elif isinstance(raw, list) and raw:
        items = raw
    else:
        raise BadRequest("'input' must be a string, an array of strings, or an array of token arrays", "input")
    if len(items) > MAX_INPUTS:
        raise BadRequest(f"'input' may hold at most {MAX_INPUTS} items; got {len(items)}", "input")
    encoding = tokens.get_encoding(tokens.encoding_name_for(model))
    texts, counts = [], []
    for index, item in enumerate(items):
        if isinstance(item, str):
            texts.append(item)
            counts.append(count(item, model))
        elif isinstance(item, list) and item and all(_is_token(t) for t in item):
            try:
                texts.append(encoding.decode(item, errors="replace"))
            except (KeyError, ValueError, OverflowError):
                raise BadRequest(f"'input[{index}]' holds a token id the encoding does not have", "input") from None
            counts.append(len(item))
        else:
            raise BadRequest(f"'input[{index}]' must be a string or a non-empty array of token ids", "input")
    return tuple(texts), tuple(counts)


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


def vector(text: str, dimensions: int) -> list[float]:
    """The text's unit vector: hashed character 1–3-grams and words, signed, normalised."""
    values = [0.0] * dimensions
    lowered = text.lower()
    grams = Counter(lowered[i:i + n] for n in (1, 2, 3) for i in range(len(lowered) - n + 1))
    for word, times in Counter(_WORDS.findall(lowered)).items():
        grams[f"w:{word}"] += 2 * times  # whole words weigh more than their letters
    for gram, times in grams.items():
        hashed = zlib.crc32(gram.encode("utf-8", "replace"))
        values[hashed % dimensions] += times if hashed & 0x80000000 else -times
    norm = math.sqrt(sum(v * v for v in values))
    if norm == 0:
        values[0] = 1.0
        return values
    return [v / norm for v in values]


def embedding_body(request: EmbeddingRequest) -> bytes:
    """The response's JSON, rendered one embedding at a time: one json.dumps of 2048 × 3072 floats
    would hold the GIL for seconds."""
    items = []
    for index, text in enumerate(request.texts):
        values = vector(text, request.dimensions)
        encoded: Any = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode() if request.base64 else values
        items.append(json.dumps({"object": "embedding", "index": index, "embedding": encoded}).encode())
    used = sum(request.token_counts)
    tail = json.dumps({"model": request.model, "usage": {"prompt_tokens": used, "total_tokens": used}})
    return b'{"object": "list", "data": [' + b", ".join(items) + b"], " + tail[1:].encode()


def call_of(request: EmbeddingRequest) -> EmbeddingCall:
    return EmbeddingCall(request.model, len(request.texts), sum(request.token_counts), request.dimensions)
