"""The count model behind hot spots: usual rates, NB2 dispersion, tail tests and the budget.

Everything here works on one array of daily counts per unit × topic (`daily`, shape
(units, topics, days), the last `window_days` days being the current window) and is pure
numpy/scipy: no dates, no labels, no wording. The formulas are in docs/hotspots.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The recent span that sets the current level of each topic (seasons, campaigns of the office).
RECENT_DAYS = 28
# Bounds of the prior's weight, in days of observation: never fully trust 2 weeks of peers, and
# always leave a village's own long history some say.
PRIOR_DAYS_MIN = 14.0
PRIOR_DAYS_MAX_FACTOR = 2.0
# Weight of the peers' dispersion in a cell's own, in units of Σ μ² of the cell's past weeks:
# a cell that usually sees 1 petition a week needs ~20 weeks before its own spread counts half.
DISPERSION_PRIOR = 20.0
DISPERSION_MAX = 3.0
DAYS_PER_MONTH = 30.0
# Calibration factors tried on the replay, from the loosest to the strictest.
CALIBRATION_FACTORS: tuple[float, ...] = (4.0, 2.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125)


@dataclass(frozen=True)
class Baseline:
    """The fitted model of one level: expected counts, dispersion and rate uncertainty."""

    rate: np.ndarray  # (units, topics): petitions per average day, shrunk to peers
    shape: np.ndarray  # (units, topics): Gamma posterior shape of the rate
    level: np.ndarray  # (topics,): the topic's current level against its long run
    profile: np.ndarray  # (7,): weekday profile, mean 1, index = weekday of the day
    phi: np.ndarray  # (units, topics): NB2 overdispersion 1/k, shrunk to the level's pool
    phi_pool: float  # the level's pooled 1/k
    own: np.ndarray  # (units, topics): petitions of the history


def fit_baseline(history: np.ndarray, first_weekday: int) -> Baseline:
    """Fit usual rates, topic levels, weekday profile and dispersion on the history.

    `history` has shape (units, topics, exposure days); `first_weekday` is the weekday of its
    first day (Monday 0).
    """
    n_units, n_topics, exposure = history.shape
    own = history.sum(axis=2)
    # Empirical Bayes: each unit's rate is Gamma distributed around the peer mean; the spread
    # between units beyond Poisson noise (method of moments) sets how much peers weigh.
    rates = own / exposure
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
    shape = peer_mean * prior_days + own
    rate = shape / (prior_days + exposure)

    topic_daily = history.sum(axis=0)  # (topics, days)
    level = topic_level(topic_daily, exposure)

    weekday = (first_weekday + np.arange(exposure)) % 7
    letters = np.bincount(weekday, weights=topic_daily.sum(axis=0), minlength=7)
    days = np.bincount(weekday, minlength=7).astype(float)
    per_day = (letters + days) / np.maximum(days, 1.0)  # one pseudo-letter a day
    profile = per_day / per_day.mean()

    phi, phi_pool = dispersion(history)
    return Baseline(rate, shape, level, profile, phi, phi_pool, own)


def topic_level(topic_daily: np.ndarray, end: int) -> np.ndarray:
    """Return each topic's level in the RECENT_DAYS before day `end` against all days before it.

    A few pseudo-petitions keep a quiet topic from swinging on one or two letters; the level is
    bounded to [½, 3].
    """
    recent_days = min(RECENT_DAYS, end)
    recent = topic_daily[:, end - recent_days:end].sum(axis=1)
    usual = topic_daily[:, :end].sum(axis=1) / max(end, 1) * recent_days
    return np.clip((recent + 5.0) / (usual + 5.0), 0.5, 3.0)


def dispersion(history: np.ndarray, bin_days: int = 7) -> tuple[np.ndarray, float]:
    """Return the NB2 overdispersion 1/k of each cell (shrunk to the pool) and the pool's.

    Past weeks (aligned to end where the history ends) are compared with each cell's mean
    scaled by its topic's level that week, so the common ups and downs of a season are not
    counted as overdispersion. Moments: E[(y − f)² − f] = φ f², summed over weeks; a cell's
    own estimate weighs Σ f² against DISPERSION_PRIOR for the pool's.
    """
    n_units, n_topics, exposure = history.shape
    bins = exposure // bin_days
    if bins < 4:
        zero = np.zeros((n_units, n_topics))
        return zero, 0.0
    weekly = history[:, :, exposure - bins * bin_days:].reshape(
        n_units, n_topics, bins, bin_days).sum(axis=3)
    unit_mean = weekly.mean(axis=2, keepdims=True)
    topic_week = weekly.sum(axis=0, keepdims=True)
    topic_mean = topic_week.mean(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(topic_mean > 0, topic_week / topic_mean, 1.0)
    fitted = unit_mean * scaled
    correction = bins / (bins - 1.0)  # the cell mean is estimated from the same weeks
    numerator = (((weekly - fitted) ** 2) * correction - fitted).sum(axis=2)
    denominator = (fitted ** 2).sum(axis=2)
    active = unit_mean[..., 0] > 0
    pool_den = denominator[active].sum()
    pool = float(np.clip(numerator[active].sum() / pool_den, 0.0, DISPERSION_MAX)
                 ) if pool_den > 0 else 0.0
    phi = (numerator + DISPERSION_PRIOR * pool) / (denominator + DISPERSION_PRIOR)
    return np.clip(phi, 0.0, DISPERSION_MAX), pool


def window_weights(profile: np.ndarray, last_weekday: int, lengths: Sequence[int]
                   ) -> np.ndarray:
    """Return each window length in average days, for windows ending on `last_weekday`."""
    back = np.array([profile[(last_weekday - i) % 7] for i in range(max(lengths))])
    summed = np.cumsum(back)
    return np.array([summed[n - 1] for n in lengths])


def nb_size(mean: np.ndarray, phi: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Return the NB2 size k of a count with variance μ + μ²(φ + 1/shape)."""
    inverse = phi + 1.0 / np.maximum(shape, 1e-9)
    return 1.0 / np.maximum(inverse, 1e-9)


