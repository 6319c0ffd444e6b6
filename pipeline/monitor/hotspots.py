"""Hot spots (điểm nóng): an area × topic whose petitions in a window stand out, explained.

The detector reads daily counts (pipeline.monitor.counts), the first day each village wrote on a
topic, and the current window's petitions with their near-duplicate cluster (the text
evidence). It is a pure function of those and an `as_of` day: counts after `as_of` are ignored,
so a past day can be replayed and gives the same answer. `detect_hotspots` runs the same on a
petitions frame (monitor.trends.petitions_frame). The model (NB2 counts, thresholds from a
false-alarm budget calibrated on the data's own recent past) is in pipeline.monitor.hotspot_model
and docs/hotspots.md. Cost: O(rows + units × topics × (days + replayed days)).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipeline.monitor import hotspot_model as model
from pipeline.monitor.common import (
    MIN_HISTORY_DAYS,
    SEVERITIES,
    HotspotError,
    check_common,
    dated_until,
    format_rate,
    format_ratio,
    per_window,
    period_text,
    raise_severity,
    signal_text,
)
from pipeline.monitor.counts import COUNTS_FRAME_COLUMNS, counts_from_petitions
from pipeline.monitor.counts import first_seen_from_counts as _first_seen
from pipeline.monitor.trends import Level, area_labels
from pipeline.taxonomy import Taxonomy, default_taxonomy
from pipeline.text.signals import UNKNOWN_AREA

HOTSPOT_KINDS: tuple[str, ...] = ("spike", "first_religion")
EVIDENCE_KINDS: tuple[str, ...] = ("count", "cluster", "signals", "first")
EVIDENCE_COLUMNS: tuple[str, ...] = (
    "id", "day", "village", "commune", "province", "topic", "cluster", "sender", "mass",
    "repeat",
)
DEFAULT_SCAN_WINDOWS: tuple[int, ...] = (3, 7)
LIMIT_COLUMNS: tuple[str, ...] = ("level", "area", "topic", "expected", "threshold", "min_spike")
# Below this many petitions in its history a cell's usual rate is mostly its peers': the
# explanation then gives the number of past petitions instead of a ratio.
FEW_PAST_PETITIONS = 4


@dataclass(frozen=True)
class Hotspot:
    """An area × topic whose petitions in the window stand out, with the evidence.

    kind: "spike" (more petitions than the area's usual rate, or a coherent group of them) or
    "first_religion" (the first religion-related petition ever seen in a village). level:
    "village" or "commune". expected: petitions expected in the window; score: the upper-tail
    p-value of the test that fired (1.0 for first_religion); signals: petitions of the window
    carrying mass / repeat. threshold: the count in this window that would have made it a hot
    spot on its own; min_spike: the smallest excess over the usual week this cell can show at
    the current budget; evidence: what made it a hot spot ("count", "cluster", "signals",
    "first"); coherent: the largest group of near-duplicate petitions in the window.
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
    threshold: int = 0
    min_spike: int = 0
    evidence: tuple[str, ...] = ()
    coherent: int = 0


@dataclass(frozen=True)
class Options:
    """The detector's settings once checked (see detect_from_counts for their meaning)."""

    window_days: int
    history_days: int
    budget: float
    sensitive_share: float
    text_share: float
    replay_days: int
    min_count: int
    sensitive_min_count: int
    min_ratio: float
    cluster_min: int
    sensitive: frozenset[str]
    first_ever_topics: tuple[str, ...]
    levels: tuple[str, ...]
    lengths: tuple[int, ...]
    taxonomy: Taxonomy


def detect_hotspots(frame: pd.DataFrame, as_of: date, **options: Any) -> list[Hotspot]:
    """Return the hot spots of a petitions frame on `as_of` (see detect_from_counts).

    The frame's own rows are the text evidence: a `cluster` column (near-duplicate cluster id)
    is used when present, otherwise every petition is its own cluster.
    """
    as_of = check_common(frame, as_of, options.get("window_days", 7),
                         options.get("history_days", 182))
    dated = dated_until(frame, as_of)
    counts = counts_from_petitions(dated)
    return detect_from_counts(counts, as_of, first_seen=_first_seen(counts),
                              evidence=evidence_rows(dated), **options)


def evidence_rows(frame: pd.DataFrame, clusters: Mapping[int, int] | None = None
                  ) -> pd.DataFrame:
    """Return one row per petition × topic of a petitions frame (EVIDENCE_COLUMNS).

    `cluster` is the near-duplicate cluster id from `clusters`, or the frame's `cluster`
    column, or the petition's own id (no near duplicate known). `sender` is the sender's name
    folded to lower case, or the petition id when unknown: one person writing the same letter
    three times is a repeat, not three voices.
    """
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in EVIDENCE_COLUMNS})
    ids = frame["id"].astype("int64")
    if clusters is not None:
        cluster = ids.map(lambda i: clusters.get(int(i), -int(i)))
    elif "cluster" in frame.columns:
        cluster = frame["cluster"].fillna(-ids).astype("int64")
    else:
        cluster = -ids  # negative: never equal to a stored cluster id
    rows = pd.DataFrame({
        "id": ids, "day": frame["received_at"], "village": frame["village"],
        "commune": frame["commune"], "province": frame["province"], "topic": frame["topics"],
        "cluster": cluster, "sender": _senders(frame, ids),
        "mass": frame["signals"].map(lambda s: "mass" in s).astype(bool),
        "repeat": frame["signals"].map(lambda s: "repeat" in s).astype(bool),
    })
    return rows.explode("topic").dropna(subset=["topic"]).reset_index(drop=True)


