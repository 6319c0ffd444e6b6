"""Emerging issues: campaigns of near-identical petitions and phrases that suddenly recur.

A pure function of the window's petitions, an `as_of` day and counts of the time before it
(`EmergingHistory`): stored near-duplicate clusters and per-day term counts at ingest, or the
same counts computed from a petition frame. No pair of texts is ever compared.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Protocol

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
    format_rate,
    per_window,
    period_text,
    poisson_upper_tail,
)
from pipeline.monitor.trends import area_labels, petitions_frame
from pipeline.store import PetitionStore
from pipeline.store.clusters import StoredEmergingHistory, cluster_ids
from pipeline.text.neardup import cluster_texts
from pipeline.text.signals import UNKNOWN_AREA
from pipeline.text.terms import PHRASE_BREAK, SYLLABLE, day_terms, is_stop, pair_terms

EMERGING_KINDS: tuple[str, ...] = ("cluster", "term_burst")
# Earlier weeks whose members of a cluster tell whether its wording is usual.
REFERENCE_DAYS = 8 * 7


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


class EmergingHistory(Protocol):
    """Counts of citizen petitions before a window; every range includes both days."""

    def first_day(self) -> date | None:
        """Return the oldest day of a citizen petition."""

    def petitions_between(self, start: date, end: date) -> int:
        """Return how many citizen petitions were received between two days."""

    def cluster_members_between(self, clusters: Sequence[int], start: date, end: date
                                ) -> dict[int, int]:
        """Return {near-duplicate cluster id: members received between two days}."""

    def term_petitions_between(self, terms: Sequence[str], start: date, end: date
                               ) -> dict[str, int]:
        """Return {two-syllable term (pipeline.text.terms): petitions holding it}."""


class FrameHistory:
    """`EmergingHistory` computed from a petition frame with a `cluster_id` column."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame[frame["received_at"].notna()]

    def _between(self, start: date, end: date) -> pd.DataFrame:
        days = self.frame["received_at"]
        return self.frame[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))]

    def first_day(self) -> date | None:
        return self.frame["received_at"].min().date() if len(self.frame) else None

    def petitions_between(self, start: date, end: date) -> int:
        return len(self._between(start, end))

    def cluster_members_between(self, clusters: Sequence[int], start: date, end: date
                                ) -> dict[int, int]:
        found = Counter(int(c) for c in self._between(start, end)["cluster_id"])
        return {c: found[c] for c in clusters if found[c]}

    def term_petitions_between(self, terms: Sequence[str], start: date, end: date
                               ) -> dict[str, int]:
        wanted = set(terms)
        found: Counter[str] = Counter()
        for text in self._between(start, end)["text"]:
            found.update(day_terms(str(text)) & wanted)
        return dict(found)


