"""Area filters ignore case and diacritics on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from pipeline.records import Record
from pipeline.run import IngestRun
from pipeline.store import PetitionFilter, PetitionStore, list_petitions
from pipeline.store.search import folded

TEXTS = [
    ("Đường liên thôn Gio Mỹ sạt lở sau mưa lớn, xe máy không qua được", "thôn Gio Mỹ"),
    ("Nước giếng thôn Đông Hà có mùi lạ, đề nghị kiểm tra", "thôn Đông Hà"),
    ("Đèn đường thôn Tân Mỹ hỏng đã hai tháng chưa ai sửa", "thôn Tân Mỹ"),
]


@pytest.fixture
def seeded(store: PetitionStore, tmp_path: Path) -> PetitionStore:
    IngestRun(store, runs_dir=tmp_path / "runs").ingest_items([
        Record(text=text, source_file="kiem-thu", source_row=i, area=area)
        for i, (text, area) in enumerate(TEXTS, start=1)
    ])
    return store


@pytest.mark.parametrize(("typed", "areas"), [
    ("GIO MY", ["thôn Gio Mỹ"]),
    ("gio my", ["thôn Gio Mỹ"]),
    ("Gio Mỹ", ["thôn Gio Mỹ"]),
    ("GIO MỸ", ["thôn Gio Mỹ"]),
    ("  thon gio my ", ["thôn Gio Mỹ"]),
    ("DONG HA", ["thôn Đông Hà"]),
    ("đông hà", ["thôn Đông Hà"]),
    ("MY", ["thôn Gio Mỹ", "thôn Tân Mỹ"]),
    ("Mai", []),
    ("100%", []),
    ("_", []),
])
def test_area_filter_ignores_case_and_accents(seeded: PetitionStore, typed: str,
                                              areas: list[str]) -> None:
    rows, total = list_petitions(seeded.engine, PetitionFilter(area=typed))
    assert sorted(r["area"].split(",")[0] for r in rows) == areas
    assert total == len(areas)


def test_sql_fold_matches_the_python_fold(store: PetitionStore) -> None:
    from pipeline.intake.normalize import fold_diacritics

    words = ["ĐẮK LẮK", "Thừa Thiên Huế", "Quảng Trị", "Ỷ LAN", "Nguyễn Ứng Long", "ỹ ỳ ý ỵ ỷ",
             "Côn Đảo", "ươ ƯƠ"]
    with store.engine.connect() as conn:
        got = [conn.execute(sa.select(folded(sa.literal(w)))).scalar_one() for w in words]
    assert got == [fold_diacritics(w) for w in words]
