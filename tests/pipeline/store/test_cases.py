"""Petitions as cases: corrections move the aggregates exactly, follow-up and due days, the
review queue's order, and alert histories (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.monitor.counts import first_seen_from_counts
from pipeline.store import AlertStore, PetitionFilter, PetitionStore, list_petitions, petitions
from pipeline.store.aggregates import read_first_seen
from pipeline.store.cases import (
    CaseError,
    Correction,
    alert_history,
    assign_alert,
    case_counts,
    confidence_of,
    due_day,
    follow_up_started,
    petition_history,
    reopen_alert,
    review_petition,
    review_queue,
    reviewed_petitions,
    update_cases,
)
from pipeline.store.schema import near_duplicate_clusters, petition_topics
from tests.pipeline.store.test_aggregates import (
    TOPICS,
    _expected,
    _first_days,
    _petition,
    _reset,
    _stored,
    petition_fields,
)

PLACES = [
    ("thôn Tân Mỹ, xã Vĩnh Giang", "thôn Tân Mỹ", "xã Vĩnh Giang", "tỉnh Quảng Trị"),
    ("thôn Gio Mỹ, xã Vĩnh Giang", "thôn Gio Mỹ", "xã Vĩnh Giang", "tỉnh Quảng Trị"),
    ("xã Gio Linh", None, "xã Gio Linh", None),
]

corrections = st.lists(st.tuples(
    st.integers(0, 7),
    st.one_of(st.none(), st.lists(st.sampled_from(TOPICS), max_size=3, unique=True)),
    st.one_of(st.none(), st.lists(st.sampled_from(["mass", "repeat", "urgent"]), max_size=2,
                                  unique=True)),
    st.one_of(st.none(), st.sampled_from(PLACES)),
), min_size=1, max_size=8)


def _ids(store: PetitionStore) -> list[int]:
    with store.engine.connect() as conn:
        return [int(i) for i in conn.execute(sa.select(petitions.c.id)
                                             .order_by(petitions.c.id)).scalars()]


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.lists(petition_fields, min_size=1, max_size=8), changes=corrections)
def test_corrections_keep_the_counts_equal_to_the_rows(
    store: PetitionStore, fields: list[dict[str, Any]], changes: list[tuple[Any, ...]]
) -> None:
    _reset(store)
    store.write_batch([_petition(f, i) for i, f in enumerate(fields)], [], [])
    ids = _ids(store)
    for index, topics, signals, place in changes:
        petition_id = ids[index % len(ids)]
        review_petition(store.engine, petition_id, "cán bộ Hoa", Correction(
            topics=tuple(topics) if topics is not None else None,
            signals=tuple(signals) if signals is not None else None, place=place))
    expected = _expected(store)
    assert _stored(store).equals(expected)
    assert _first_days(read_first_seen(store.engine)) == _first_days(
        first_seen_from_counts(expected))


def _one(store: PetitionStore, **fields: Any) -> int:
    base = {"received_at": date(2025, 3, 2), "village": "thôn Tân Mỹ",
            "commune": "xã Vĩnh Giang", "province": "tỉnh Quảng Trị", "source_type": "complaint",
            "topics": ["land"], "signals": [], "is_response": False}
    row = _petition({**base, **{k: v for k, v in fields.items() if k in base}},
                    fields.get("serial", 1))
    if "scores" in fields:
        row["scores"] = fields["scores"]
    store.write_batch([row], [], [])
    return max(_ids(store))


def test_a_correction_is_kept_with_the_model_labels_and_its_history(
        store: PetitionStore) -> None:
    petition_id = _one(store, topics=["security"], scores={"security": 0.41, "land": 0.38})
    changes = review_petition(store.engine, petition_id, "cán bộ Hoa",
                              Correction(topics=("land",), note="tranh chấp đất, không phải ANTT"))
    assert changes == {"topics": [["security"], ["land"]]}
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(petitions).where(petitions.c.id == petition_id)
                           ).mappings().one()
        topics = conn.execute(sa.select(petition_topics.c.topic, petition_topics.c.score)
                              .where(petition_topics.c.petition_id == petition_id)).all()
    assert row["topics"] == ["land"] and row["model_topics"] == ["security"]
    assert row["reviewed_by"] == "cán bộ Hoa" and row["reviewed_at"] is not None
    assert [tuple(t) for t in topics] == [("land", 0.38)]
    # A second correction keeps the model's original labels, not the first correction.
    review_petition(store.engine, petition_id, "cán bộ Bình", Correction(topics=("land", "policy")))
    history = petition_history(store.engine, petition_id)
    assert [(e["action"], e["user_name"]) for e in history] == [
        ("correct", "cán bộ Hoa"), ("correct", "cán bộ Bình")]
    assert history[0]["note"] == "tranh chấp đất, không phải ANTT"
    reviewed = reviewed_petitions(store.engine)
    assert reviewed[0]["model_topics"] == ["security"]
    assert sorted(reviewed[0]["topics"]) == ["land", "policy"]
    # Accepting without change is a review, not a correction.
    other = _one(store, serial=2, topics=["land"], scores={"land": 0.9})
    assert review_petition(store.engine, other, "cán bộ Hoa", Correction()) == {}
    assert petition_history(store.engine, other)[0]["action"] == "review"
    with pytest.raises(CaseError):
        review_petition(store.engine, 999_999, "cán bộ Hoa", Correction())
    with pytest.raises(CaseError):
        review_petition(store.engine, other, " ", Correction())


def test_due_days_status_and_overdue(store: PetitionStore) -> None:
    complaint = _one(store, serial=1, source_type="complaint", received_at=date(2025, 3, 1))
    feedback = _one(store, serial=2, source_type="feedback", received_at=date(2025, 3, 1))
    answered = _one(store, serial=3, source_type="feedback", received_at=date(2025, 3, 1))
    assert due_day({"received_at": date(2025, 3, 1),
                    "source_type": "complaint"}) == date(2025, 4, 10)
    assert due_day({"received_at": date(2025, 3, 1), "source_type": "feedback"},
                   {"feedback": 5}) == date(2025, 3, 6)
    assert update_cases(store.engine, [answered], "cán bộ Hoa", status="answered",
                        today=date(2025, 3, 10)) == 1
    update_cases(store.engine, [complaint], "cán bộ Hoa", owner="Trần Văn Bình",
                 status="in_progress")

    def overdue_ids(day: date) -> list[int]:
        rows, _ = list_petitions(store.engine, PetitionFilter(overdue_on=day), order="number")
        return [r["id"] for r in rows]

    # Feedback is due 15 days after receipt (16/3), complaints 40 days (10/4).
    assert overdue_ids(date(2025, 3, 16)) == []
    assert overdue_ids(date(2025, 3, 17)) == [feedback]
    assert overdue_ids(date(2025, 4, 11)) == [complaint, feedback]
    # A due day set by hand wins over the source type's days.
    update_cases(store.engine, [feedback], "cán bộ Hoa", due_on=date(2025, 5, 1))
    assert overdue_ids(date(2025, 4, 11)) == [complaint]
    rows, total = list_petitions(store.engine, PetitionFilter(case_status="in_progress"))
    assert total == 1 and rows[0]["owner"] == "Trần Văn Bình"
    counts = case_counts(store.engine, today=date(2025, 4, 11))
    assert counts == {"received": 1, "in_progress": 1, "answered": 1, "resolved": 0,
                           "answered_on_time": 1, "answered_late": 0, "overdue": 1, "total": 3}
    history = petition_history(store.engine, complaint)
    assert history[0]["changes"]["owner"] == [None, "Trần Văn Bình"]
    assert history[0]["changes"]["case_status"] == ["received", "in_progress"]
    with pytest.raises(CaseError):
        update_cases(store.engine, [complaint], "cán bộ Hoa", status="closed")
    with pytest.raises(CaseError):
        update_cases(store.engine, [complaint], "cán bộ Hoa")


def test_the_queue_puts_doubtful_and_cluster_disagreements_first(store: PetitionStore) -> None:
    sure = _one(store, serial=1, topics=["land"], scores={"land": 0.97})
    unsure = _one(store, serial=2, topics=["security"], scores={"security": 0.45})
    middling = _one(store, serial=3, topics=["land"], scores={"land": 0.7})
    copy = _one(store, serial=4, topics=["environment"], scores={"environment": 0.95})
    labelled = _one(store, serial=5, topics=["land"], scores={})
    with store.engine.begin() as conn:
        conn.execute(sa.update(near_duplicate_clusters)
                     .where(near_duplicate_clusters.c.petition_id == copy)
                     .values(cluster_id=sure))
    rows, total = review_queue(store.engine)
    order = [r["id"] for r in rows]
    assert labelled not in order and total == 4
    assert order[:2] == [unsure, copy] or order[:2] == [copy, unsure]
    assert order[2:] == [middling, sure]
    flagged = {r["id"]: r["cluster_disagrees"] for r in rows}
    assert flagged[copy] and not flagged[sure]
    review_petition(store.engine, unsure, "cán bộ Hoa", Correction())
    assert unsure not in [r["id"] for r in review_queue(store.engine)[0]]
    assert confidence_of(["other"], {"land": 0.3, "security": 0.1}) == pytest.approx(0.7)
    assert confidence_of(["land"], {}) is None


def _alert(store: PetitionStore) -> int:
    now = datetime(2025, 6, 20, 8, 0)
    values = {"area": "thôn Tân Mỹ, xã Vĩnh Giang", "topic": "land", "status": "open",
              "severity": "high", "count": 9, "expected": 1.5, "score": 4.0,
              "window_start": date(2025, 6, 14), "window_end": date(2025, 6, 20),
              "explanation": "9 đơn về đất đai", "petition_ids": [], "opened_at": now,
              "updated_at": now, "last_seen_at": now}
    from pipeline.store import alerts

    with store.engine.begin() as conn:
        return int(conn.execute(sa.insert(alerts).values(**values)).inserted_primary_key[0])


def test_an_alert_is_handled_as_a_case_with_its_history(store: PetitionStore) -> None:
    from pipeline.monitor.alerts import ack_alert, resolve_alert

    alert_id = _alert(store)
    alerts_store = AlertStore(store.engine)
    ack_alert(alerts_store, alert_id, "cán bộ Hoa", "đã nắm, báo cáo lãnh đạo xã")
    assert assign_alert(store.engine, alert_id, "cán bộ Hoa", "Trần Văn Bình")["assignee"] == (
        "Trần Văn Bình")
    resolved = resolve_alert(alerts_store, alert_id, "Trần Văn Bình", "đã đối thoại với dân")
    assert resolved["status"] == "resolved"
    reopened = reopen_alert(store.engine, alert_id, "cán bộ Hoa", "dân tiếp tục gửi đơn")
    assert reopened["status"] == "open" and reopened["resolved_by"] is None
    history = alert_history(store.engine, alert_id)
    assert [(e["action"], e["user_name"]) for e in history] == [
        ("ack", "cán bộ Hoa"), ("assign", "cán bộ Hoa"), ("resolve", "Trần Văn Bình"),
        ("reopen", "cán bộ Hoa")]
    assert history[1]["changes"] == {"assignee": [None, "Trần Văn Bình"]}
    assert history[2]["changes"] == {"status": ["acknowledged", "resolved"]}
    with pytest.raises(CaseError):
        reopen_alert(store.engine, alert_id, "cán bộ Hoa")
    with pytest.raises(CaseError):
        assign_alert(store.engine, 999_999, "cán bộ Hoa", "ai đó")


def test_case_counts_by_period(store: PetitionStore) -> None:
    first = _one(store, serial=1, received_at=date(2025, 5, 30))
    _one(store, serial=2, received_at=date(2025, 6, 2))
    update_cases(store.engine, [first], "cán bộ Hoa", status="resolved", today=date(2025, 7, 30))
    june = case_counts(store.engine, today=date(2025, 7, 1), start=date(2025, 6, 1),
                       end=date(2025, 6, 30))
    assert (june["total"], june["received"], june["overdue"]) == (1, 1, 0)
    may = case_counts(store.engine, today=date(2025, 7, 31), start=date(2025, 5, 1),
                      end=date(2025, 5, 31))
    # Due 9/7 (40 days), resolved 30/7: late.
    assert (may["resolved"], may["answered_late"]) == (1, 1)
    assert timedelta(days=40) + date(2025, 5, 30) == date(2025, 7, 9)


def test_two_reviewers_of_one_petition_take_turns(store: PetitionStore) -> None:
    import threading

    petition_id = _one(store, topics=["land"], scores={"land": 0.5})
    start = threading.Barrier(2)
    errors: list[str] = []

    def correct(topic: str) -> None:
        start.wait()
        try:
            review_petition(store.engine, petition_id, f"cán bộ {topic}",
                            Correction(topics=(topic,)))
        except Exception as error:  # noqa: BLE001 - the test reports it
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=correct, args=(t,)) for t in ("environment", "security")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _stored(store).equals(_expected(store))
    history = petition_history(store.engine, petition_id)
    # The second reviewer changed what the first had written, not the model's label.
    assert history[0]["changes"]["topics"][0] == ["land"]
    assert history[1]["changes"]["topics"][0] == history[0]["changes"]["topics"][1]


def test_an_answer_day_is_kept_and_counted_on_its_day(store: PetitionStore) -> None:
    petition_id = _one(store, received_at=date(2025, 6, 2), source_type="feedback")
    update_cases(store.engine, [petition_id], "cán bộ Hoa", status="answered",
                 today=date(2025, 6, 10))
    update_cases(store.engine, [petition_id], "cán bộ Hoa", status="resolved",
                 today=date(2025, 7, 30))
    june = dict(start=date(2025, 6, 1), end=date(2025, 6, 30))
    # Answered on 10/06, within 15 days: resolving it later does not make the answer late.
    assert case_counts(store.engine, today=date(2025, 8, 1), **june)["answered_on_time"] == 1
    # Counted on 5/06 it was still being handled.
    early = case_counts(store.engine, today=date(2025, 6, 5), **june)
    assert (early["in_progress"], early["resolved"], early["answered_on_time"]) == (1, 0, 0)
    assert follow_up_started(store.engine, **june)
    assert not follow_up_started(store.engine, start=date(2025, 7, 1), end=date(2025, 7, 31))
    assert not follow_up_started(store.engine, ids={petition_id + 1}, **june)
    update_cases(store.engine, [petition_id], "cán bộ Hoa", status="in_progress")
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(petitions.c.answered_on)
                            .where(petitions.c.id == petition_id)).scalar() is None