def _senders(frame: pd.DataFrame, ids: pd.Series) -> pd.Series:
    if "sender_name" not in frame.columns:
        return ids.map(lambda i: f"#{i}")
    names = frame["sender_name"].astype("string").str.strip().str.casefold()
    return names.where(names.notna() & (names != ""), ids.map(lambda i: f"#{i}")).astype(str)


def detect_from_counts(
    counts: pd.DataFrame,
    as_of: date,
    *,
    first_seen: pd.DataFrame | None = None,
    evidence: pd.DataFrame | None = None,
    window_days: int = 7,
    history_days: int = 182,
    budget: float = 1.0,
    sensitive_share: float = 0.4,
    text_share: float = 0.2,
    replay_days: int = 56,
    min_count: int = 4,
    sensitive_min_count: int = 3,
    min_ratio: float = 2.0,
    cluster_min: int = 3,
    sensitive: Iterable[str] | None = None,
    first_ever_topics: Sequence[str] = ("religion",),
    levels: Sequence[Level] = ("village", "commune"),
    taxonomy: Taxonomy | None = None,
    scan_windows: Sequence[int] | None = DEFAULT_SCAN_WINDOWS,
) -> list[Hotspot]:
    """Return the hot spots on `as_of`, most severe first (replayable: later data ignored).

    For each area (village, then commune) × topic the petitions of the windows of
    `scan_windows` days ending at as_of (default 3 and 7) are compared with the area's usual
    rate (its own `history_days`, shrunk to its peers, times the topic's current level and the
    weekday profile) under a negative binomial with variance μ + μ²/k (NB2), k from the cell's
    own past weeks shrunk to the level's pool. The per-test significance comes from a budget of
    `budget` false hot spots per commune per month: `sensitive_share` of it for the taxonomy's
    sensitive topics (or `sensitive`), `text_share` for the text evidence, the rest for the
    other topics; each share is calibrated by replaying the last `replay_days` days of history.
    A count hot spot also needs count ≥ min_count (sensitive_min_count) and ≥ min_ratio ×
    expected. Text evidence: `cluster_min` or more near-duplicate petitions (`evidence`), or as
    many mass / repeat petitions, tested against how rare such groups are. The first petition
    on a topic of `first_ever_topics` in a village (`first_seen`) is always a hot spot. A
    commune-level hot spot is kept only when no village of that commune has one on the topic.
    """
    as_of = _as_date(as_of)
    opts = _options(window_days, history_days, budget, sensitive_share, text_share,
                    replay_days, min_count, sensitive_min_count, min_ratio, cluster_min,
                    sensitive, first_ever_topics, levels, taxonomy, scan_windows)
    window_start = as_of - timedelta(days=opts.window_days - 1)
    window_evidence = _window_evidence(evidence, window_start, as_of)
    prepared = _prepare(counts, as_of, opts, window_evidence)
    if prepared is None:
        return []
    scans, dated, exposure = prepared
    hotspots: list[Hotspot] = []
    if scans:
        village_of_commune = _villages_by_commune(dated)
        for scan in scans:
            found = _hotspots_of_level(scan, as_of, exposure, opts)
            if scan.level == "commune":
                flagged = {(h.area, h.topic) for h in hotspots if h.level == "village"}
                found = [h for h in found if not any(
                    (v, h.topic) in flagged for v in village_of_commune.get(h.area, ()))]
            hotspots.extend(found)
    hotspots = attach_ids(hotspots, window_evidence)
    if "village" in opts.levels and first_seen is not None:
        hotspots = _first_ever(hotspots, first_seen, dated, window_evidence, window_start,
                               as_of, opts)
    return sorted(hotspots, key=_hotspot_order)


