"""Minutes: one record per statement, officials' answers marked, date and place found."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.intake.minutes import looks_like_minutes, split_minutes
from pipeline.intake.readers import Ingestor
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


PROSE_MINUTES = """BIÊN BẢN
Hội nghị tiếp xúc cử tri
Hôm nay, vào lúc 8 giờ 00 ngày 14/6/2025, tại Nhà văn hóa thôn Tùng Luật, xã Vĩnh Giang, \
tỉnh Quảng Trị, Thường trực HĐND xã tổ chức hội nghị tiếp xúc cử tri.
1. Ông Nguyễn Văn Hòa (thôn Tùng Luật): đề nghị sửa đoạn đường bị sạt lở.
Nước mưa chảy tràn vào nhà dân.
2. Bà Lê Thị Lan: hỏi về chế độ cho người có công.
Hội nghị kết thúc lúc 11 giờ cùng ngày.
Biên bản được lập thành 03 bản có giá trị như nhau.
THƯ KÝ
(Đã ký)
Trần Thị Mai
CHỦ TỌA
(Đã ký)
Hoàng Văn Nam
"""


@pytest.mark.parametrize(
    ("opening", "expected"),
    [
        (
            "Hôm nay, vào lúc 8 giờ 00 ngày 14/6/2025, tại Nhà văn hóa thôn Tùng Luật, "
            "xã Vĩnh Giang, tỉnh Quảng Trị, Thường trực HĐND xã tổ chức hội nghị.",
            "Nhà văn hóa thôn Tùng Luật, xã Vĩnh Giang, tỉnh Quảng Trị",
        ),
        (
            "Vào hồi 14 giờ ngày 2/7/2025 tại hội trường UBND xã Vĩnh Giang. Có mặt 60 cử tri.",
            "hội trường UBND xã Vĩnh Giang",
        ),
        (
            "Hôm nay tại trụ sở UBND phường Nam Đông Hà, TP. Đông Hà; đã diễn ra buổi đối thoại.",
            "trụ sở UBND phường Nam Đông Hà, TP. Đông Hà",
        ),
        # "hiện tại" is no place, and a "tại" after the first speaker is not the meeting's place.
        ("Hiện tại chưa có thông tin.\nÔng Lê Văn Ba: tôi ở tại thôn Rào.", None),
    ],
)
def test_place_written_in_the_opening_prose(opening: str, expected: str | None) -> None:
    text = f"BIÊN BẢN\n{opening}\nÔng Lê Văn Tư: đề nghị sửa đường.\n"
    assert split_minutes(text).place == expected


def test_label_place_is_preferred_over_prose() -> None:
    text = "Hôm nay tại hội trường xã.\nĐịa điểm: Nhà văn hóa thôn Tân Mỹ\nÔng A: ý kiến.\n"
    assert split_minutes(text).place == "Nhà văn hóa thôn Tân Mỹ"


def test_closing_lines_end_the_last_statement() -> None:
    minutes = split_minutes(PROSE_MINUTES)
    assert minutes.place == "Nhà văn hóa thôn Tùng Luật, xã Vĩnh Giang, tỉnh Quảng Trị"
    assert [s.speaker for s in minutes.statements] == ["Ông Nguyễn Văn Hòa", "Bà Lê Thị Lan"]
    assert minutes.statements[0].text.endswith("Nước mưa chảy tràn vào nhà dân.")
    assert minutes.statements[1].text == "hỏi về chế độ cho người có công."


@pytest.mark.parametrize(
    "closing",
    [
        "Hội nghị kết thúc lúc 11 giờ cùng ngày.",
        "Cuộc họp kết thúc vào hồi 10 giờ 30 phút.",
        "Biên bản được lập thành 02 bản, mỗi bên giữ 01 bản.",
        "Biên bản này đã được thông qua trước hội nghị.",
        "THƯ KÝ",
        "Chủ tọa",
        "CHỦ TOẠ HỘI NGHỊ",
        "(Đã ký)",
        "(Ký, ghi rõ họ tên)",
        "Người ghi biên bản:",
    ],
)
def test_each_closing_line_stops_the_statement(closing: str) -> None:
    opening = "BIÊN BẢN\nBà Lê Thị Lan: đề nghị làm rõ.\nCòn nhiều hộ khó khăn.\n"
    text = f"{opening}{closing}\nLê Văn Ba\n"
    statement = split_minutes(text).statements[-1]
    assert statement.text == "đề nghị làm rõ.\nCòn nhiều hộ khó khăn."
