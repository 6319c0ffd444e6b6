"""Word tokens for Vietnamese text; the only module that imports underthesea's tokenizer."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# Sentences repeat a lot across petitions (greetings, headers, closing formulas), so the cache is
# per sentence rather than per text.
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;:\n])\s+")
_CACHE_SIZE = 200_000


@lru_cache(maxsize=1)
def _word_tokenize():  # type: ignore[no-untyped-def]
    # Imported on first use: loading underthesea costs about half a second.
    from underthesea import word_tokenize

    return word_tokenize


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