def detection_limits(counts: pd.DataFrame, as_of: date, **options: Any) -> pd.DataFrame:
    """Return, per cell, what the count test needs on `as_of` at the current budget.

    Columns (LIMIT_COLUMNS): level, area, topic; expected (petitions in a usual
    `window_days`), threshold (the count in that window that is a hot spot on its own) and
    min_spike (the smallest excess over the usual window the counts can show). Options are
    those of detect_from_counts; the text evidence does not enter. Empty without enough history.
    """
    as_of = _as_date(as_of)
    keys = ("window_days", "history_days", "budget", "sensitive_share", "text_share",
            "replay_days", "min_count", "sensitive_min_count", "min_ratio", "cluster_min",
            "sensitive", "first_ever_topics", "levels", "taxonomy", "scan_windows")
    unknown = sorted(set(options) - set(keys))
    if unknown:
        raise HotspotError(f"tùy chọn không có: {', '.join(unknown)}")
    defaults = {name: parameter.default for name, parameter in
                inspect.signature(detect_from_counts).parameters.items() if name in keys}
    opts = _options(**{**defaults, **options})
    prepared = _prepare(counts, as_of, opts, None)
    rows: list[dict[str, Any]] = []
    for scan in prepared[0] if prepared else []:
        full = opts.lengths.index(opts.window_days) if opts.window_days in opts.lengths else -1
        expected = scan.expected[full]
        threshold = _trigger(scan, scan.alpha[None, None, :], opts.min_ratio)[full]
        spike = np.maximum(1, np.ceil(threshold - expected - 1e-9)).astype(np.int64)
        for ui, area in enumerate(scan.units):
            for ti, topic in enumerate(scan.topics):
                rows.append({"level": scan.level, "area": area, "topic": topic,
                             "expected": round(float(expected[ui, ti]), 4),
                             "threshold": int(threshold[ui, ti]),
                             "min_spike": int(spike[ui, ti])})
    return pd.DataFrame(rows, columns=list(LIMIT_COLUMNS))


def _prepare(counts: pd.DataFrame, as_of: date, opts: Options,
             window_evidence: pd.DataFrame | None
             ) -> tuple[list[_LevelScan], pd.DataFrame, int] | None:
    """Return each level's scan with its thresholds set, the dated counts and the exposure.

    None when no count is dated on or before as_of; no scans when the history is too short.
    """
    missing = [c for c in COUNTS_FRAME_COLUMNS if c not in counts.columns]
    if missing:
        raise HotspotError(f"bảng số đếm thiếu cột: {', '.join(missing)}")
    window_start = as_of - timedelta(days=opts.window_days - 1)
    codes = list(opts.taxonomy.codes)
    days = pd.to_datetime(counts["day"])
    dated = counts[days.notna() & (days <= pd.Timestamp(as_of))
                   & counts["topic"].isin(codes)]
    if dated.empty:
        return None
    dated = dated.assign(day=pd.to_datetime(dated["day"]))
    history_start = window_start - timedelta(days=opts.history_days)
    data_start = dated["day"].min().date()
    exposure = max(0, (window_start - max(history_start, data_start)).days)
    span_start = window_start - timedelta(days=exposure)
    dated = dated[dated["day"] >= pd.Timestamp(span_start)]
    scans = []
    if exposure >= MIN_HISTORY_DAYS:
        for level in opts.levels:
            scan = _scan_level(dated, level, codes, span_start, exposure, as_of, opts,
                               window_evidence)
            if scan is not None:
                scans.append(scan)
    if scans:
        _set_thresholds(scans, dated, opts)
    return scans, dated, exposure


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise HotspotError(f"as_of phải là một ngày (date), nhận được {type(value).__name__}")
    return value


