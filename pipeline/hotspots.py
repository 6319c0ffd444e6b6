"""Hot spots (điểm nóng) and emerging issues found in a frame of petitions, with explanations.

Both detectors are pure functions of the petition frame (pipeline.trends.petitions_frame) and an
`as_of` day: petitions received after `as_of` are ignored, so a past day can be replayed and
gives the same answer. The method and its references are in docs/hotspots.md.

Cost, for n petitions in the history span and w in the window: `detect_hotspots` is
O(n + units × topics) (a few group-bys and array operations); `detect_emerging` is
O(n × L) for the syllable n-grams (L = syllables per text) plus O(w² × density) for the sparse
similarity of window texts, which stays small for a commune (a few hundred texts a week).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipeline.extract import UNKNOWN_AREA
from pipeline.normalize import fold_diacritics
from pipeline.taxonomy import Taxonomy, default_taxonomy
from pipeline.trends import Level, area_labels, check_frame

SEVERITIES: tuple[str, ...] = ("low", "medium", "high")
HOTSPOT_KINDS: tuple[str, ...] = ("spike", "first_religion")
EMERGING_KINDS: tuple[str, ...] = ("cluster", "term_burst")
SEVERITY_NAMES: dict[str, str] = {"low": "thấp", "medium": "trung bình", "high": "cao"}

# Below this much history a rate cannot be told from noise; only the first-ever rule runs.
MIN_HISTORY_DAYS = 28
# The recent span that sets the current level of each topic (seasons, campaigns of the office).
RECENT_DAYS = 28
# Bounds of the prior's weight, in days of observation: never fully trust 2 weeks of peers, and
# always leave a village's own long history some say.
PRIOR_DAYS_MIN = 14.0
PRIOR_DAYS_MAX_FACTOR = 2.0


class HotspotError(ValueError):
    """Hot-spot or emerging-issue detection was called with a bad argument."""


@dataclass(frozen=True)
class Hotspot:
    """An area × topic whose petitions in the window stand out, with the evidence.

    kind: "spike" (more petitions than the area's usual rate) or "first_religion" (the first
    religion-related petition ever seen in a village). level: "village" or "commune".
    expected: petitions expected in the window; score: the upper-tail p-value of `count`
    (1.0 for first_religion); signals: petitions of the window carrying mass / repeat.
    """

    kind: str
    level: str
    area: str
    topic: str
    window_start: date
    window_end: date
    count: int
    expected: float
    score: float
    severity: str
    explanation: str
    petition_ids: list[int] = field(hash=False)
    signals: dict[str, int] = field(hash=False)


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
# Vietnamese formatting


def format_number(value: float, decimals: int = 1) -> str:
    """Return a number the Vietnamese way: "1.234,5"; trailing ",0" dropped."""
    text = f"{value:,.{decimals}f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    if "," in text:
        text = text.rstrip("0").rstrip(",")
    return text


def _format_rate(value: float) -> str:
    return format_number(value, 1 if value >= 0.095 else 2)


def _format_ratio(value: float) -> str:
    return format_number(value, 0 if value >= 5 else 1)


def _period_text(window_days: int, start: date, end: date) -> str:
    days = "7 ngày qua" if window_days == 7 else f"{window_days} ngày qua"
    if start == end:
        return f"{days} (ngày {end:%d/%m/%Y})"
    return f"{days} ({start:%d/%m}–{end:%d/%m/%Y})"


def _per_window(window_days: int) -> str:
    return "tuần" if window_days == 7 else f"{window_days} ngày"


def _signal_text(signals: dict[str, int]) -> str:
    parts = []
    if signals.get("mass"):
        parts.append(f"{signals['mass']} đơn tập thể, đông người")
    if signals.get("repeat"):
        parts.append(f"{signals['repeat']} đơn phản ánh nhiều lần, kéo dài")
    return "".join(f"; {part}" for part in parts)


def _raise_severity(severity: str, steps: int) -> str:
    return SEVERITIES[min(len(SEVERITIES) - 1, SEVERITIES.index(severity) + steps)]


# ----------------------------------------------------------------------------------------------
# Shared checks


def _check_common(frame: pd.DataFrame, as_of: Any, window_days: Any, history_days: Any) -> date:
    check_frame(frame)
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    if not isinstance(as_of, date):
        raise HotspotError(f"as_of phải là một ngày (date), nhận được {type(as_of).__name__}")
    if not isinstance(window_days, int) or window_days < 1:
        raise HotspotError(f"window_days phải là số nguyên ≥ 1, nhận được {window_days!r}")
    if not isinstance(history_days, int) or history_days < window_days:
        raise HotspotError(
            f"history_days phải là số nguyên ≥ window_days ({window_days}), "
            f"nhận được {history_days!r}"
        )
    return as_of


def _check_alpha(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise HotspotError(f"{name} phải nằm trong khoảng (0, 1), nhận được {value!r}")


def _dated_until(frame: pd.DataFrame, as_of: date) -> pd.DataFrame:
    received = frame["received_at"]
    return frame[received.notna() & (received <= pd.Timestamp(as_of))]


def _day_offsets(received: pd.Series, window_start: date) -> np.ndarray:
    delta = received.to_numpy(dtype="datetime64[D]") - np.datetime64(window_start, "D")
    return delta.astype(np.int64)


def _nb_upper_tail(count: np.ndarray, mean: np.ndarray, shape: np.ndarray,
                   dispersion: float) -> np.ndarray:
    """Return P(X ≥ count) for a negative binomial with the given mean and variance.

    Variance = dispersion × mean + mean² / shape: the Poisson part inflated for overdispersion
    (quasi-Poisson, as in Farrington's method) plus the uncertainty of the estimated rate
    (a Gamma posterior with that shape), so a rate learnt from few petitions cries wolf less.
    """
    from scipy import stats

    mean = np.maximum(mean, 1e-9)
    excess = (dispersion - 1.0) * mean + mean**2 / shape
    size = mean**2 / np.maximum(excess, 1e-12)
    prob = size / (size + mean)
    return np.asarray(stats.nbinom.sf(count - 1, size, prob), dtype=float)


# ----------------------------------------------------------------------------------------------
# Hot spots


@dataclass(frozen=True)
class _LevelScan:
    """Counts, expected counts and p-values of every scanned window × unit × topic."""

    units: list[str]
    topics: list[str]
    lengths: tuple[int, ...]  # scanned window lengths in days, all ending at as_of
    weights: tuple[float, ...]  # each scanned window in average days (weekday-weighted)
    window: np.ndarray  # shape (windows, units, topics)
    expected: np.ndarray
    pvalue: np.ndarray
    own_history: np.ndarray  # shape (units, topics)


def detect_hotspots(
    frame: pd.DataFrame,
    as_of: date,
    *,
    window_days: int = 7,
    history_days: int = 182,
    alpha: float = 0.01,
    sensitive_alpha: float = 0.05,
    min_count: int = 4,
    sensitive_min_count: int = 3,
    min_ratio: float = 2.0,
    sensitive: Iterable[str] | None = None,
    first_ever_topics: Sequence[str] = ("religion",),
    levels: Sequence[Level] = ("village", "commune"),
    taxonomy: Taxonomy | None = None,
    scan_windows: Sequence[int] | None = None,
) -> list[Hotspot]:
    """Return the hot spots on `as_of`, most severe first (replayable: later data ignored).

    For each area (village, then commune) × topic, the petitions of the window
    [as_of − window_days + 1, as_of] are compared with the area's usual rate, learnt from the
    `history_days` before the window and shrunk towards the rate of peer areas for the same topic
    (empirical Bayes, Gamma–Poisson), scaled by the topic's current level across all areas in the
    last four weeks, and tested with a negative-binomial upper tail. The count is scanned over
    windows of every length in `scan_windows` ending at as_of (default: the whole window only;
    lengths must lie in 1..window_days), and the window with the smallest p-value is reported,
    so a burst of letters in two or three days is not diluted by a quiet week (a prospective
    temporal scan in the manner of Kulldorff). A hot spot needs count ≥ min_count,
    count ≥ min_ratio × expected and a p-value under alpha / (number of tests), where the tests
    are units × topics × scanned windows (Bonferroni); topics in `sensitive` (default: the
    taxonomy's sensitive topics) use sensitive_alpha and sensitive_min_count. The first
    petition ever seen on a topic of `first_ever_topics` in a village is always a hot spot
    (low, or medium with several petitions or mass / repeat signals). Each mass or repeat
    signal in the window raises the severity one step. A commune-level hot spot is kept only
    when no village of that commune has one on the same topic.
    """
    as_of = _check_common(frame, as_of, window_days, history_days)
    for name, value in (("alpha", alpha), ("sensitive_alpha", sensitive_alpha)):
        _check_alpha(name, value)
    if min_count < 1 or sensitive_min_count < 1:
        raise HotspotError("min_count và sensitive_min_count phải ≥ 1")
    if min_ratio < 1:
        raise HotspotError(f"min_ratio phải ≥ 1, nhận được {min_ratio!r}")
    lengths = _scan_lengths(scan_windows, window_days)
    bad_levels = [lv for lv in levels if lv not in ("village", "commune", "province")]
    if bad_levels:
        raise HotspotError(f"levels chỉ nhận village, commune, province; nhận được {bad_levels}")
    taxonomy = taxonomy or default_taxonomy()
    codes = list(taxonomy.codes)
    unknown = [t for t in (*(sensitive or ()), *first_ever_topics) if t not in codes]
    if unknown:
        raise HotspotError(f"chủ đề không có trong danh mục: {', '.join(unknown)}")
    sensitive_set = set(sensitive) if sensitive is not None else {
        t.code for t in taxonomy.topics if t.sensitive
    }

    window_start = as_of - timedelta(days=window_days - 1)
    history_start = window_start - timedelta(days=history_days)
    dated = _dated_until(frame, as_of)
    if dated.empty:
        return []
    data_start = dated["received_at"].min().date()
    exposure = max(0, (window_start - max(history_start, data_start)).days)
    span = dated[dated["received_at"] >= pd.Timestamp(window_start - timedelta(days=exposure))]
    exploded = _explode_topics(span, window_start, codes)

    hotspots: list[Hotspot] = []
    village_of_commune: dict[str, set[str]] = {}
    for level in levels:
        labels = area_labels(span, level)
        rows = exploded.assign(unit=labels.reindex(exploded.index).to_numpy())
        rows = rows[rows["unit"] != UNKNOWN_AREA]
        if level == "village":
            pairs = pd.DataFrame({"v": labels, "c": area_labels(span, "commune")})
            for village, commune in pairs.drop_duplicates().itertuples(index=False):
                village_of_commune.setdefault(commune, set()).add(village)
        if exposure < MIN_HISTORY_DAYS or rows.empty:
            continue
        scan = _scan_level(rows, codes, window_days, exposure, lengths, window_start.weekday())
        found = _spikes_of_level(
            scan, rows, level, as_of, window_days, exposure, taxonomy,
            sensitive_set, alpha, sensitive_alpha, min_count, sensitive_min_count, min_ratio,
        )
        if level == "commune":
            flagged = {(h.area, h.topic) for h in hotspots if h.level == "village"}
            found = [h for h in found if not any(
                (village, h.topic) in flagged for village in village_of_commune.get(h.area, ())
            )]
        hotspots.extend(found)

    if "village" in levels:
        hotspots = _first_ever(hotspots, dated, window_start, as_of, window_days,
                               first_ever_topics, taxonomy)
    return sorted(hotspots, key=_hotspot_order)


def _scan_lengths(scan_windows: Sequence[int] | None, window_days: int) -> tuple[int, ...]:
    """Return the sorted window lengths to scan, checked against window_days."""
    if scan_windows is None:
        return (window_days,)
    lengths = tuple(sorted(set(scan_windows)))
    if not lengths or any(
        not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= window_days
        for n in lengths
    ):
        raise HotspotError(
            f"scan_windows phải là các số nguyên từ 1 đến window_days ({window_days}), "
            f"nhận được {scan_windows!r}"
        )
    return lengths


def _hotspot_order(h: Hotspot) -> tuple[Any, ...]:
    return (-SEVERITIES.index(h.severity), h.kind != "spike", h.score, -h.count, h.area, h.topic)


def _explode_topics(span: pd.DataFrame, window_start: date, codes: list[str]) -> pd.DataFrame:
    signals = span["signals"]
    base = pd.DataFrame({
        "id": span["id"].to_numpy(),
        "offset": _day_offsets(span["received_at"], window_start),
        "mass": signals.map(lambda s: "mass" in s).to_numpy(dtype=bool),
        "repeat": signals.map(lambda s: "repeat" in s).to_numpy(dtype=bool),
        "topic": span["topics"].to_numpy(),
    }, index=span.index)
    exploded = base.explode("topic")
    return exploded[exploded["topic"].isin(codes)]


def _scan_level(rows: pd.DataFrame, codes: list[str], window_days: int, exposure: int,
                lengths: tuple[int, ...], first_weekday: int) -> _LevelScan:
    units = sorted(rows["unit"].unique())
    unit_index = {u: i for i, u in enumerate(units)}
    u = rows["unit"].map(unit_index).to_numpy(dtype=np.int64)
    t = rows["topic"].map({c: i for i, c in enumerate(codes)}).to_numpy(dtype=np.int64)
    offset = rows["offset"].to_numpy(dtype=np.int64)
    n_units, n_topics = len(units), len(codes)

    in_window = offset >= 0
    window = np.zeros((n_units, n_topics))
    np.add.at(window, (u[in_window], t[in_window]), 1)
    history = np.zeros((n_units, n_topics))
    np.add.at(history, (u[~in_window], t[~in_window]), 1)

    # Empirical Bayes: each unit's rate is Gamma distributed around the peer mean; the spread
    # between units beyond Poisson noise (method of moments) sets how much peers weigh.
    rates = history / exposure
    peer_mean = rates.mean(axis=0)
    if n_units >= 3:
        spread = rates.var(axis=0, ddof=1) - peer_mean / exposure
    else:
        spread = np.full(n_topics, np.inf)
    floor = 0.5 / (exposure * n_units)  # half a petition in all the history: no zero rates
    peer_mean = np.maximum(peer_mean, floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        prior_days = np.where(spread > 0, peer_mean / spread, np.inf)
    prior_days = np.clip(prior_days, PRIOR_DAYS_MIN,
                         max(PRIOR_DAYS_MIN, PRIOR_DAYS_MAX_FACTOR * exposure))
    shape = peer_mean * prior_days + history
    rate = shape / (prior_days + exposure)

    # Current level of each topic over all units: the last weeks against the long history, with
    # a few pseudo-petitions so that a quiet topic does not swing on one or two letters.
    recent_days = min(RECENT_DAYS, exposure)
    recent = ~in_window & (offset >= -recent_days)
    recent_counts = np.bincount(t[recent], minlength=n_topics).astype(float)
    usual = history.sum(axis=0) / exposure * recent_days
    level = np.clip((recent_counts + 5.0) / (usual + 5.0), 0.5, 3.0)

    # Every scanned window ends at as_of; a window of n days starts window_days − n days after
    # the full window's start, so its petitions have offset ≥ window_days − n.
    daily = np.zeros((n_units, n_topics, window_days))
    np.add.at(daily, (u[in_window], t[in_window], offset[in_window]), 1)
    tail = np.cumsum(daily[..., ::-1], axis=2)  # tail[..., n − 1]: the last n days
    counts = np.stack([tail[..., n - 1] for n in lengths])
    days_in = _weekday_days(offset[~in_window], window_days, exposure, first_weekday)
    # The full window keeps its plain length, as it always had; only shorter windows, which a
    # weekend can fill or empty, are weighted by weekday.
    weights = tuple(float(n if n == window_days else days_in[n - 1]) for n in lengths)
    expected = np.stack([rate * w * level[None, :] for w in weights])
    dispersion = _dispersion(u, t, offset, n_units, n_topics, window_days, exposure)
    pvalue = _nb_upper_tail(counts, expected, shape[None, ...], dispersion)
    return _LevelScan(units, codes, lengths, weights, counts, expected, pvalue, history)


def _weekday_days(past_offsets: np.ndarray, window_days: int, exposure: int,
                  first_weekday: int) -> np.ndarray:
    """Return, for n = 1..window_days, the last n days of the window in average-day units.

    Offices receive far more letters on Monday than on Sunday; a two-day window over a weekend
    must not expect two average days of petitions. The weekday profile is learnt from all
    petitions of the history (pooled over units and topics, with one pseudo-letter a day), so
    a whole week always counts as seven days.
    """
    weekday = (first_weekday + past_offsets) % 7
    letters = np.bincount(weekday, minlength=7).astype(float)
    history_weekday = (first_weekday + np.arange(-exposure, 0)) % 7
    days = np.bincount(history_weekday, minlength=7).astype(float)
    per_day = (letters + days) / np.maximum(days, 1.0)
    profile = per_day / per_day.mean()
    window_weekday = (first_weekday + np.arange(window_days)) % 7
    return np.cumsum(profile[window_weekday][::-1])


def _dispersion(u: np.ndarray, t: np.ndarray, offset: np.ndarray, n_units: int, n_topics: int,
                window_days: int, exposure: int) -> float:
    """Return the pooled Pearson dispersion of past window counts (1 = Poisson), in [1, 4].

    Past windows are compared with each unit's mean scaled by the topic's level in that window,
    so the common ups and downs of a season do not count as overdispersion of every unit.
    """
    bins = exposure // window_days
    if bins < 4:
        return 1.0
    past = offset < 0
    k = (-offset[past] - 1) // window_days
    keep = k < bins
    counts = np.zeros((n_units, n_topics, bins))
    np.add.at(counts, (u[past][keep], t[past][keep], k[keep]), 1)
    unit_mean = counts.mean(axis=2, keepdims=True)
    topic_level = counts.sum(axis=0, keepdims=True)
    topic_mean = topic_level.mean(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(topic_mean > 0, topic_level / topic_mean, 1.0)
    fitted = unit_mean * scaled
    active = (unit_mean[..., 0] > 0)
    if active.sum() == 0:
        return 1.0
    residual = np.where(fitted > 0, (counts - fitted) ** 2 / np.maximum(fitted, 1e-9), 0.0)
    chi2 = residual[active].sum()
    dof = active.sum() * (bins - 1) - n_topics * (bins - 1)
    if dof <= 0:
        return 1.0
    return float(np.clip(chi2 / dof, 1.0, 4.0))


def _spikes_of_level(
    scan: _LevelScan, rows: pd.DataFrame, level: str, as_of: date, window_days: int,
    exposure: int, taxonomy: Taxonomy, sensitive: set[str], alpha: float, sensitive_alpha: float,
    min_count: int, sensitive_min_count: int, min_ratio: float,
) -> list[Hotspot]:
    n_tests = scan.window.size  # windows × units × topics
    is_sensitive = np.array([t in sensitive for t in scan.topics])
    threshold = np.where(is_sensitive, sensitive_alpha, alpha) / n_tests
    minimum = np.where(is_sensitive, sensitive_min_count, min_count)
    fires = (
        (scan.window >= minimum[None, None, :])
        & (scan.window >= min_ratio * scan.expected)
        & (scan.pvalue <= threshold[None, None, :])
    )
    # Of the windows that pass, each unit × topic reports the one with the smallest p-value;
    # among equal p-values the longest, which carries the most petitions.
    ranked = np.where(fires, scan.pvalue, np.inf)[::-1]
    best = len(scan.lengths) - 1 - np.argmin(ranked, axis=0)
    window_rows = rows[rows["offset"] >= 0]
    result = []
    for ui, ti in zip(*np.nonzero(fires.any(axis=0)), strict=True):
        wi = int(best[ui, ti])
        days = scan.lengths[wi]
        start = as_of - timedelta(days=days - 1)
        area, topic = scan.units[ui], scan.topics[ti]
        chosen = window_rows[(window_rows["unit"] == area) & (window_rows["topic"] == topic)
                             & (window_rows["offset"] >= window_days - days)]
        signals = {"mass": int(chosen["mass"].sum()), "repeat": int(chosen["repeat"].sum())}
        count, expected = int(scan.window[wi, ui, ti]), float(scan.expected[wi, ui, ti])
        pvalue = float(scan.pvalue[wi, ui, ti])
        strength = math.log10(threshold[ti] / max(pvalue, 1e-300))
        severity = "high" if strength >= 3 else "medium" if strength >= 1 else "low"
        severity = _raise_severity(severity, (signals["mass"] > 0) + (signals["repeat"] > 0))
        # The usual rate is always quoted per week (or per full window) so that officers
        # compare like with like whichever window fired.
        usual = expected * window_days / scan.weights[wi]
        explanation = (
            f"{count} đơn về {taxonomy.name(topic)} tại {area} trong "
            f"{_period_text(days, start, as_of)}, gấp "
            f"{_format_ratio(count / expected)} lần mức bình thường "
            f"({_format_rate(usual)}/{_per_window(window_days)})"
            f"{_signal_text(signals)}"
        )
        if scan.own_history[ui, ti] == 0:
            explanation += f"; {exposure} ngày trước đó nơi này chưa có đơn nào về chủ đề này"
        result.append(Hotspot(
            kind="spike", level=level, area=area, topic=topic, window_start=start,
            window_end=as_of, count=count, expected=round(expected, 4), score=pvalue,
            severity=severity, explanation=explanation,
            petition_ids=sorted(int(i) for i in chosen["id"].unique()), signals=signals,
        ))
    return result


def _first_ever(
    hotspots: list[Hotspot], dated: pd.DataFrame, window_start: date, as_of: date,
    window_days: int, topics: Sequence[str], taxonomy: Taxonomy,
) -> list[Hotspot]:
    """Return the hot spots plus one for each village whose first petition on a topic is new."""
    if not topics:
        return hotspots
    wanted = set(topics)
    on_topic = dated[dated["topics"].map(lambda codes: not wanted.isdisjoint(codes)).astype(bool)]
    if on_topic.empty:
        return hotspots
    villages = area_labels(on_topic, "village")
    in_window = (on_topic["received_at"] >= pd.Timestamp(window_start)).to_numpy()
    result = list(hotspots)
    for topic in topics:
        has_topic = on_topic["topics"].map(lambda codes, t=topic: t in codes).to_numpy(dtype=bool)
        seen_before = set(villages[has_topic & ~in_window])
        new_rows = on_topic[has_topic & in_window]
        new_villages = villages[has_topic & in_window]
        for village in sorted(set(new_villages) - seen_before - {UNKNOWN_AREA}):
            chosen = new_rows[(new_villages == village).to_numpy()]
            signals = {
                "mass": int(chosen["signals"].map(lambda s: "mass" in s).sum()),
                "repeat": int(chosen["signals"].map(lambda s: "repeat" in s).sum()),
            }
            note = f"; lần đầu tiên có đơn về {taxonomy.name(topic)} tại thôn này"
            spike = next((h for h in result if h.kind == "spike" and h.level == "village"
                          and h.area == village and h.topic == topic), None)
            if spike is not None:
                result[result.index(spike)] = _with(
                    spike, explanation=spike.explanation + note,
                    severity=_raise_severity(spike.severity, spike.severity == "low"),
                )
                continue
            count = len(chosen)
            severity = "medium" if count >= 2 or signals["mass"] or signals["repeat"] else "low"
            result.append(Hotspot(
                kind=f"first_{topic}", level="village", area=village, topic=topic,
                window_start=window_start, window_end=as_of, count=count, expected=0.0,
                score=1.0, severity=severity,
                explanation=(
                    f"Lần đầu tiên có đơn về {taxonomy.name(topic)} tại {village}: {count} đơn "
                    f"trong {_period_text(window_days, window_start, as_of)}"
                    f"{_signal_text(signals)}; cần nắm tình hình sớm"
                ),
                petition_ids=sorted(int(i) for i in chosen["id"]), signals=signals,
            ))
    return result


def _with(hotspot: Hotspot, **changes: Any) -> Hotspot:
    from dataclasses import replace

    return replace(hotspot, **changes)


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


def _poisson_upper_tail(count: np.ndarray | int, mean: np.ndarray | float) -> np.ndarray:
    from scipy import stats

    return np.asarray(stats.poisson.sf(np.asarray(count) - 1, np.maximum(mean, 1e-9)))


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
    as_of = _check_common(frame, as_of, window_days, history_days)
    _check_alpha("alpha", alpha)
    if not 0 < similarity < 1:
        raise HotspotError(f"similarity phải nằm trong khoảng (0, 1), nhận được {similarity!r}")
    if min_senders < 2 or min_term_count < 2:
        raise HotspotError("min_senders và min_term_count phải ≥ 2")
    if not 2 <= max_term_length <= 10:
        raise HotspotError("max_term_length phải từ 2 đến 10")

    window_start = as_of - timedelta(days=window_days - 1)
    dated = _dated_until(frame, as_of)
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
    offsets = _day_offsets(history["received_at"], window_start)
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
        return _period_text(self.window_days, self.window_start, self.as_of)


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
        score = float(_poisson_upper_tail(count, smoothed))
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
    pvalue = _poisson_upper_tail(window_df, expected)
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
                f"{_format_rate(exp)}/{_per_window(ctx.window_days)})"
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
