"""Minutes: one record per statement, officials' answers marked, date and place found."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.ingest import Ingestor
from pipeline.minutes import looks_like_minutes, split_minutes
from pipeline.records import Record

MINUTES = """CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
BIÊN BẢN
Hội nghị tiếp xúc cử tri xã Vĩnh Giang
Thời gian: 8 giờ 00 ngày 14/6/2025
Địa điểm: Nhà văn hóa thôn Tân Mỹ, xã Vĩnh Giang, tỉnh Quảng Trị
I. Ý KIẾN, KIẾN NGHỊ CỦA CỬ TRI
1. Ông Nguyễn Văn Hòa (thôn Tân Mỹ): phản ánh trại heo của hộ ông Tư xả nước thải ra mương.
Mùi hôi nồng nặc vào buổi tối.
2. Bà Lê Thị Lan, thôn Hà Lợi Trung, kiến nghị: sớm cấp sổ đỏ cho 12 hộ tái định cư.
- Cử tri Trần Văn Bảy: hỏi về chế độ cho người có công.
II. Ý KIẾN TRẢ LỜI CỦA LÃNH ĐẠO XÃ
Đồng chí Hoàng Văn Nam, Chủ tịch UBND xã: tiếp thu ý kiến, sẽ kiểm tra trại heo trong tuần.
Ông Phạm Minh, công chức địa chính, trả lời: hồ sơ cấp giấy chứng nhận đang được thẩm định.
"""


def test_statements_speakers_villages_and_answers() -> None:
    minutes = split_minutes(MINUTES)
    assert minutes.meeting_date == date(2025, 6, 14)
    assert minutes.place is not None and minutes.place.startswith("Nhà văn hóa thôn Tân Mỹ")
    speakers = [(s.speaker, s.village, s.is_response) for s in minutes.statements]
    assert speakers == [
        ("Ông Nguyễn Văn Hòa", "thôn Tân Mỹ", False),
        ("Bà Lê Thị Lan", "thôn Hà Lợi Trung", False),
        ("Cử tri Trần Văn Bảy", None, False),
        ("Đồng chí Hoàng Văn Nam", None, True),
        ("Ông Phạm Minh", None, True),
    ]
    assert "Mùi hôi nồng nặc" in minutes.statements[0].text
    assert minutes.statements[1].text.startswith("sớm cấp sổ đỏ")


def test_plain_petition_is_not_minutes() -> None:
    assert looks_like_minutes(MINUTES)
    assert not looks_like_minutes("Kính gửi UBND xã. Ông Lê Văn A: đề nghị sửa đường.")


def test_docx_minutes_become_one_record_per_statement(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    for line in MINUTES.splitlines():
        document.add_paragraph(line)
    path = tmp_path / "bien-ban.docx"
    document.save(str(path))
    records = list(Ingestor().read_paths([path]))
    assert len(records) == 5
    assert all(isinstance(r, Record) and r.source_type == "minutes" for r in records)
    citizen = records[0]
    assert isinstance(citizen, Record)
    assert citizen.sender_name == "Ông Nguyễn Văn Hòa"
    assert citizen.area is not None and citizen.area.startswith("thôn Tân Mỹ, Nhà văn hóa")
    assert citizen.received_at == date(2025, 6, 14)
    assert [r.is_response for r in records if isinstance(r, Record)] == [
        False, False, False, True, True,
    ]
