"""Syllables and the two-syllable terms counted per day at ingest for term bursts.

A phrase of an emerging issue ("Công ty CP Xây lắp Vĩnh An") is found in the window's own
texts; how often it was written before is bounded from above by its rarest two-syllable term,
whose daily petition counts are stored at ingest: no petition of the history is read again.
"""

from __future__ import annotations

import re

SYLLABLE = re.compile(r"\w+", re.UNICODE)
# A phrase never crosses punctuation: "…Hưng Phát. Từ ngày…" holds two phrases.
PHRASE_BREAK = re.compile(r"[.,;:!?()\[\]\"“”«»\n/]+")
# Function words and petition boilerplate: a phrase may not begin or end with one of them.
STOP_WORDS = frozenset("""
và của là có các những được cho với tại ở trong đã đang sẽ không này đó kia thì mà để như về
từ theo khi bị do nên nhưng hoặc cũng rất đến tới lên ra vào một hai ba nhiều ít mọi hết còn
tôi chúng ta mình ông bà anh chị em cô chú bác họ người dân bà con gia đình nhà xin kính gửi
đề nghị kiến nghị phản ánh đơn ủy ban nhân ubnd xã thôn xóm tỉnh huyện việc vụ sự nay đây
trên dưới sau trước lúc năm tháng ngày giờ nào gì ai sao vì nếu thế rồi lại vẫn chưa đều cùng
hay ạ nhé thưa là vậy quá lắm chỉ mới ngay luôn cả các hộ số
""".split())
# Longest term stored (characters): longer syllable pairs are noise (codes, links).
MAX_TERM_CHARS = 80


def is_stop(syllable: str) -> bool:
    """Return whether a lower-cased syllable cannot begin or end a phrase."""
    return syllable in STOP_WORDS or syllable.isdigit() or len(syllable) == 1


def syllable_pieces(text: str) -> list[list[str]]:
    """Return the lower-cased syllables of each piece of text between punctuation marks."""
    return [[m.group(0).lower() for m in SYLLABLE.finditer(piece)]
            for piece in PHRASE_BREAK.split(text)]


def pair_terms(syllables: list[str]) -> list[str]:
    """Return the two-syllable terms of one piece that hold at least one content syllable."""
    return [f"{a} {b}" for a, b in zip(syllables, syllables[1:], strict=False)
            if not (is_stop(a) and is_stop(b)) and len(a) + len(b) < MAX_TERM_CHARS]


def day_terms(text: str) -> frozenset[str]:
    """Return the distinct terms of a text whose daily petition counts are stored (pure)."""
    return frozenset(t for piece in syllable_pieces(text) for t in pair_terms(piece))