def _options(window_days: Any, history_days: Any, budget: float, sensitive_share: float,
             text_share: float, replay_days: int, min_count: int, sensitive_min_count: int,
             min_ratio: float, cluster_min: int, sensitive: Iterable[str] | None,
             first_ever_topics: Sequence[str], levels: Sequence[str],
             taxonomy: Taxonomy | None, scan_windows: Sequence[int] | None) -> Options:
    if not isinstance(window_days, int) or window_days < 1:
        raise HotspotError(f"window_days phải là số nguyên ≥ 1, nhận được {window_days!r}")
    if not isinstance(history_days, int) or history_days < window_days:
        raise HotspotError(f"history_days phải là số nguyên ≥ window_days ({window_days}), "
                           f"nhận được {history_days!r}")
    if not budget > 0:
        raise HotspotError(f"budget phải > 0 (số điểm nóng sai cho phép mỗi xã mỗi tháng), "
                           f"nhận được {budget!r}")
    if not (0 <= sensitive_share and 0 <= text_share and sensitive_share + text_share < 1):
        raise HotspotError("sensitive_share và text_share phải ≥ 0 và tổng nhỏ hơn 1")
    if min_count < 1 or sensitive_min_count < 1 or cluster_min < 2:
        raise HotspotError("min_count và sensitive_min_count phải ≥ 1, cluster_min phải ≥ 2")
    if min_ratio < 1:
        raise HotspotError(f"min_ratio phải ≥ 1, nhận được {min_ratio!r}")
    bad_levels = [lv for lv in levels if lv not in ("village", "commune", "province")]
    if bad_levels:
        raise HotspotError(f"levels chỉ nhận village, commune, province; nhận được {bad_levels}")
    taxonomy = taxonomy or default_taxonomy()
    unknown = [t for t in (*(sensitive or ()), *first_ever_topics) if t not in taxonomy.codes]
    if unknown:
        raise HotspotError(f"chủ đề không có trong danh mục: {', '.join(unknown)}")
    sensitive_set = frozenset(sensitive) if sensitive is not None else frozenset(
        t.code for t in taxonomy.topics if t.sensitive)
    return Options(window_days, history_days, float(budget), float(sensitive_share),
                   float(text_share), int(replay_days), min_count, sensitive_min_count,
                   float(min_ratio), cluster_min, sensitive_set, tuple(first_ever_topics),
                   tuple(levels), _scan_lengths(scan_windows, window_days), taxonomy)


def _scan_lengths(scan_windows: Sequence[int] | None, window_days: int) -> tuple[int, ...]:
    """Return the sorted window lengths to scan, checked against window_days.

    The default (3 and 7 days) follows a shorter window: lengths above it are dropped and the
    window itself is always scanned.
    """
    if scan_windows is None:
        return (window_days,)
    if tuple(scan_windows) == DEFAULT_SCAN_WINDOWS:
        return tuple(sorted({n for n in DEFAULT_SCAN_WINDOWS if n <= window_days}
                            | {window_days}))
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


def _window_evidence(evidence: pd.DataFrame | None, window_start: date, as_of: date
                     ) -> pd.DataFrame | None:
    if evidence is None:
        return None
    days = pd.to_datetime(evidence["day"])
    return evidence[(days >= pd.Timestamp(window_start)) & (days <= pd.Timestamp(as_of))]


def _villages_by_commune(dated: pd.DataFrame) -> dict[str, set[str]]:
    pairs = pd.DataFrame({"v": area_labels(dated, "village"), "c": area_labels(dated, "commune")})
    result: dict[str, set[str]] = {}
    for village, commune in pairs.drop_duplicates().itertuples(index=False):
        result.setdefault(commune, set()).add(village)
    return result


# ----------------------------------------------------------------------------------------------
# One level: arrays, model, current windows, text evidence


@dataclass
class _LevelScan:
    """Everything known about the cells of one level on as_of."""

    level: str
    units: list[str]
    communes: list[str]  # commune label of each unit ("" when unknown)
    topics: list[str]
    base: model.Baseline
    counts: np.ndarray  # (windows, units, topics): petitions of each scanned window
    expected: np.ndarray  # (windows, units, topics)
    size: np.ndarray  # (units, topics): NB2 k of this cell, rate uncertainty included
    pvalue: np.ndarray  # (windows, units, topics)
    coherent: np.ndarray  # (units, topics): largest near-duplicate group in the full window
    coherent_mean: np.ndarray  # (units, topics): such groups' expected size under no event
    signalled: np.ndarray  # (units, topics): petitions with mass or repeat in the full window
    signal_mean: np.ndarray  # (units, topics)
    signals: np.ndarray  # (2, units, topics): mass, repeat petitions in the full window
    replayed: model.Replay | None
    minimum: np.ndarray  # (topics,): min count of the count test
    sensitive: np.ndarray  # (topics,) bool
    alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per test, per topic
    text_alpha: float = 0.0


