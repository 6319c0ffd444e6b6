"""Emerging issues: campaigns of near-identical petitions and phrases that suddenly recur.

A pure function of the petition frame and an `as_of` day, like the hot-spot detector.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipeline.intake.normalize import fold_diacritics
from pipeline.monitor.common import (
    MIN_HISTORY_DAYS,
    SEVERITIES,
    HotspotError,
    check_alpha,
    check_common,
    dated_until,
    day_offsets,
    format_rate,
    per_window,
    period_text,
    poisson_upper_tail,
)
from pipeline.monitor.trends import area_labels
from pipeline.text.signals import UNKNOWN_AREA

EMERGING_KINDS: tuple[str, ...] = ("cluster", "term_burst")


@dataclass(frozen=True)
class EmergingIssue:
    """A new matter: a cluster of near-identical petitions or a phrase that suddenly recurs.

    kind: "cluster" (similar texts from different senders, e.g. a campaign) or "term_burst"
    (a phrase such as a company or project name far more frequent than in the history).
    expected: petitions expected to match in the window from the history; score: p-value.
    """

    kind: str
    label: str
    area: str
    window_start: date
    window_end: date
    count: int
    expected: float
    score: float
    severity: str
    explanation: str
    petition_ids: list[int] = field(hash=False)
    terms: tuple[str, ...]
    senders: int


# ----------------------------------------------------------------------------------------------
# Emerging issues

_SYLLABLE = re.compile(r"\w+", re.UNICODE)
# Function words and petition boilerplate: a phrase may not begin or end with one of them.
_STOP_WORDS = frozenset("""
và của là có các những được cho với tại ở trong đã đang sẽ không này đó kia thì mà để như về
từ theo khi bị do nên nhưng hoặc cũng rất đến tới lên ra vào một hai ba nhiều ít mọi hết còn
tôi chúng ta mình ông bà anh chị em cô chú bác họ người dân bà con gia đình nhà xin kính gửi
đề nghị kiến nghị phản ánh đơn ủy ban nhân ubnd xã thôn xóm tỉnh huyện việc vụ sự nay đây
trên dưới sau trước lúc năm tháng ngày giờ nào gì ai sao vì nếu thế rồi lại vẫn chưa đều cùng
hay ạ nhé thưa là vậy quá lắm chỉ mới ngay luôn cả các hộ số
""".split())





def _sender_key(name: Any) -> str:
    if name is None or pd.isna(name):
        # An unsigned letter could be anyone: it never counts as a further sender.
        return ""
    return " ".join(fold_diacritics(str(name)).split())


def detect_emerging(
    frame: pd.DataFrame,
    as_of: date,
    *,
    window_days: int = 7,
    history_days: int = 182,
    similarity: float = 0.55,
    min_senders: int = 3,
    min_term_count: int = 3,
    max_term_length: int = 5,
    alpha: float = 0.01,
    max_issues: int = 20,
) -> list[EmergingIssue]:
    """Return the emerging issues on `as_of`, most severe first (replayable: later data ignored).

    (a) "cluster": petitions of the window whose character 3–5-grams (TF-IDF, with the IDF
    learnt on the window and the last eight weeks so that shared headers weigh little) have
    cosine similarity ≥ `similarity` are linked; a connected group with at least `min_senders`
    different named senders is a campaign or mass complaint. Unsigned petitions never count as
    different senders, so one person sending the same letter again is not a campaign.
    (b) "term_burst": phrases of 2..`max_term_length` syllables found in ≥ `min_term_count`
    window petitions from ≥ 2 named senders and at least three times more often than the
    history share predicts (Poisson upper tail of the number of petitions containing the
    phrase, expected = window size × share in the history, Bonferroni over the candidate
    phrases at `alpha`). Phrases beginning or ending with a function word are skipped,
    phrases found in the same petitions are merged and grown to the longest common wording
    ("Công ty TNHH Chăn nuôi Hưng Phát"). A burst whose petitions mostly belong to a cluster is
    reported as that cluster's `terms` instead of on its own.
    """
    as_of = check_common(frame, as_of, window_days, history_days)
    check_alpha("alpha", alpha)
    if not 0 < similarity < 1:
        raise HotspotError(f"similarity phải nằm trong khoảng (0, 1), nhận được {similarity!r}")
    if min_senders < 2 or min_term_count < 2:
        raise HotspotError("min_senders và min_term_count phải ≥ 2")
    if not 2 <= max_term_length <= 10:
        raise HotspotError("max_term_length phải từ 2 đến 10")

    window_start = as_of - timedelta(days=window_days - 1)
    dated = dated_until(frame, as_of)
    if dated.empty:
        return []
    data_start = dated["received_at"].min().date()
    history_span = max(0, (window_start - max(window_start - timedelta(days=history_days),
                                              data_start)).days)
    dated = dated[dated["received_at"] >= pd.Timestamp(window_start - timedelta(history_span))]
    in_window = (dated["received_at"] >= pd.Timestamp(window_start)).to_numpy()
    window, history = dated[in_window], dated[~in_window]
    if len(window) < min(min_senders, min_term_count):
        return []
    offsets = day_offsets(history["received_at"], window_start)
    reference_days = min(history_span, 8 * 7)
    reference = [str(t) for t in history["text"][offsets >= -reference_days]]
    context = _WindowContext(
        texts=[str(t) for t in window["text"]], ids=window["id"].to_numpy(),
        senders=[_sender_key(n) for n in window["sender_name"]],
        areas=[str(a) for a in area_labels(window, "village")],
        window_start=window_start, as_of=as_of, window_days=window_days,
    )
    clusters = _clusters(context, reference, reference_days, similarity, min_senders, alpha)
    bursts = _term_bursts(context, [str(t) for t in history["text"]], history_span,
                          min_term_count, max_term_length, alpha)
    issues: list[EmergingIssue] = []
    claimed: set[int] = set()
    for cluster in clusters:
        members = set(cluster.petition_ids)
        terms = []
        for index, burst in enumerate(bursts):
            docs = set(burst.petition_ids)
            if len(docs & members) >= 0.7 * len(docs):
                terms.append(burst.label)
                claimed.add(index)
        issues.append(_replace(cluster, terms=tuple(terms[:3])))
    issues.extend(b for i, b in enumerate(bursts) if i not in claimed)
    issues.sort(key=lambda i: (-SEVERITIES.index(i.severity), i.score, -i.count, i.label))
    return issues[:max_issues]


@dataclass(frozen=True)
class _WindowContext:
    texts: list[str]
    ids: np.ndarray
    senders: list[str]
    areas: list[str]
    window_start: date
    as_of: date
    window_days: int

    def named_senders(self, members: Iterable[int]) -> int:
        return len({self.senders[m] for m in members if self.senders[m]})

    def area(self, members: Iterable[int]) -> str:
        areas = [self.areas[m] for m in members]
        known = [a for a in areas if a != UNKNOWN_AREA]
        if not known:
            return UNKNOWN_AREA
        area, count = Counter(known).most_common(1)[0]
        return area if count >= 0.6 * len(areas) else "nhiều nơi"

    def period(self) -> str:
        return period_text(self.window_days, self.window_start, self.as_of)


def _replace(issue: EmergingIssue, **changes: Any) -> EmergingIssue:
    from dataclasses import replace

    return replace(issue, **changes)


def _area_text(area: str) -> str:
    if area == "nhiều nơi":
        return "ở nhiều nơi"
    if area == UNKNOWN_AREA:
        return "(chưa rõ nơi gửi)"
    return f"tại {area}"


def _severity_by_size(size: int) -> str:
    return "high" if size >= 10 else "medium" if size >= 5 else "low"


def _clusters(
    ctx: _WindowContext, reference: list[str], reference_days: int, similarity: float,
    min_senders: int, alpha: float,
) -> list[EmergingIssue]:
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True,
                                 sublinear_tf=True, dtype=np.float32)
    vectorizer.fit(ctx.texts + reference)
    matrix = vectorizer.transform(ctx.texts)
    similar = (matrix @ matrix.T).tocsr()
    similar.data[similar.data < similarity] = 0
    similar.eliminate_zeros()
    n_groups, group = connected_components(similar, directed=False)
    sizes = np.bincount(group, minlength=n_groups)
    past = (vectorizer.transform(reference) @ matrix.T).tocsc() if reference else None

    found = []
    for g in np.nonzero(sizes >= min_senders)[0]:
        members = np.nonzero(group == g)[0]
        senders = ctx.named_senders(members)
        if senders < min_senders:
            continue
        # Letters of the weeks before that would have joined the group, scaled to one window:
        # a matter written about every week is usual, a new wording from many people is not.
        matches = 0
        if past is not None:
            block = past[:, members]
            matches = int((block.max(axis=1).toarray().ravel() >= similarity).sum())
        expected = matches * ctx.window_days / reference_days if reference_days else 0.0
        # Half a letter of continuity, as for phrases: never-seen is rare, not impossible.
        smoothed = (matches + 0.5) * ctx.window_days / reference_days if reference_days else 0.5
        count = len(members)
        score = float(poisson_upper_tail(count, smoothed))
        found.append((members, senders, matches, expected, count, score))

    issues = []
    for members, senders, matches, expected, count, score in found:
        if score > alpha / max(1, len(found)) or count < 3 * expected:
            continue
        centre = np.asarray(matrix[members].mean(axis=0)).ravel()
        medoid = int(members[np.argmax(matrix[members] @ centre)])
        label = _summary(ctx.texts[medoid])
        area = ctx.area(members)
        issues.append(EmergingIssue(
            kind="cluster", label=label, area=area, window_start=ctx.window_start,
            window_end=ctx.as_of, count=count, expected=round(expected, 4), score=score,
            severity=_severity_by_size(senders),
            explanation=(
                f"{count} đơn có nội dung gần giống nhau từ {senders} người gửi khác nhau "
                f"{_area_text(area)} trong {ctx.period()}: «{label}»"
                + (f"; {reference_days} ngày trước đó chỉ có {matches} đơn tương tự"
                   if matches else "; trước đó chưa có đơn nào tương tự")
            ),
            petition_ids=sorted(int(ctx.ids[m]) for m in members), terms=(), senders=senders,
        ))
    return issues


_BOILERPLATE_START = re.compile(
    r"^(?:kính gửi|cộng hòa|độc lập|đơn\b|tôi tên là|tôi là|họ và tên|người làm đơn|v/v)",
    re.IGNORECASE,
)


def _summary(text: str, limit: int = 120) -> str:
    """Return the first sentence of a text that is not a header or greeting, shortened."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?;\n])\s+", text) if s.strip()]
    chosen = next((s for s in sentences
                   if len(s.split()) >= 6 and not _BOILERPLATE_START.match(s)),
                  sentences[0] if sentences else text)
    chosen = " ".join(chosen.split())
    return chosen if len(chosen) <= limit else chosen[: limit - 1].rsplit(" ", 1)[0] + "…"


