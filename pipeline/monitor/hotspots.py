"""Hot spots (điểm nóng): an area × topic whose petitions in a window stand out, explained.

The detector is a pure function of the petition frame (monitor.trends.petitions_frame) and an
`as_of` day: petitions received after `as_of` are ignored, so a past day can be replayed and
gives the same answer. The method and its references are in docs/hotspots.md. Cost, for n
petitions in the history span: O(n + units × topics) (a few group-bys and array operations).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipeline.monitor.common import (
    MIN_HISTORY_DAYS,
    SEVERITIES,
    HotspotError,
    check_alpha,
    check_common,
    dated_until,
    day_offsets,
    format_rate,
    format_ratio,
    per_window,
    period_text,
    raise_severity,
    signal_text,
)
from pipeline.monitor.trends import Level, area_labels
from pipeline.taxonomy import Taxonomy, default_taxonomy
from pipeline.text.signals import UNKNOWN_AREA

HOTSPOT_KINDS: tuple[str, ...] = ("spike", "first_religion")

# The recent span that sets the current level of each topic (seasons, campaigns of the office).
RECENT_DAYS = 28
# Bounds of the prior's weight, in days of observation: never fully trust 2 weeks of peers, and
# always leave a village's own long history some say.
PRIOR_DAYS_MIN = 14.0
PRIOR_DAYS_MAX_FACTOR = 2.0


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
    as_of = check_common(frame, as_of, window_days, history_days)
    for name, value in (("alpha", alpha), ("sensitive_alpha", sensitive_alpha)):
        check_alpha(name, value)
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
    dated = dated_until(frame, as_of)
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
        "offset": day_offsets(span["received_at"], window_start),
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
        severity = raise_severity(severity, (signals["mass"] > 0) + (signals["repeat"] > 0))
        # The usual rate is always quoted per week (or per full window) so that officers
        # compare like with like whichever window fired.
        usual = expected * window_days / scan.weights[wi]
        explanation = (
            f"{count} đơn về {taxonomy.name(topic)} tại {area} trong "
            f"{period_text(days, start, as_of)}, gấp "
            f"{format_ratio(count / expected)} lần mức bình thường "
            f"({format_rate(usual)}/{per_window(window_days)})"
            f"{signal_text(signals)}"
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
                    severity=raise_severity(spike.severity, spike.severity == "low"),
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
                    f"trong {period_text(window_days, window_start, as_of)}"
                    f"{signal_text(signals)}; cần nắm tình hình sớm"
                ),
                petition_ids=sorted(int(i) for i in chosen["id"]), signals=signals,
            ))
    return result


def _with(hotspot: Hotspot, **changes: Any) -> Hotspot:
    from dataclasses import replace

    return replace(hotspot, **changes)
