"""Tests of the sample-data generator data/samples/generate.py, loaded by path."""

import csv
import importlib.util
import json
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "data" / "samples" / "generate.py"
GAZETTEER = ROOT / "data" / "gazetteer" / "quang-tri-vinh-giang.csv"
VIETNAMESE = re.compile(
    r"[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]"
)
CSV_HEADER = [
    "text", "received_at", "area", "source_type", "external_id", "sender_name",
    "sender_contact", "channel",
]


def _load_module():
    spec = importlib.util.spec_from_file_location("tamtu_sample_generator", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # deliberately not registered in sys.modules
    return module


@pytest.fixture(scope="module")
def gen():
    return _load_module()


@pytest.fixture(scope="module")
def year_records(gen):
    started = time.perf_counter()
    records = gen.generate_records(date(2025, 1, 1), date(2025, 12, 31), per_month=1500)
    elapsed = time.perf_counter() - started
    return records, elapsed


@pytest.fixture(scope="module")
def written(gen, tmp_path_factory):
    out = tmp_path_factory.mktemp("samples")
    paths = gen.write_samples(out, per_month=200, seed=5)
    return out, paths


def _mentions_village(gen, record) -> bool:
    """The village is in the area, or named in the text (maybe typed without diacritics)."""
    if record["village"] in (record["area"] or ""):
        return True
    place = gen.strip_diacritics(gen.village_phrase(record["village"])).lower()
    return place in gen.strip_diacritics(record["text"]).lower()


def test_gazetteer_has_thirty_villages():
    with GAZETTEER.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["province", "commune", "village", "aliases",
                                     "former_district"]
        rows = list(reader)
    assert len(rows) == 30
    assert len({r["village"] for r in rows}) == 30
    assert all(r["former_district"] == "huyện Vĩnh Linh" for r in rows)
    assert all(r["province"] == "Quảng Trị" and r["commune"] == "Vĩnh Giang" for r in rows)
    assert all(r["aliases"] for r in rows)


def test_deterministic_for_a_seed(gen):
    a = gen.generate_records(date(2025, 2, 1), date(2025, 3, 31), per_month=300, seed=7)
    b = gen.generate_records(date(2025, 2, 1), date(2025, 3, 31), per_month=300, seed=7)
    c = gen.generate_records(date(2025, 2, 1), date(2025, 3, 31), per_month=300, seed=8)
    assert a == b
    assert [r["text"] for r in a] != [r["text"] for r in c]


def test_record_keys_and_values(gen, year_records):
    records, _ = year_records
    for rec in records[:500]:
        assert set(gen.CSV_COLUMNS) <= set(rec)
        assert {"topic", "spike"} <= set(rec)
    assert {r["source_type"] for r in records} == set(gen.SOURCE_MIX)
    assert {r["topic"] for r in records} == set(gen.TOPICS)
    channels = {r["channel"] for r in records}
    assert channels == {"Trực tiếp", "Đường dây nóng", "Zalo", "Facebook", "Hòm thư góp ý",
                        "Bưu điện"}
    ids = [r["external_id"] for r in records]
    assert len(set(ids)) == len(ids)
    dates = [r["received_at"] for r in records]
    assert dates == sorted(dates)


def test_counts_per_month_near_per_month(year_records):
    records, _ = year_records
    per_month = Counter(r["received_at"].month for r in records)
    assert set(per_month) == set(range(1, 13))
    for month, count in per_month.items():
        assert 1300 <= count <= 1700, (month, count)


def test_fast_enough(year_records):
    _, elapsed = year_records
    assert elapsed < 20  # target is under 10 s; leave room for slow CI machines


def test_every_spike_present_in_window_and_village(gen, year_records):
    records, _ = year_records
    for index, spike in enumerate(gen.DEFAULT_SPIKES):
        hits = [r for r in records if r["spike"] == index]
        assert len(hits) == spike.count
        assert 6 <= spike.count <= 20 and 3 <= spike.days <= 7
        for rec in hits:
            assert spike.start <= rec["received_at"] <= spike.end
            assert rec["topic"] == spike.topic and rec["village"] == spike.village
            assert _mentions_village(gen, rec)
            if spike.campaign:
                assert spike.campaign in rec["text"]


def test_campaign_texts_are_near_duplicates(gen, year_records):
    records, _ = year_records
    index = next(i for i, s in enumerate(gen.DEFAULT_SPIKES) if s.campaign)
    texts = [r["text"] for r in records if r["spike"] == index]
    senders = {r["sender_name"] for r in records if r["spike"] == index}
    assert len(senders) > 1
    words = [set(t.lower().split()) for t in texts]
    for other in words[1:]:
        overlap = len(words[0] & other) / len(words[0] | other)
        assert overlap > 0.5


def test_no_religion_in_religion_spike_village_before_spike(gen, year_records):
    records, _ = year_records
    spike = next(s for s in gen.DEFAULT_SPIKES if s.topic == "religion")
    before = [r for r in records if r["village"] == spike.village and r["topic"] == "religion"
              and r["received_at"] < spike.start]
    assert before == []
    religion_elsewhere = [r for r in records if r["topic"] == "religion" and r["spike"] is None]
    assert religion_elsewhere  # other villages do have baseline religion matters


def test_area_forms_and_mix(gen, year_records):
    records, _ = year_records
    n = len(records)
    old = sum(1 for r in records if r["area"] and "huyện Vĩnh Linh" in r["area"])
    empty = [r for r in records if not r["area"]]
    assert 0.07 < old / n < 0.13
    assert 0.08 < len(empty) / n < 0.16
    new = [r for r in records if r["area"] and "huyện" not in r["area"] and "thôn" in
           r["area"].lower()]
    assert new and all(r["area"].endswith("xã Vĩnh Giang, tỉnh Quảng Trị") for r in new)
    # When the area is missing the village is usually named inside the text.
    named = sum(1 for r in empty if gen.strip_diacritics(gen.village_phrase(r["village"])).lower()
                in gen.strip_diacritics(r["text"]).lower())
    assert named / len(empty) > 0.75


def test_source_type_mix(gen, year_records):
    records, _ = year_records
    counts = Counter(r["source_type"] for r in records)
    for source_type, share in gen.SOURCE_MIX.items():
        assert abs(counts[source_type] / len(records) - share) < 0.02, source_type


def test_texts_vietnamese_and_lengths(year_records):
    records, _ = year_records
    assert all(r["text"].strip() for r in records)
    assert all(unicodedata.normalize("NFC", r["text"]) == r["text"] for r in records)
    accented = sum(1 for r in records if VIETNAMESE.search(r["text"].lower()))
    assert accented / len(records) > 0.9
    plain = len(records) - accented
    assert plain > 50  # some messages are typed without diacritics
    lengths = [len(r["text"].split()) for r in records]
    assert min(lengths) >= 15 and max(lengths) <= 230
    assert any(re.search(r"(?<!\w)(ko|dc)(?!\w)", r["text"]) for r in records)


def test_resubmissions_and_no_other_verbatim_repeats(year_records):
    records, _ = year_records
    by_text: dict[str, list[dict]] = {}
    for rec in records:
        by_text.setdefault(rec["text"], []).append(rec)
    repeated = [group for group in by_text.values() if len(group) > 1]
    resubmitted = sum(len(group) - 1 for group in repeated)
    assert 0.015 < resubmitted / len(records) < 0.045
    for group in repeated:
        assert len({(r["sender_name"], r["area"], r["topic"]) for r in group}) == 1
        assert all(r["spike"] is None for r in group)
        assert len({r["received_at"] for r in group}) == len(group)


def test_phone_spellings_vary(year_records):
    records, _ = year_records
    phones = [r["sender_contact"] for r in records if r["sender_contact"]]
    assert any(re.fullmatch(r"0\d{3} \d{3} \d{3}", p) for p in phones)
    assert any(re.fullmatch(r"0\d{3}\.\d{3}\.\d{3}", p) for p in phones)
    assert any(p.startswith("+84 ") for p in phones)


def test_write_samples_files(written):
    out, paths = written
    names = {p.name for p in paths}
    expected = {f"petitions-2025-{m:02d}.csv" for m in range(1, 13) if m != 6}
    expected |= {"so-theo-doi-don-thu-2025-06.xlsx", "bien-ban-tiep-xuc-cu-tri-2025-06.docx",
                 "injected_hotspots.json"}
    assert names == expected
    assert all(p.exists() and p.parent == out for p in paths)


def test_csv_header_and_rows(written):
    out, _ = written
    with (out / "petitions-2025-03.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == CSV_HEADER
        rows = list(reader)
    assert 120 < len(rows) < 300
    for row in rows:
        date.fromisoformat(row[1])
        assert row[0] and row[3] and row[4] and row[7]


def test_xlsx_title_block_and_header(written):
    import openpyxl
    out, _ = written
    ws = openpyxl.load_workbook(out / "so-theo-doi-don-thu-2025-06.xlsx").active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "SỔ THEO DÕI ĐƠN THƯ, PHẢN ÁNH THÁNG 6/2025"
    assert not any(rows[1])
    header_at = next(i for i, row in enumerate(rows) if row and row[0] == "STT")
    assert header_at == 2
    assert list(rows[header_at]) == ["STT", "Ngày tiếp nhận", "Họ tên", "Số điện thoại",
                                     "Địa chỉ", "Loại đơn", "Nội dung đơn", "Kênh tiếp nhận"]
    data = rows[header_at + 1:]
    assert len(data) > 100
    labels = {"Đơn kiến nghị", "Đơn khiếu nại", "Đơn tố cáo", "Phản ánh", "Mạng xã hội",
              "Biên bản"}
    for row in data:
        assert re.fullmatch(r"\d{2}/06/2025", row[1])
        assert row[5] in labels and row[6]


def test_docx_minutes_structure(written):
    import docx
    out, _ = written
    lines = [p.text for p in docx.Document(out / "bien-ban-tiep-xuc-cu-tri-2025-06.docx")
             .paragraphs]
    assert lines[:3] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                         "BIÊN BẢN"]
    assert lines[3].startswith("Hội nghị tiếp xúc cử tri")
    assert re.fullmatch(r"Thời gian: 8 giờ 00 ngày \d{2}/06/2025", lines[4])
    assert re.fullmatch(r"Địa điểm: Nhà văn hóa thôn .+, xã Vĩnh Giang, tỉnh Quảng Trị",
                        lines[5])
    first = lines.index("I. Ý KIẾN, KIẾN NGHỊ CỦA CỬ TRI")
    second = lines.index("II. Ý KIẾN TRẢ LỜI CỦA LÃNH ĐẠO XÃ")
    statements = [line for line in lines[first + 1:second] if re.match(r"\d+\. ", line)]
    assert 8 <= len(statements) <= 12
    assert all(re.match(r"\d+\. (Ông|Bà|Cử tri) [A-ZĐ]", s) for s in statements)
    answers = lines[second + 1:lines.index("Hội nghị kết thúc lúc 11 giờ cùng ngày.")]
    assert 3 <= len(answers) <= 5
    assert all(re.match(r"(Đồng chí|Ông|Bà) [A-ZĐ]\w* ", a) and ":" in a for a in answers)
    assert lines[-2:] == ["THƯ KÝ", "CHỦ TỌA"]


def test_injected_hotspots_json(gen, written):
    out, _ = written
    truth = json.loads((out / "injected_hotspots.json").read_text(encoding="utf-8"))
    assert len(truth) == len(gen.DEFAULT_SPIKES)
    for item, spike in zip(truth, gen.DEFAULT_SPIKES, strict=True):
        assert item["village"] == spike.village and item["topic"] == spike.topic
        assert item["start"] == spike.start.isoformat() and item["end"] == spike.end.isoformat()
        assert item["count"] == spike.count
        assert item["signals"] == list(spike.signals) and item["campaign"] == spike.campaign


def test_custom_spikes_and_villages(gen):
    spike = gen.Spike("Tân Mỹ", "policy", date(2025, 4, 7), 3, 8, ("mass",))
    records = gen.generate_records(date(2025, 4, 1), date(2025, 4, 30), per_month=200,
                                   spikes=[spike], villages=["Tân Mỹ", "Cổ Mỹ", "Thôn 5"])
    assert {r["village"] for r in records} <= {"Tân Mỹ", "Cổ Mỹ", "Thôn 5"}
    hits = [r for r in records if r["spike"] == 0]
    assert len(hits) == 8 and all(r["topic"] == "policy" for r in hits)


def test_script_prints_summary(tmp_path):
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path), "--per-month", "40",
         "--seed", "3"],
        capture_output=True, text=True, check=True, timeout=120,
    )
    assert result.stdout.startswith("Đã tạo 14 tệp mẫu,")
    assert "bản ghi" in result.stdout
    assert (tmp_path / "injected_hotspots.json").exists()
