"""A span's findings with shared reading equal the per-day ones, on a generated half year."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from pipeline.config import get_settings
from pipeline.monitor.engine import emerging_on, hotspots_on
from pipeline.monitor.span import findings_over
from pipeline.records import Record
from pipeline.run import IngestRun
from pipeline.store import PetitionStore
from pipeline.text.classify import Prediction
from pipeline.text.places import load_gazetteer
from tests.web.test_dashboard import load_generator


class IntendedTopics:
    """Labels each generated text with the topic it was written for."""

    def __init__(self, topics: dict[str, str]) -> None:
        self.topics = topics

    def predict_batch(self, texts: list[str]) -> list[Prediction]:
        return [Prediction([self.topics.get(t, "other")], {self.topics.get(t, "other"): 0.9})
                for t in texts]


def _campaign(day: date) -> list[Record]:
    """Near-identical letters from five people: an emerging cluster over a week."""
    names = ("Trần Văn Khải", "Lê Thị Mận", "Phạm Văn Đức", "Hoàng Thị Liên", "Đỗ Văn Sơn")
    return [Record(f"Hộ ông bà {name} ở thôn Bến Đò phản ánh bãi rác tự phát cạnh nhà văn hóa "
                   "thôn bốc mùi hôi thối nhiều ngày, đề nghị xã cho thu dọn và xử lý.",
                   "feedback", day + timedelta(days=n), "thôn Bến Đò, xã Vĩnh Giang",
                   sender_name=name) for n, name in enumerate(names)]


@pytest.fixture
def half_year(store: PetitionStore, tmp_path: Path) -> PetitionStore:
    gen = load_generator()
    rows = gen.generate_records(date(2025, 1, 1), date(2025, 6, 30), per_month=90, seed=3)
    items = [Record(r["text"], r["source_type"], r["received_at"], r["area"],
                    external_id=r["external_id"], sender_name=r["sender_name"],
                    sender_contact=r["sender_contact"]) for r in rows]
    items += _campaign(date(2025, 6, 9))
    for row, item in enumerate(items, start=1):
        item.source_file, item.source_row = "so-theo-doi.xlsx", row
    topics = {r["text"]: r["topic"] for r in rows}
    runner = IngestRun(store, classifier=IntendedTopics(topics), runs_dir=tmp_path / "runs",
                       gazetteer=load_gazetteer(get_settings().gazetteer_dir))
    assert runner.ingest_items(items).stored > 500
    return store


def test_shared_reading_gives_each_day_s_own_findings(half_year: PetitionStore) -> None:
    # Days around the sample's March company spike, its June religion spike and the campaign.
    days = [date(2025, 3, 10) + timedelta(days=n) for n in range(5)]
    days += [date(2025, 6, 11) + timedelta(days=n) for n in range(9)]
    told: list[tuple[date, int, int]] = []
    shared = list(findings_over(half_year, days, progress=lambda *a: told.append(a)))
    assert [f.day for f in shared] == days
    assert told == [(d, n, len(days)) for n, d in enumerate(days, start=1)]
    for found in shared:
        assert found.hotspots == hotspots_on(half_year, found.day), found.day
        assert found.emerging == emerging_on(half_year, found.day), found.day
    # The sample month holds what the equality is about: hot spots, a phrase, a campaign.
    assert {f.day for f in shared if f.hotspots} >= {date(2025, 3, 12), date(2025, 6, 18)}
    kinds = {i.kind for f in shared for i in f.emerging}
    assert kinds == {"cluster", "term_burst"}, kinds


def test_no_day_no_findings(store: PetitionStore) -> None:
    assert list(findings_over(store, [])) == []
