"""The stored daily counts always equal a recomputation from the petition rows."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.monitor.counts import (
    counts_frame,
    counts_from_petitions,
    first_seen_from_counts,
    sort_counts,
)
from pipeline.monitor.trends import petitions_frame
from pipeline.store import PetitionStore, metadata
from pipeline.store.aggregates import (
    current_version,
    read_counts,
    read_first_seen,
    rebuild,
    source_totals,
)
from pipeline.store.petitions import ConcurrentWriteError

VILLAGES = [None, "thôn Tân Mỹ", "thôn Gio Mỹ", "thôn 5"]
COMMUNES = [None, "xã Vĩnh Giang", "xã Gio Linh"]
TOPICS = ["land", "environment", "religion", "security", "infrastructure"]
SIGNALS = ["mass", "repeat", "escalated", "urgent"]
SOURCES = ["petition", "complaint", "denunciation", "feedback"]

petition_fields = st.fixed_dictionaries({
    "received_at": st.one_of(st.none(), st.integers(0, 40).map(
        lambda d: date(2025, 1, 1) + timedelta(days=d))),
    "village": st.sampled_from(VILLAGES),
    "commune": st.sampled_from(COMMUNES),
    "province": st.sampled_from([None, "tỉnh Quảng Trị"]),
    "source_type": st.sampled_from(SOURCES),
    "topics": st.lists(st.sampled_from(TOPICS), max_size=3, unique=True),
    "signals": st.lists(st.sampled_from(SIGNALS), max_size=2, unique=True),
    "is_response": st.sampled_from([False, False, False, True]),
})


def _petition(fields: dict[str, Any], serial: int) -> dict[str, Any]:
    key = hashlib.sha256(f"{serial}".encode()).hexdigest()
    village, commune = fields["village"], fields["commune"]
    area = ", ".join(p for p in (village, commune, fields["province"]) if p) or "chưa xác định"
    return {
        **fields, "content_hash": key, "source_key": key, "text": f"đơn số {serial}",
        "text_raw": f"đơn số {serial}", "area": area, "scores": {},
        "source_file": "thử.csv", "source_row": serial, "extra": {},
    }


def _reset(store: PetitionStore) -> None:
    with store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def _expected(store: PetitionStore) -> Any:
    return sort_counts(counts_from_petitions(petitions_frame(store.petition_frame_rows())))


def _stored(store: PetitionStore) -> Any:
    return sort_counts(counts_frame(read_counts(store.engine)))


batches = st.lists(
    st.tuples(st.lists(petition_fields, min_size=1, max_size=8), st.booleans()),
    min_size=1, max_size=6,
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches)
def test_counts_equal_rows_after_random_batches_and_failures(
    store: PetitionStore, batches: list[tuple[list[dict[str, Any]], bool]]
) -> None:
    _reset(store)
    serial = 0
    stored_hashes: list[str] = []
    for fields_list, fails in batches:
        rows = []
        for fields in fields_list:
            serial += 1
            rows.append(_petition(fields, serial))
        if fails and stored_hashes:
            # A re-ingested row whose unique key is taken makes the whole batch fail (the
            # writer reports it as another run's rows, and stores nothing of the batch).
            taken = {"content_hash": stored_hashes[0], "source_key": f"x{serial}"}
            rows.append({**rows[0], **taken})
            with pytest.raises(ConcurrentWriteError):
                store.write_batch(rows, [], [])
            continue
        store.write_batch(rows, [], [])
        stored_hashes.extend(r["content_hash"] for r in rows)

    stored = _stored(store)
    expected = _expected(store)
    assert stored.equals(expected)
    assert _first_days(read_first_seen(store.engine)) == _first_days(
        first_seen_from_counts(expected))
    assert source_totals(store.engine) == store.counts_by("source_type")
    version = current_version(store.engine)
    assert rebuild(store.engine) == len(stored_hashes)
    assert _stored(store).equals(expected)
    assert current_version(store.engine) > version


def test_counts_cover_topics_signals_and_undated(store: PetitionStore) -> None:
    rows = [
        _petition({"received_at": date(2025, 3, 2), "village": "thôn 5",
                   "commune": "xã Vĩnh Giang", "province": None, "source_type": "complaint",
                   "topics": ["land", "religion"], "signals": ["mass"], "is_response": False}, 1),
        _petition({"received_at": date(2025, 3, 2), "village": "thôn 5",
                   "commune": "xã Vĩnh Giang", "province": None, "source_type": "complaint",
                   "topics": ["land"], "signals": [], "is_response": False}, 2),
        _petition({"received_at": None, "village": None, "commune": None, "province": None,
                   "source_type": "feedback", "topics": [], "signals": ["urgent"],
                   "is_response": False}, 3),
        _petition({"received_at": date(2025, 3, 2), "village": "thôn 5",
                   "commune": "xã Vĩnh Giang", "province": None, "source_type": "complaint",
                   "topics": ["land"], "signals": [], "is_response": True}, 4),
    ]
    store.write_batch(rows, [], [])
    counts = counts_frame(read_counts(store.engine))
    land = counts[counts["topic"] == "land"].iloc[0]
    assert (land["count"], land["mass"], land["village"]) == (2, 1, "thôn 5")
    religion = counts[counts["topic"] == "religion"].iloc[0]
    assert (religion["count"], religion["mass"]) == (1, 1)
    undated = counts[counts["day"].isna()].iloc[0]
    assert (undated["topic"], undated["count"], undated["urgent"]) == ("other", 1, 1)
    assert pd_isna(undated["village"])
    assert len(counts) == 3  # the answer (is_response) is not counted
    dated = counts_frame(read_counts(store.engine, undated=False))
    assert dated["day"].notna().all() and len(dated) == 2
    seen = read_first_seen(store.engine, ["religion"])
    assert seen[["village", "topic"]].values.tolist() == [["thôn 5", "religion"]]
    assert seen["first_day"].iloc[0].date() == date(2025, 3, 2)


def _first_days(frame: Any) -> list[tuple[Any, ...]]:
    import pandas as pd

    return sorted(
        (*("" if pd.isna(v) else v for v in row[:-1]), pd.Timestamp(row[-1]).date())
        for row in frame[["village", "commune", "province", "topic", "first_day"]]
        .itertuples(index=False)
    )


def pd_isna(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


@pytest.mark.parametrize("period", ["week", "month"])
def test_counts_summed_per_period_in_the_database(store: PetitionStore, period: str) -> None:
    days = [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3), date(2025, 3, 31),
            date(2025, 4, 6), None]
    store.write_batch([
        _petition({"received_at": day, "village": "thôn 5", "commune": "xã Vĩnh Giang",
                   "province": None, "source_type": "complaint", "topics": ["land"],
                   "signals": ["repeat"] if i % 2 else [], "is_response": False}, i)
        for i, day in enumerate(days)
    ], [], [])
    frame = counts_frame(read_counts(store.engine, period=period))
    got = {(None if pd_isna(d) else d.date()): (c, r)
           for d, c, r in frame[["day", "count", "repeat"]].itertuples(index=False)}
    if period == "week":
        # Saturday 1/3 and Sunday 2/3 fall in the week of Monday 24/2.
        assert got == {date(2025, 2, 24): (2, 1), date(2025, 3, 3): (1, 0),
                       date(2025, 3, 31): (2, 1), None: (1, 1)}
    else:
        assert got == {date(2025, 3, 1): (4, 2), date(2025, 4, 1): (1, 0), None: (1, 1)}
    daily = counts_frame(read_counts(store.engine, start=date(2025, 3, 2),
                                     end=date(2025, 3, 31), undated=False, topics=["land"]))
    assert sorted(daily["count"]) == [1, 1, 1]


def test_upgrade_fills_aggregates_from_stored_petitions(tmp_path: Any) -> None:
    from alembic import command
    from alembic.config import Config

    from pipeline.store import create_db_engine, migrate, petitions
    from pipeline.store.database import MIGRATIONS_DIR, utcnow

    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        for serial in (1, 2):
            row = _petition({"received_at": date(2025, 5, serial), "village": "thôn 5",
                             "commune": "xã Vĩnh Giang", "province": None,
                             "source_type": "petition", "topics": ["religion"], "signals": [],
                             "is_response": False}, serial)
            conn.execute(sa.insert(petitions), {**row, "created_at": utcnow()})
    migrate(engine)
    store = PetitionStore(engine)
    assert _stored(store).equals(_expected(store))
    assert read_first_seen(engine)["first_day"].iloc[0].date() == date(2025, 5, 1)
    assert source_totals(engine) == {"petition": 2}
    engine.dispose()