def with_clusters(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the frame with a `cluster_id` column, placing its texts in id order in memory."""
    if "cluster_id" in frame.columns:
        return frame
    clusters = cluster_texts(zip(frame["id"].astype(int), frame["text"].astype(str),
                                 strict=True))
    return frame.assign(cluster_id=[clusters[int(i)] for i in frame["id"]])


def _sender_key(name: Any) -> str:
    if name is None or pd.isna(name):
        # An unsigned letter could be anyone: it never counts as a further sender.
        return ""
    return " ".join(fold_diacritics(str(name)).split())


def detect_emerging(
    frame: pd.DataFrame,
    as_of: date,
    *,
    history: EmergingHistory | None = None,
    window_days: int = 7,
    history_days: int = 182,
    min_senders: int = 3,
    min_term_count: int = 3,
    max_term_length: int = 5,
    alpha: float = 0.01,
    max_issues: int = 20,
    text_codes: TextCodes | None = None,
) -> list[EmergingIssue]:
    """Return the emerging issues on `as_of`, most severe first (replayable: later data ignored).

    `frame` holds at least the window's petitions, with a `cluster_id` column (the stored
    near-duplicate cluster, see pipeline.text.neardup); without `history` the counts of the
    time before the window come from the frame itself, and without `cluster_id` its texts are
    clustered in memory first, as ingest would have done.

    (a) "cluster": window petitions of one near-duplicate cluster from at least `min_senders`
    different named senders are a campaign or mass complaint. Unsigned petitions never count
    as different senders, so one person sending the same letter again is not a campaign. The
    cluster's members of the eight weeks before, scaled to one window, are the expected count.
    (b) "term_burst": phrases of 2..`max_term_length` syllables found in ≥ `min_term_count`
    window petitions from ≥ 2 named senders and at least three times more often than the
    history share predicts (Poisson upper tail of the number of petitions containing the
    phrase, expected = window size × share in the history, Bonferroni over the candidate
    phrases at `alpha`). The history share of a phrase is that of its rarest two-syllable term
    (stored per day at ingest), an upper bound: storage never invents a burst. Phrases
    beginning or ending with a function word are skipped, phrases found in the same petitions
    are merged and grown to the longest common wording ("Công ty TNHH Chăn nuôi Hưng Phát").
    A burst whose petitions mostly belong to a cluster is reported as that cluster's `terms`.
    `text_codes` keeps the texts' syllable codes by petition id between calls (the days of a
    month); it changes the work, never the answer.
    """
    as_of = check_common(frame, as_of, window_days, history_days)
    check_alpha("alpha", alpha)
    if min_senders < 2 or min_term_count < 2:
        raise HotspotError("min_senders và min_term_count phải ≥ 2")
    if not 2 <= max_term_length <= 10:
        raise HotspotError("max_term_length phải từ 2 đến 10")

    window_start = as_of - timedelta(days=window_days - 1)
    dated = dated_until(frame, as_of)
    if history is None:
        since = dated["received_at"] >= pd.Timestamp(window_start - timedelta(history_days))
        dated = with_clusters(dated[since])
        history = FrameHistory(dated)
    window = dated[dated["received_at"] >= pd.Timestamp(window_start)]
    if len(window) < min(min_senders, min_term_count):
        return []
    first_day = history.first_day()
    data_start = min(first_day, window_start) if first_day else window_start
    history_start = max(window_start - timedelta(days=history_days), data_start)
    history_span = (window_start - history_start).days
    context = _WindowContext(
        texts=[str(t) for t in window["text"]], ids=window["id"].to_numpy(),
        senders=[_sender_key(n) for n in window["sender_name"]],
        areas=[str(a) for a in area_labels(window, "village")],
        window_start=window_start, as_of=as_of, window_days=window_days,
    )
    clusters = _clusters(context, [int(c) for c in with_clusters(window)["cluster_id"]],
                         history, min(history_span, REFERENCE_DAYS), min_senders, alpha)
    # Shared codes are kept by petition id; codes of this call alone by position.
    keys = [int(i) for i in context.ids] if text_codes is not None else range(len(window))
    bursts = _term_bursts(context, history, history_start, history_span, min_term_count,
                          max_term_length, alpha, text_codes or TextCodes(), keys)
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
        issues.append(replace(cluster, terms=tuple(terms[:3])))
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


def _area_text(area: str) -> str:
    if area == "nhiều nơi":
        return "ở nhiều nơi"
    if area == UNKNOWN_AREA:
        return "(chưa rõ nơi gửi)"
    return f"tại {area}"


def _severity_by_size(size: int) -> str:
    return "high" if size >= 10 else "medium" if size >= 5 else "low"


def _clusters(
    ctx: _WindowContext, cluster_of: list[int], history: EmergingHistory, reference_days: int,
    min_senders: int, alpha: float,
) -> list[EmergingIssue]:
    groups: dict[int, list[int]] = {}
    for position, cluster in enumerate(cluster_of):
        groups.setdefault(cluster, []).append(position)
    found = [(cluster, members, ctx.named_senders(members))
             for cluster, members in sorted(groups.items())]
    found = [f for f in found if f[2] >= min_senders]
    if not found:
        return []
    reference_end = ctx.window_start - timedelta(days=1)
    earlier = (history.cluster_members_between(
        [f[0] for f in found], ctx.window_start - timedelta(days=reference_days), reference_end)
        if reference_days else {})

    issues = []
    for cluster, members, senders in found:
        # Letters of the weeks before in the same cluster, scaled to one window: a matter
        # written about every week is usual, a new wording from many people is not.
        matches = earlier.get(cluster, 0)
        expected = matches * ctx.window_days / reference_days if reference_days else 0.0
        # Half a letter of continuity, as for phrases: never-seen is rare, not impossible.
        smoothed = (matches + 0.5) * ctx.window_days / reference_days if reference_days else 0.5
        count = len(members)
        score = float(poisson_upper_tail(count, smoothed))
        if score > alpha / len(found) or count < 3 * expected:
            continue
        # The label is read from the window's earliest stored member.
        first = min(members, key=lambda m: int(ctx.ids[m]))
        label = _summary(ctx.texts[first])
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
    r"^(?:kính gửi|cộng hòa|độc lập|đơn\b|tôi tên là|tôi là|họ và tên|người làm đơn|v/v"
    r"|alo\b|a lô\b|xin chào\b|chào\b)",  # the greeting of a call to the hotline
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


@dataclass
class _Encoded:
    tokens: np.ndarray  # syllable ids; 0 ends a phrase piece or a text
    owner: np.ndarray  # index of the text of each position
    begin: np.ndarray  # character offsets of each syllable in its text (-1 for a break)
    end: np.ndarray


class TextCodes:
    """Syllable codes of petition texts, kept by a key (the petition id), each encoded once.

    The days of a month share most of their window's texts; a window's codes are renumbered
    in order of first appearance, exactly as encoding the window's texts one after the other
    would number them, so the phrases found and their order do not depend on what was kept.
    """

    def __init__(self) -> None:
        self._codes: dict[str, int] = {"": 0}
        self._syllables: list[str] = [""]
        self._stop: list[bool] = [True]
        self._texts: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _encode(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        codes: list[int] = []
        begin: list[int] = []
        end: list[int] = []
        table = self._codes
        position = 0
        for piece in PHRASE_BREAK.split(text):
            for match in SYLLABLE.finditer(piece):
                syllable = match.group(0).lower()
                code = table.get(syllable)
                if code is None:
                    code = table[syllable] = len(self._syllables)
                    self._syllables.append(syllable)
                    self._stop.append(is_stop(syllable))
                codes.append(code)
                start = text.index(match.group(0), position)
                position = start + len(match.group(0))
                begin.append(start)
                end.append(position)
            codes.append(0)  # a break after each piece and each text
            begin.append(-1)
            end.append(-1)
        return (np.asarray(codes, dtype=np.uint64), np.asarray(begin, dtype=np.int64),
                np.asarray(end, dtype=np.int64))

    def window(self, keys: Sequence[int], texts: Sequence[str]
               ) -> tuple[list[str], np.ndarray, _Encoded]:
        """Return the window's syllables by code, whether each is a function word, its codes."""
        parts = []
        for key, text in zip(keys, texts, strict=True):
            found = self._texts.get(int(key))
            if found is None:
                found = self._texts[int(key)] = self._encode(text)
            parts.append(found)
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return [""], np.ones(1, dtype=bool), _Encoded(
                np.zeros(0, dtype=np.uint64), empty, empty, empty)
        tokens = np.concatenate([p[0] for p in parts])
        owner = np.repeat(np.arange(len(parts), dtype=np.int64), [len(p[0]) for p in parts])
        named = tokens != 0
        unique, first = np.unique(tokens[named], return_index=True)
        order = np.argsort(first, kind="stable")
        local = np.empty(len(unique), dtype=np.uint64)
        local[order] = np.arange(1, len(unique) + 1, dtype=np.uint64)
        renumbered = np.zeros_like(tokens)
        renumbered[named] = local[np.searchsorted(unique, tokens[named])]
        chosen = unique[order].astype(np.int64)
        vocabulary = ["", *(self._syllables[int(g)] for g in chosen)]
        stop = np.concatenate(([True], np.asarray(self._stop, dtype=bool)[chosen]))
        return vocabulary, stop, _Encoded(
            renumbered, owner, np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]))


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
    ctx: _WindowContext, history: EmergingHistory, history_start: date, history_span: int,
    min_count: int, max_length: int, alpha: float, codes: TextCodes, keys: Sequence[int],
) -> list[EmergingIssue]:
    if history_span < MIN_HISTORY_DAYS:
        return []
    history_end = ctx.window_start - timedelta(days=1)
    history_size = history.petitions_between(history_start, history_end)
    if history_size < 50:
        return []
    vocabulary, stop, enc = codes.window(keys, ctx.texts)
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

    # How many earlier petitions held each phrase, at most: its rarest stored term's count.
    phrase_terms = []
    for b in cand_begin:
        at, size = int(start[b]), int(length_of[b])
        phrase_terms.append(pair_terms([vocabulary[int(t)] for t in tokens[at:at + size]]))
    seen_terms = history.term_petitions_between(
        sorted({t for terms in phrase_terms for t in terms}), history_start, history_end)
    # A phrase without a countable term is taken as written in every earlier petition.
    past_df = np.asarray([min((seen_terms.get(t, 0) for t in terms), default=history_size)
                          for terms in phrase_terms], dtype=float)

    expected = len(ctx.texts) * (past_df + 0.5) / (history_size + 1)
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
                f"trước đó {f'có không quá {seen} đơn' if seen else 'chưa có đơn nào'} nhắc "
                f"tới (mức bình thường "
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


def emerging_from_store(
    store: PetitionStore, as_of: date, *, window_days: int = 7, history_days: int = 182
) -> list[EmergingIssue]:
    """Return the emerging issues on `as_of` reading only the window's petition rows.

    Clusters come from the near-duplicate clusters stored at ingest, the time before the
    window from stored cluster members and per-day term counts (`StoredEmergingHistory`).
    A petition stored before clusters existed counts as a cluster of its own.
    """
    window_start = as_of - timedelta(days=max(1, window_days) - 1)
    frame = petitions_frame(store.petition_frame_rows(start=window_start, end=as_of))
    stored = cluster_ids(store.engine, [int(i) for i in frame["id"]])
    frame = frame.assign(cluster_id=[stored.get(int(i), int(i)) for i in frame["id"]])
    return detect_emerging(frame, as_of, history=StoredEmergingHistory(store.engine),
                           window_days=window_days, history_days=history_days)