def _scan_level(dated: pd.DataFrame, level: str, codes: list[str], span_start: date,
                exposure: int, as_of: date, opts: Options,
                evidence: pd.DataFrame | None) -> _LevelScan | None:
    labels = area_labels(dated, level)
    rows = dated.assign(unit=labels.to_numpy())
    rows = rows[rows["unit"] != UNKNOWN_AREA]
    if rows.empty:
        return None
    units = sorted(rows["unit"].unique())
    unit_index = {u: i for i, u in enumerate(units)}
    u = rows["unit"].map(unit_index).to_numpy(dtype=np.int64)
    t = rows["topic"].map({c: i for i, c in enumerate(codes)}).to_numpy(dtype=np.int64)
    d = ((rows["day"] - pd.Timestamp(span_start)).dt.days).to_numpy(dtype=np.int64)
    total_days = exposure + opts.window_days
    daily = np.zeros((len(units), len(codes), total_days))
    np.add.at(daily, (u, t, d), rows["count"].to_numpy(dtype=float))
    history, window = daily[:, :, :exposure], daily[:, :, exposure:]
    base = model.fit_baseline(history, span_start.weekday())

    lengths = opts.lengths
    tail = np.cumsum(window[:, :, ::-1], axis=2)
    counts = np.stack([tail[:, :, n - 1] for n in lengths])
    weights = model.window_weights(base.profile, as_of.weekday(), lengths)
    expected = np.stack([base.rate * w * base.level[None, :] for w in weights])
    size = model.nb_size(np.ones(1), base.phi, base.shape)
    pvalue = model.upper_tail(counts, expected, size[None, ...])

    sensitive = np.array([c in opts.sensitive for c in codes])
    minimum = np.where(sensitive, opts.sensitive_min_count, opts.min_count).astype(float)
    replayed = model.replay(history, base, lengths, span_start.weekday(), minimum,
                            opts.min_ratio, opts.replay_days)

    in_window = (d >= exposure)
    signals = np.zeros((2, len(units), len(codes)))
    for k, name in enumerate(("mass", "repeat")):
        np.add.at(signals[k], (u[in_window], t[in_window]),
                  rows[name].to_numpy(dtype=float)[in_window])
    signalled = np.minimum(signals.sum(axis=0), window.sum(axis=2))
    past = ~in_window
    past_signals = np.zeros(len(codes))
    np.add.at(past_signals, t[past], np.minimum(
        rows["mass"].to_numpy(dtype=float) + rows["repeat"].to_numpy(dtype=float),
        rows["count"].to_numpy(dtype=float))[past])
    share = (past_signals + 1.0) / (history.sum(axis=(0, 2)) + 20.0)
    full = expected[lengths.index(opts.window_days)] if opts.window_days in lengths else (
        base.rate * opts.window_days * base.level[None, :])
    coherent, coherent_share = _coherent_groups(evidence, level, unit_index, codes)
    communes = _commune_of_units(rows, level, units)
    return _LevelScan(
        level=level, units=units, communes=communes, topics=codes, base=base, counts=counts,
        expected=expected, size=size, pvalue=pvalue, coherent=coherent,
        coherent_mean=full * coherent_share, signalled=signalled,
        signal_mean=full * share[None, :], signals=signals, replayed=replayed,
        minimum=minimum, sensitive=sensitive,
    )


def _commune_of_units(rows: pd.DataFrame, level: str, units: list[str]) -> list[str]:
    if level == "province":
        return units
    communes = area_labels(rows, "commune")
    first = pd.Series(communes.to_numpy(), index=rows["unit"].to_numpy())
    first = first[~first.index.duplicated()]
    return [str(first.get(unit, "")) for unit in units]


