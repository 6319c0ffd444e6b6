"""Daily counts per place × source type × topic: the frame every analysis reads.

The store keeps these counts up to date at ingest (table `daily_counts`, see
`pipeline.store.aggregates`); `counts_from_petitions` computes the same frame from petition rows,
for tests, notebooks and the rebuild command. A petition counts once in each of its topics
(multi-label); `count` is the number of petitions in the cell and each signal column the number
of those petitions that carry the signal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from pipeline.taxonomy import OTHER
from pipeline.text.signals import SIGNALS, UNKNOWN_AREA

KEY_COLUMNS: tuple[str, ...] = (
    "day", "area", "village", "commune", "province", "source_type", "topic",
)
COUNT_COLUMNS: tuple[str, ...] = ("count", *SIGNALS)
COUNTS_FRAME_COLUMNS: tuple[str, ...] = (*KEY_COLUMNS, *COUNT_COLUMNS)
_PLACE_COLUMNS = ("area", "village", "commune", "province", "source_type", "topic")


def counts_frame(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Return count rows (dicts or a frame with COUNTS_FRAME_COLUMNS) with fixed dtypes.

    `day` is datetime64[ns] (NaT for undated petitions); places are pandas "string" with NA
    where the level is unknown ('' counts as unknown; `area` is "chưa xác định"); counts int64.
    """
    if isinstance(rows, pd.DataFrame):
        frame = rows.reindex(columns=list(COUNTS_FRAME_COLUMNS)).copy()
    else:
        frame = pd.DataFrame.from_records(list(rows), columns=list(COUNTS_FRAME_COLUMNS))
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame["day"] = pd.to_datetime(frame["day"]).astype("datetime64[ns]")
    for column in _PLACE_COLUMNS:
        values = frame[column].astype("string").str.strip()
        frame[column] = values.where(values != "", pd.NA).astype("string")
    frame["area"] = frame["area"].fillna(UNKNOWN_AREA)
    frame["source_type"] = frame["source_type"].fillna("feedback")
    frame["topic"] = frame["topic"].fillna(OTHER)
    for column in COUNT_COLUMNS:
        frame[column] = frame[column].fillna(0).astype("int64")
    return frame.reset_index(drop=True)


def counts_from_petitions(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the daily counts of a petitions frame (`trends.petitions_frame`), sorted by key.

    This is the definition the stored aggregates must equal at all times.
    """
    if frame.empty:
        return counts_frame([])
    data = pd.DataFrame({
        "day": frame["received_at"].dt.normalize(),
        **{column: frame[column] for column in ("area", "village", "commune", "province",
                                                  "source_type")},
        "topic": frame["topics"].map(lambda codes: tuple(codes) or (OTHER,)),
        "count": 1,
        **{name: frame["signals"].map(lambda s, n=name: int(n in s)) for name in SIGNALS},
    })
    data = _typed(data.explode("topic"))
    keys = list(KEY_COLUMNS)
    grouped = data.groupby(keys, dropna=False, sort=True)[list(COUNT_COLUMNS)].sum()
    return _typed(grouped.reset_index())


def sort_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a counts frame in key order with a fresh index (to compare two frames)."""
    keyed = frame.assign(**{c: frame[c].fillna("") for c in _PLACE_COLUMNS})
    order = keyed.sort_values(list(KEY_COLUMNS), na_position="first").index
    return frame.loc[order].reset_index(drop=True)


FIRST_SEEN_COLUMNS: tuple[str, ...] = ("village", "commune", "province", "topic", "first_day")


def first_seen_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """Return the first dated day of each village × topic in a counts frame (FIRST_SEEN_COLUMNS).

    Petitions without a village are left out: "first time in this village" needs a village.
    """
    dated = counts[counts["day"].notna() & counts["village"].notna()]
    places = ["village", "commune", "province", "topic"]
    first = (dated.assign(**{c: dated[c].fillna("") for c in places})
             .groupby(places, sort=True)["day"].min().reset_index()
             .rename(columns={"day": "first_day"}))
    for column in places:
        values = first[column].astype("string")
        first[column] = values.where(values != "", pd.NA).astype("string")
    first["first_day"] = first["first_day"].astype("datetime64[ns]")
    return first[list(FIRST_SEEN_COLUMNS)]
