"""Word tokens for Vietnamese text; the only module that imports underthesea's tokenizer."""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from typing import Any, Literal

# Sentences repeat a lot across petitions (greetings, headers, closing formulas), so the cache is
# per sentence rather than per text.
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;:\n])\s+")
_CACHE_SIZE = 200_000


# underthesea loads each model on the first call and publishes it before it is ready: a second
# thread calling meanwhile gets "'NoneType' object has no attribute ...". One lock for every
# first call; it is never taken again once a tool is loaded.
_LOAD_LOCK = threading.Lock()
_WARM_SENTENCE = "Đường liên thôn Tân Mỹ bị sạt lở."
UnderstheseaTool = Literal["word_tokenize", "ner"]


@cache
def underthesea_tool(name: UnderstheseaTool) -> Callable[..., Any]:
    """Return underthesea's function `name` with its model loaded, safe to call from threads."""
    # Imported on first use: loading underthesea costs about half a second.
    with _LOAD_LOCK:
        tool: Callable[..., Any] = getattr(importlib.import_module("underthesea"), name)
        tool(_WARM_SENTENCE)
        return tool


def warm_up_tools(names: Iterable[UnderstheseaTool] = ("word_tokenize", "ner")) -> None:
    """Load underthesea's models now (servers call this before taking requests)."""
    for name in names:
        underthesea_tool(name)


def _word_tokenize() -> Callable[[str], list[str]]:
    return underthesea_tool("word_tokenize")


@lru_cache(maxsize=_CACHE_SIZE)
def _tokenize_sentence(sentence: str) -> tuple[str, ...]:
    return tuple(_word_tokenize()(sentence))


def split_sentences(text: str) -> list[str]:
    """Return the text cut into sentences (punctuation and line breaks), empty pieces removed."""
    return [piece for piece in _SENTENCE_SPLIT.split(text) if piece.strip()]


def word_tokens(text: str) -> list[str]:
    """Return the words of a text; multi-syllable words keep their inner spaces ("lấn chiếm")."""
    tokens: list[str] = []
    for sentence in split_sentences(text):
        tokens.extend(_tokenize_sentence(sentence.strip()))
    return tokens


def word_tokens_batch(texts: Iterable[str]) -> list[list[str]]:
    """Return word tokens for each text of a batch, sharing one sentence cache."""
    return [word_tokens(text) for text in texts]


def joined_tokens(text: str) -> str:
    """Return the text as space-separated tokens, syllables of one word joined by "_"."""
    return " ".join(token.replace(" ", "_") for token in word_tokens(text))


def cache_info() -> tuple[int, int]:
    """Return (hits, misses) of the sentence cache, for benchmarks and progress reports."""
    info = _tokenize_sentence.cache_info()
    return info.hits, info.misses