# A phrase never crosses punctuation: "…Hưng Phát. Từ ngày…" holds two phrases.
_PHRASE_BREAK = re.compile(r"[.,;:!?()\[\]\"“”«»\n/]+")


@dataclass
class _Encoded:
    tokens: np.ndarray  # syllable ids; 0 ends a phrase piece or a text
    owner: np.ndarray  # index of the text of each position
    begin: np.ndarray  # character offsets of each syllable in its text (-1 for a break)
    end: np.ndarray


class _Syllables:
    """Integer ids of lower-cased syllables, shared by the window and the history."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {"": 0}
        self.stop: list[bool] = [True]
        self.capital: list[bool] = [False]

    def encode(self, texts: Sequence[str], *, offsets: bool = False) -> _Encoded:
        """Return the texts as syllable ids, with a break after each piece and each text."""
        ids: list[int] = []
        owner: list[int] = []
        begin: list[int] = []
        end: list[int] = []
        table = self.ids
        for index, text in enumerate(texts):
            position = 0
            for piece in _PHRASE_BREAK.split(text):
                for match in _SYLLABLE.finditer(piece):
                    syllable = match.group(0).lower()
                    code = table.get(syllable)
                    if code is None:
                        code = table[syllable] = len(table)
                        self.stop.append(syllable in _STOP_WORDS or syllable.isdigit()
                                         or len(syllable) == 1)
                    ids.append(code)
                    if offsets:
                        start = text.index(match.group(0), position)
                        position = start + len(match.group(0))
                        begin.append(start)
                        end.append(position)
                ids.append(0)
                begin.append(-1)
                end.append(-1)
                owner.extend([index] * (len(ids) - len(owner)))
        return _Encoded(np.asarray(ids, dtype=np.uint64), np.asarray(owner, dtype=np.int64),
                        np.asarray(begin if offsets else [], dtype=np.int64),
                        np.asarray(end if offsets else [], dtype=np.int64))


_HASH_BASE = np.uint64(1_000_003)


def _ngram_hashes(tokens: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (hash of the n-gram starting at each position, whether it holds no break)."""
    count = max(0, len(tokens) - length + 1)
    hashes = np.full(count, np.uint64(length), dtype=np.uint64)
    valid = np.ones(count, dtype=bool)
    with np.errstate(over="ignore"):
        for k in range(length):
            part = tokens[k:k + count]
            hashes = hashes * _HASH_BASE + part  # wraps modulo 2**64 on purpose
            valid &= part != 0
    return hashes, valid