def _coherent_groups(evidence: pd.DataFrame | None, level: str, unit_index: dict[str, int],
                     codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return the largest near-duplicate group of each cell's window and its expected share.

    The share is the fraction of the window's petitions, in the other cells of the level, that
    have a near duplicate in their own cell (leave one cell out, with pseudo-counts): how
    common a coherent pair or group is where nothing is happening.
    """
    shape = (len(unit_index), len(codes))
    largest = np.zeros(shape)
    if evidence is None or evidence.empty:
        return largest, np.full(shape, 0.05)
    rows = evidence.assign(unit=area_labels(evidence, level).to_numpy())
    rows = rows[rows["unit"].isin(unit_index) & rows["topic"].isin(codes)]
    if rows.empty:
        return largest, np.full(shape, 0.05)
    sizes = rows.groupby(["unit", "topic", "cluster"])["sender"].nunique().rename("size")
    sizes = sizes.reset_index()
    per_cell = sizes.groupby(["unit", "topic"]).agg(
        largest=("size", "max"), total=("size", "sum"),
        paired=("size", lambda s: int(s[s >= 2].sum())))
    paired = np.zeros(shape)
    total = np.zeros(shape)
    topic_index = {c: i for i, c in enumerate(codes)}
    for (unit, topic), row in per_cell.iterrows():
        i, j = unit_index[unit], topic_index[topic]
        largest[i, j], paired[i, j], total[i, j] = row["largest"], row["paired"], row["total"]
    share = (paired.sum() - paired + 1.0) / (total.sum() - total + 20.0)
    return largest, share


# ----------------------------------------------------------------------------------------------
# Thresholds from the budget


def _set_thresholds(scans: list[_LevelScan], dated: pd.DataFrame, opts: Options) -> None:
    """Set each scan's per-test alpha from the budget, calibrated on the replayed history."""
    communes = max(1, int(area_labels(dated, "commune").loc[lambda s: s != UNKNOWN_AREA]
                          .nunique()))
    n_windows = len(opts.lengths)
    groups = {"sensitive": opts.sensitive_share,
              "other": 1.0 - opts.sensitive_share - opts.text_share}
    cells = {g: sum(len(s.units) * int((s.sensitive == (g == "sensitive")).sum())
                    for s in scans) / communes for g in groups}
    per_day = opts.budget / model.DAYS_PER_MONTH
    for scan in scans:
        scan.alpha = np.zeros(len(scan.topics))
    replays = [s.replayed for s in scans if s.replayed is not None]
    for group, share in groups.items():
        if cells[group] == 0 or share <= 0:
            continue
        cell_alpha = per_day * share / cells[group]  # per cell-day, windows together
        columns = scans[0].sensitive == (group == "sensitive")
        factor = 1.0
        if len(replays) == len(scans):
            factor = model.calibrate(replays, [np.full(len(columns), cell_alpha)] * len(replays),
                                     columns, opts.budget * share * communes)
        for scan in scans:
            scan.alpha[columns] = cell_alpha * factor / n_windows
    text_cells = sum(len(s.units) * len(s.topics) for s in scans) / communes
    for scan in scans:
        scan.text_alpha = per_day * opts.text_share / max(text_cells, 1.0) / 2.0


# ----------------------------------------------------------------------------------------------
# Hot spots of one level


def _hotspots_of_level(scan: _LevelScan, as_of: date, exposure: int, opts: Options
                       ) -> list[Hotspot]:
    alpha = scan.alpha[None, None, :]
    by_count = (
        (scan.counts >= scan.minimum[None, None, :])
        & (scan.counts >= opts.min_ratio * scan.expected)
        & (scan.pvalue <= alpha)
    )
    full = opts.lengths.index(opts.window_days) if opts.window_days in opts.lengths else -1
    coherent_p = model.upper_tail(scan.coherent, scan.coherent_mean, scan.size)
    signal_p = model.upper_tail(scan.signalled, scan.signal_mean, scan.size)
    by_cluster = (scan.coherent >= opts.cluster_min) & (coherent_p <= scan.text_alpha)
    by_signals = (scan.signalled >= opts.cluster_min) & (signal_p <= scan.text_alpha)
    trigger = _trigger(scan, alpha, opts.min_ratio)

    ranked = np.where(by_count, scan.pvalue, np.inf)[::-1]
    best = len(opts.lengths) - 1 - np.argmin(ranked, axis=0)
    fires = by_count.any(axis=0) | (by_cluster | by_signals)
    result = []
    for ui, ti in zip(*np.nonzero(fires), strict=True):
        evidence = tuple(name for name, hit in (
            ("count", by_count[:, ui, ti].any()), ("cluster", by_cluster[ui, ti]),
            ("signals", by_signals[ui, ti])) if hit)
        if evidence[0] == "count":
            wi = int(best[ui, ti])
            pvalue, threshold = float(scan.pvalue[wi, ui, ti]), float(alpha[0, 0, ti])
        else:
            wi = full
            options = [(float(p), scan.text_alpha) for p, hit in (
                (coherent_p[ui, ti], by_cluster[ui, ti]), (signal_p[ui, ti], by_signals[ui, ti]))
                if hit]
            pvalue, threshold = min(options)
        result.append(_hotspot(scan, ui, ti, wi, full, evidence, pvalue, threshold,
                               int(trigger[wi, ui, ti]), as_of, exposure, opts))
    return result


def _trigger(scan: _LevelScan, alpha: np.ndarray, min_ratio: float) -> np.ndarray:
    """Return, per window and cell, the count at which the count test would fire."""
    size = np.broadcast_to(scan.size[None, ...], scan.expected.shape)
    by_tail = model.trigger_count(np.broadcast_to(alpha, scan.expected.shape),
                                  scan.expected, size)
    by_ratio = np.ceil(min_ratio * scan.expected - 1e-9)
    return np.maximum.reduce([by_tail, by_ratio.astype(np.int64),
                              np.broadcast_to(scan.minimum[None, None, :],
                                              scan.expected.shape).astype(np.int64)])


def _hotspot(scan: _LevelScan, ui: int, ti: int, wi: int, full: int, evidence: tuple[str, ...],
             pvalue: float, threshold: float, trigger: int, as_of: date, exposure: int,
             opts: Options) -> Hotspot:
    days = opts.lengths[wi]
    start = as_of - timedelta(days=days - 1)
    area, topic = scan.units[ui], scan.topics[ti]
    count, expected = int(scan.counts[wi, ui, ti]), float(scan.expected[wi, ui, ti])
    signals = {"mass": int(scan.signals[0, ui, ti]), "repeat": int(scan.signals[1, ui, ti])}
    strength = math.log10(threshold / max(pvalue, 1e-300))
    severity = "high" if strength >= 3 else "medium" if strength >= 1 else "low"
    severity = raise_severity(severity, (signals["mass"] > 0) + (signals["repeat"] > 0))
    week_expected = float(scan.expected[full, ui, ti])
    week_trigger = _week_trigger(scan, ui, ti, full, opts)
    min_spike = max(1, math.ceil(week_trigger - week_expected - 1e-9))
    usual = week_expected
    head = (f"{count} đơn về {opts.taxonomy.name(topic)} tại {area} trong "
            f"{period_text(days, start, as_of)}")
    own = int(scan.base.own[ui, ti])
    window = per_window(opts.window_days)
    if own == 0:
        # No history of its own: a ratio against the peers' floor rate means nothing to an
        # officer, the plain fact says it better.
        explanation = (f"{head}, lần đầu tiên có đơn về chủ đề này tại đây trong "
                       f"{exposure} ngày")
    elif own < FEW_PAST_PETITIONS:
        # A rate learnt from one to three letters is mostly the peers': "gấp 40 lần" would
        # rest on it, the number of past letters does not.
        explanation = (f"{head}, trong khi {exposure} ngày trước đó chỉ có {own} đơn về chủ "
                       f"đề này tại đây (mức dự kiến, dựa cả vào các nơi khác: "
                       f"{format_rate(usual)}/{window})")
    elif days == opts.window_days:
        explanation = (f"{head}, gấp {format_ratio(count / max(expected, 1e-9))} lần mức bình "
                       f"thường ({format_rate(usual)}/{window})")
    else:
        # A short window's ratio is against its own days; the weekly rate is added so that
        # officers compare like with like whichever window fired.
        explanation = (f"{head}, gấp {format_ratio(count / max(expected, 1e-9))} lần mức bình "
                       f"thường của {days} ngày ({format_rate(expected)} đơn, tức "
                       f"{format_rate(usual)}/{window})")
    if "count" in evidence:
        explanation += (f"; ngưỡng bất thường ở nơi này: từ {trigger} đơn/{per_window(days)} "
                        f"(chỉ dựa vào số đơn, nơi này nhận ra được đợt tăng từ {min_spike} "
                        f"đơn/{window} trở lên)")
    else:
        explanation += (f"; riêng số đơn chưa tới ngưỡng bất thường ({trigger} đơn) nhưng "
                        + _evidence_text(scan, ui, ti, evidence))
    if "count" in evidence and len(evidence) > 1:
        explanation += "; " + _evidence_text(scan, ui, ti, evidence)
    explanation += signal_text(signals)
    return Hotspot(
        kind="spike", level=scan.level, area=area, topic=topic, window_start=start,
        window_end=as_of, count=count, expected=round(expected, 4), score=pvalue,
        severity=severity, explanation=explanation, petition_ids=[], signals=signals,
        threshold=trigger, min_spike=min_spike, evidence=evidence,
        coherent=int(scan.coherent[ui, ti]),
    )


def _week_trigger(scan: _LevelScan, ui: int, ti: int, full: int, opts: Options) -> int:
    alpha = np.array([scan.alpha[ti]])
    mean = np.array([scan.expected[full, ui, ti]])
    tail = int(model.trigger_count(alpha, mean, np.array([scan.size[ui, ti]]))[0])
    return max(tail, int(scan.minimum[ti]), math.ceil(opts.min_ratio * mean[0] - 1e-9))


def _evidence_text(scan: _LevelScan, ui: int, ti: int, evidence: tuple[str, ...]) -> str:
    parts = []
    if "cluster" in evidence:
        parts.append(f"{int(scan.coherent[ui, ti])} đơn gần trùng nội dung (cùng một vụ việc), "
                     f"điều ít khi gặp ở đây")
    if "signals" in evidence:
        parts.append(f"{int(scan.signalled[ui, ti])} đơn tập thể hoặc phản ánh nhiều lần, "
                     f"nhiều hơn hẳn thường lệ")
    return " và ".join(parts)


# ----------------------------------------------------------------------------------------------
# The first petition on a topic in a village, and the evidence ids


def attach_ids(hotspots: Sequence[Hotspot], evidence: pd.DataFrame | None) -> list[Hotspot]:
    """Return the hot spots with the ids of their window's petitions from the evidence rows."""
    if evidence is None or evidence.empty:
        return list(hotspots)
    days = pd.to_datetime(evidence["day"])
    labels = {level: area_labels(evidence, level) for level in ("village", "commune",
                                                                 "province")}
    result = []
    for h in hotspots:
        if h.petition_ids or h.level not in labels:
            result.append(h)
            continue
        chosen = evidence[(labels[h.level] == h.area).to_numpy()
                          & (evidence["topic"] == h.topic).to_numpy()
                          & (days >= pd.Timestamp(h.window_start)).to_numpy()
                          & (days <= pd.Timestamp(h.window_end)).to_numpy()]
        result.append(replace(h, petition_ids=sorted(int(i) for i in chosen["id"].unique())))
    return result


def _first_ever(hotspots: list[Hotspot], first_seen: pd.DataFrame, dated: pd.DataFrame,
                evidence: pd.DataFrame | None, window_start: date, as_of: date,
                opts: Options) -> list[Hotspot]:
    """Return the hot spots plus one for each village whose first petition on a topic is new."""
    result = list(hotspots)
    if not opts.first_ever_topics or first_seen.empty:
        return result
    seen = first_seen.assign(**{c: first_seen[c].astype("string").str.strip().replace("", pd.NA)
                                for c in ("village", "commune", "province")})
    first_day = pd.to_datetime(seen["first_day"])
    new = seen[seen["topic"].isin(opts.first_ever_topics).to_numpy()
               & (first_day >= pd.Timestamp(window_start)).to_numpy()
               & (first_day <= pd.Timestamp(as_of)).to_numpy()]
    if new.empty:
        return result
    villages = area_labels(new, "village")
    window = dated[dated["day"] >= pd.Timestamp(window_start)]
    window_villages = area_labels(window, "village")
    for topic, village in sorted(set(zip(new["topic"], villages, strict=True))):
        if village == UNKNOWN_AREA:
            continue
        cell = window[(window_villages == village).to_numpy()
                      & (window["topic"] == topic).to_numpy()]
        signals = {"mass": int(cell["mass"].sum()), "repeat": int(cell["repeat"].sum())}
        note = f"; lần đầu tiên có đơn về {opts.taxonomy.name(topic)} tại thôn này"
        spike = next((h for h in result if h.kind == "spike" and h.level == "village"
                      and h.area == village and h.topic == topic), None)
        if spike is not None:
            result[result.index(spike)] = replace(
                spike, explanation=spike.explanation + note,
                severity=raise_severity(spike.severity, spike.severity == "low"),
                evidence=(*spike.evidence, "first"),
            )
            continue
        count = int(cell["count"].sum())
        severity = "medium" if count >= 2 or signals["mass"] or signals["repeat"] else "low"
        found = Hotspot(
            kind=f"first_{topic}", level="village", area=village, topic=topic,
            window_start=window_start, window_end=as_of, count=count, expected=0.0,
            score=1.0, severity=severity,
            explanation=(
                f"Lần đầu tiên có đơn về {opts.taxonomy.name(topic)} tại {village}: {count} đơn "
                f"trong {period_text(opts.window_days, window_start, as_of)}"
                f"{signal_text(signals)}; cần nắm tình hình sớm"
            ),
            petition_ids=[], signals=signals, threshold=1, min_spike=1, evidence=("first",),
        )
        result.extend(attach_ids([found], evidence))
    return result
