"""Labelled history: topics given in the file are stored as given, never re-classified."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import get_settings
from pipeline.intake.labels import LabelError, label_lookup, parse_labels
from pipeline.intake.readers import Ingestor
from pipeline.records import QuarantineRow, Record, TopicPrediction
from pipeline.run import IngestRun
from pipeline.store import PetitionStore
from pipeline.store.aggregates import read_counts
from pipeline.store.schema import petitions
from pipeline.taxonomy import default_taxonomy
from pipeline.text.classify import load_classifier

LOOKUP = label_lookup(default_taxonomy())


@pytest.fixture(scope="module")
def classifier() -> object:
    return load_classifier(get_settings().model_path)


@pytest.mark.parametrize(("cell", "expected"), [
    ("land", ("land",)),
    ("Đất đai", ("land",)),
    ("dat dai", ("land",)),
    ("ĐẤT ĐAI; Môi trường", ("land", "environment")),
    ("Tôn giáo, tín ngưỡng", ("religion",)),
    ("tín ngưỡng", ("religion",)),
    ("An ninh, trật tự;an ninh", ("security",)),
    ("Khác; Đất đai", ("land",)),
    ("Khác", ("other",)),
    ("", None),
    (" ; ", None),
    (None, None),
])
def test_codes_names_and_name_parts_are_accepted(cell: str | None,
                                                 expected: tuple[str, ...] | None) -> None:
    assert parse_labels(cell, LOOKUP) == expected


def test_an_unknown_label_is_named_in_the_error() -> None:
    with pytest.raises(LabelError, match="'Giao thông'"):
        parse_labels("Đất đai; Giao thông", LOOKUP)


@given(st.lists(st.sampled_from(sorted(default_taxonomy().codes)), min_size=1, max_size=4))
def test_any_list_of_topic_names_reads_back_as_its_codes(codes: list[str]) -> None:
    taxonomy = default_taxonomy()
    cell = "; ".join(taxonomy.name(code) for code in codes)
    assert parse_labels(cell, LOOKUP) == tuple(dict.fromkeys(codes))


class CountingClassifier:
    """A real classifier wrapper that counts the texts it was asked to label."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def predict_batch(self, texts: Sequence[str]) -> list[TopicPrediction]:
        self.texts.extend(texts)
        return self.inner.predict_batch(texts)  # type: ignore[attr-defined]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Ngày nhận", "Địa chỉ", "Nội dung", "Lĩnh vực"])
        writer.writerows(rows)
    return path


def test_labelled_rows_are_stored_with_their_topics_and_unknown_labels_quarantined(
        store: PetitionStore, tmp_path: Path, classifier: object) -> None:
    path = _write(tmp_path / "lich-su-2023.csv", [
        ["03/05/2023", "thôn Tân Mỹ", "Đề nghị cấp giấy chứng nhận quyền sử dụng đất.", "Đất đai"],
        ["04/05/2023", "thôn Tân Mỹ", "Khói lò đốt rác gây ô nhiễm.", "Môi trường; Đất đai"],
        ["05/05/2023", "thôn Gio Mỹ", "Đường ngập nước sau mưa.", "Giao thông nông thôn"],
        ["06/05/2023", "thôn Gio Mỹ", "Xin hỏi về chế độ hộ nghèo năm nay.", ""],
    ])
    counting = CountingClassifier(classifier)
    runner = IngestRun(store, classifier=counting, runs_dir=tmp_path / "runs")  # type: ignore[arg-type]
    report = runner.ingest_paths([path])
    assert (report.read, report.stored, report.quarantined) == (4, 3, 1)
    # Only the row without a label went to the classifier.
    assert counting.texts == ["Xin hỏi về chế độ hộ nghèo năm nay."]
    with store.engine.connect() as conn:
        stored = {r.text: r for r in conn.execute(sa.select(petitions))}
    assert stored["Đề nghị cấp giấy chứng nhận quyền sử dụng đất."].topics == ["land"]
    assert stored["Khói lò đốt rác gây ô nhiễm."].topics == ["environment", "land"]
    assert stored["Xin hỏi về chế độ hộ nghèo năm nay."].topics  # classified
    with open(report.quarantine_csv or "", encoding="utf-8-sig") as handle:
        reasons = [r["lý do"] for r in csv.DictReader(handle)]
    assert len(reasons) == 1
    assert "'Giao thông nông thôn' không có trong danh mục" in reasons[0]
    assert "Đất đai (land)" in reasons[0]
    counts = read_counts(store.engine, start=date(2023, 5, 1), end=date(2023, 5, 31))
    by_topic = counts.groupby("topic")["count"].sum().to_dict()
    assert by_topic["land"] == 2 and by_topic["environment"] == 1


def test_a_mapped_column_can_hold_the_labels(tmp_path: Path) -> None:
    path = tmp_path / "khac.csv"
    path.write_text("Nội dung,Nhóm việc\nTranh chấp ranh giới thửa đất.,land\n", encoding="utf-8")
    items = list(Ingestor(mapping={"nhom viec": "topics"}).read_file(path))
    assert len(items) == 1 and isinstance(items[0], Record) and items[0].topics == ("land",)
    assert not isinstance(items[0], QuarantineRow)