def _capitals(ctx: _WindowContext, enc: _Encoded, start: int, length: int) -> int:
    text = ctx.texts[int(enc.owner[start])]
    return sum(text[int(enc.begin[i])].isupper() for i in range(start, start + length))


def _term_bursts(
    ctx: _WindowContext, history: list[str], history_span: int, min_count: int,
    max_length: int, alpha: float,
) -> list[EmergingIssue]:
    if len(history) < 50 or history_span < MIN_HISTORY_DAYS:
        return []
    syllables = _Syllables()
    enc = syllables.encode(ctx.texts, offsets=True)
    past = syllables.encode(history)
    stop = np.asarray(syllables.stop, dtype=bool)
    tokens, owner = enc.tokens, enc.owner

    # Candidates: window n-grams in enough petitions whose first and last syllables carry meaning.
    starts, lengths, hashes, docs_of = [], [], [], []
    for length in range(2, max_length + 1):
        h, ok = _ngram_hashes(tokens, length)
        position = np.arange(len(h))
        ok &= ~stop[tokens[:len(h)].astype(np.int64)]
        ok &= ~stop[tokens[length - 1:length - 1 + len(h)].astype(np.int64)]
        starts.append(position[ok])
        lengths.append(np.full(int(ok.sum()), length))
        hashes.append(h[ok])
        docs_of.append(owner[:len(h)][ok])
    start = np.concatenate(starts)
    length_of = np.concatenate(lengths)
    gram = np.concatenate(hashes)
    doc = np.concatenate(docs_of)
    order = np.lexsort((doc, gram))
    gram, doc, start, length_of = gram[order], doc[order], start[order], length_of[order]
    first = np.ones(len(gram), dtype=bool)
    first[1:] = (gram[1:] != gram[:-1]) | (doc[1:] != doc[:-1])
    gram, doc, start, length_of = gram[first], doc[first], start[first], length_of[first]
    unique, begin, df = np.unique(gram, return_index=True, return_counts=True)
    # A phrase in most letters of the week is boilerplate, not news.
    candidates = (df >= min_count) & (df <= 0.5 * len(ctx.texts))
    if not candidates.any():
        return []
    cand_hash, cand_begin, window_df = unique[candidates], begin[candidates], df[candidates]

    past_df = np.zeros(len(cand_hash))
    for length in range(2, max_length + 1):
        h, ok = _ngram_hashes(past.tokens, length)
        hit = ok & np.isin(h, cand_hash)
        pairs = np.unique(np.stack([h[hit], past.owner[:len(h)][hit].astype(np.uint64)]), axis=1)
        found, counts = np.unique(pairs[0], return_counts=True)
        past_df[np.searchsorted(cand_hash, found)] += counts

    expected = len(ctx.texts) * (past_df + 0.5) / (len(history) + 1)
    pvalue = poisson_upper_tail(window_df, expected)
    passing = (pvalue <= alpha / len(cand_hash)) & (window_df >= 3 * expected)
    groups = []
    for c in np.nonzero(passing)[0]:
        b, n = cand_begin[c], window_df[c]
        members = doc[b:b + n]
        if ctx.named_senders(members) < 2:
            continue
        length = int(length_of[b])
        capitals = _capitals(ctx, enc, int(start[b]), length)
        groups.append((float(pvalue[c]), -capitals, -length, set(members.tolist()), int(c)))
    # Strongest first; among equals the phrase that looks most like a name, then the longest.
    groups.sort(key=lambda g: g[:3])

    issues: list[EmergingIssue] = []
    kept: list[set[int]] = []
    for p, _, negative_length, members, c in groups:
        if any(len(members & other) / len(members | other) >= 0.5 for other in kept):
            continue
        kept.append(members)
        phrase = _grow_phrase(enc, members, -negative_length, cand_hash[c], stop, ctx)
        count = len(members)
        senders = ctx.named_senders(members)
        area = ctx.area(members)
        seen = int(past_df[c])
        exp = float(expected[c])
        issues.append(EmergingIssue(
            kind="term_burst", label=phrase, area=area, window_start=ctx.window_start,
            window_end=ctx.as_of, count=count, expected=round(exp, 4), score=p,
            severity=_severity_by_size(count),
            explanation=(
                f"Cụm từ «{phrase}» xuất hiện trong {count} đơn của {senders} người gửi "
                f"{_area_text(area)} trong {ctx.period()}, trong khi {history_span} ngày "
                f"trước đó chỉ có {seen} đơn nhắc tới (mức bình thường "
                f"{format_rate(exp)}/{per_window(ctx.window_days)})"
            ),
            petition_ids=sorted(int(ctx.ids[m]) for m in members), terms=(phrase,),
            senders=senders,
        ))
    return issues