def upper_tail(count: np.ndarray, mean: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Return P(X ≥ count) for X negative binomial with this mean and size (NB2)."""
    from scipy import stats

    mean = np.maximum(mean, 1e-9)
    return np.asarray(stats.nbinom.sf(count - 1, size, size / (size + mean)), dtype=float)


def trigger_count(alpha: np.ndarray, mean: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Return the smallest count whose upper tail is at most alpha (NB2), as integers."""
    from scipy import stats

    mean = np.maximum(mean, 1e-9)
    # isf gives the smallest k with P(X > k) ≤ alpha, so X ≥ k + 1 is the count that fires.
    k = stats.nbinom.isf(alpha, size, size / (size + mean))
    count = np.asarray(k, dtype=float) + 1.0
    # isf works on a grid of floats: step back while the count below still fires.
    below = np.maximum(count - 1.0, 0.0)
    fires_below = (below >= 1) & (upper_tail(below, mean, size) <= alpha)
    return np.where(fires_below, below, count).astype(np.int64)


@dataclass(frozen=True)
class Replay:
    """The p-values of past windows, for calibrating thresholds on the data's own history."""

    pvalue: np.ndarray  # (units, topics, days): smallest p over windows, times the windows
    passes: np.ndarray  # (units, topics, days): count and ratio rules met in that window
    days: int


def replay(history: np.ndarray, base: Baseline, lengths: Sequence[int], first_weekday: int,
           minimum: np.ndarray, min_ratio: float, replay_days: int) -> Replay | None:
    """Score every window of the history's last `replay_days` days as if it were today.

    The fitted rates and dispersion of today are used (an in-sample replay), with each day's
    own topic level and weekday weights, so the replay sees what a daily run would have seen.
    Returns None when the history is too short to leave RECENT_DAYS of level before it.
    """
    n_units, n_topics, exposure = history.shape
    longest = max(lengths)
    span = min(replay_days, exposure - RECENT_DAYS - longest)
    if span < RECENT_DAYS:
        return None
    cumulative = np.concatenate(
        [np.zeros((n_units, n_topics, 1)), np.cumsum(history, axis=2)], axis=2)
    topic_daily = history.sum(axis=0)
    ends = np.arange(exposure - span, exposure)  # index of each replayed window's last day
    best = np.ones((n_units, n_topics, span))
    passes = np.zeros((n_units, n_topics, span), dtype=bool)
    size = nb_size(np.ones(1), base.phi, base.shape)  # k depends on φ and shape only
    for j, end in enumerate(ends):
        level = topic_level(topic_daily, int(end) + 1 - longest)
        weights = window_weights(base.profile, int((first_weekday + end) % 7), lengths)
        for length, weight in zip(lengths, weights, strict=True):
            count = cumulative[:, :, end + 1] - cumulative[:, :, end + 1 - length]
            mean = base.rate * weight * level[None, :]
            ok = (count >= minimum[None, :]) & (count >= min_ratio * mean)
            p = np.where(ok, upper_tail(count, mean, size), 1.0)
            best[:, :, j] = np.minimum(best[:, :, j], p)
            passes[:, :, j] |= ok
    return Replay(np.minimum(best * len(lengths), 1.0), passes, span)


def episodes_at(replayed: Replay, threshold: np.ndarray, columns: np.ndarray) -> int:
    """Return how many alarm episodes the replay raises in some topics at a per-cell threshold.

    An episode is a run of consecutive days on which one unit × topic is flagged.
    """
    flagged = (replayed.pvalue <= threshold[None, :, None]) & replayed.passes
    flagged = flagged[:, columns, :]
    starts = flagged[:, :, 0].sum() + (flagged[:, :, 1:] & ~flagged[:, :, :-1]).sum()
    return int(starts)


def calibrate(replays: Sequence[Replay], thresholds: Sequence[np.ndarray],
              columns: np.ndarray, allowed_per_month: float) -> float:
    """Return the factor on the nominal thresholds that keeps the replay within its budget.

    The loosest factor of CALIBRATION_FACTORS whose replayed episodes per month stay within
    `allowed_per_month` (half of it for factors above 1: loosening needs a margin) is chosen;
    the strictest one when none does. Without any replay the nominal thresholds stand.
    """
    if not replays or not columns.any():
        return 1.0
    months = max(r.days for r in replays) / DAYS_PER_MONTH
    for factor in CALIBRATION_FACTORS:
        found = sum(episodes_at(r, t * factor, columns) for r, t in zip(
            replays, thresholds, strict=True))
        allowed = allowed_per_month * months * (0.5 if factor > 1 else 1.0)
        if found <= allowed:
            return factor
    return CALIBRATION_FACTORS[-1]