def _grow_phrase(
    enc: _Encoded, members: set[int], length: int, gram: np.uint64, stop: np.ndarray,
    ctx: _WindowContext, share: float = 0.8, longest: int = 12,
) -> str:
    """Return the phrase widened syllable by syllable while most of its petitions agree.

    Growth stops at punctuation and at function words, which bound a name or a noun phrase:
    "trại heo của | Công ty TNHH Chăn nuôi Hưng Phát | ."
    """
    tokens = enc.tokens
    hashes, valid = _ngram_hashes(tokens, length)
    spans: dict[int, tuple[int, int]] = {}
    for position in np.nonzero(valid & (hashes == gram))[0]:
        d = int(enc.owner[position])
        if d in members and d not in spans:
            spans[d] = (int(position), int(position) + length)
    need = share * len(spans)

    def next_token(indices: dict[int, int]) -> int:
        seen = Counter(int(tokens[i]) if 0 <= i < len(tokens) else 0 for i in indices.values())
        token, count = seen.most_common(1)[0]
        if token == 0 or stop[token] or count < need:
            return 0
        return token

    while max(e - s for s, e in spans.values()) < longest:
        right = next_token({d: e for d, (s, e) in spans.items()})
        if right:
            spans = {d: (s, e + 1) for d, (s, e) in spans.items() if int(tokens[e]) == right}
            continue
        left = next_token({d: s - 1 for d, (s, e) in spans.items()})
        if not left:
            break
        spans = {d: (s - 1, e) for d, (s, e) in spans.items() if int(tokens[s - 1]) == left}
    d, (s, e) = min(spans.items())
    return " ".join(ctx.texts[d][int(enc.begin[s]):int(enc.end[e - 1])].split())
