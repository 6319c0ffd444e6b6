"""Personal data: names, phones, ID numbers, e-mails, accounts, addresses, plates; redaction."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text.redact import (
    HIDDEN_SENDER,
    PLACEHOLDERS,
    PiiSpan,
    SpanMismatchError,
    UnknownPiiKindError,
    find_pii,
    redact,
    redact_record,
)


def _found(text: str, kind: str, *, use_ner: bool = False) -> list[str]:
    return [span.text for span in find_pii(text, use_ner=use_ner) if span.kind == kind]


# --------------------------------------------------------------------------- person names

NAME_POSITIVES = [
    ("Gia đình ông Nguyễn Văn Hòa lấn chiếm lối đi.", ["Nguyễn Văn Hòa"]),
    ("Nhà bà Lài ở thôn 3 bị nứt.", ["Lài"]),
    ("Anh Tư đã báo cho trưởng thôn.", ["Tư"]),
    ("cụ Lê Thị Mến năm nay 90 tuổi", ["Lê Thị Mến"]),
    ("chị Trần Thị Mai và ông Lê Văn Tám cãi nhau", ["Trần Thị Mai", "Lê Văn Tám"]),
    ("Tôi tên là Phạm Văn Khởi, sinh năm 1961.", ["Phạm Văn Khởi"]),
    ("Tôi là Hồ Văn Lực, trú tại thôn Xa Rường.", ["Hồ Văn Lực"]),
    ("Họ tên: NGUYỄN VĂN HÒA", ["NGUYỄN VĂN HÒA"]),
    ("Họ và tên: Lò Thị Ên", ["Lò Thị Ên"]),
    ("Người làm đơn: Trần Thị Bé", ["Trần Thị Bé"]),
    ("vợ chồng Nguyễn Văn An và Trần Thị Bình", ["Nguyễn Văn An", "Trần Thị Bình"]),
    ("Đ/c Phạm Minh Quang chỉ đạo.", ["Phạm Minh Quang"]),
    ("đồng chí Vũ Văn Đông, phó chủ tịch", ["Vũ Văn Đông"]),
    ("cháu Giàng A Páo bị ngã", ["Giàng A Páo"]),
    ("Tôi tố cáo Hồ Thị Hoa nhận tiền của dân.", ["Hồ Thị Hoa"]),
    ("thằng Khoa con ông Bảy xóm dưới", ["Khoa", "Bảy"]),
    ("bà Tôn Nữ Thị Minh Hằng", ["Tôn Nữ Thị Minh Hằng"]),
    ("Kính gửi: Ông Nguyễn Văn A. Xin trình bày", ["Nguyễn Văn A"]),
    ("Tôi là Linh mục Giuse Phạm Văn Hiền", ["Giuse Phạm Văn Hiền"]),
    ("Tôi là Ni cô Thích Đàm Hoa.", ["Thích Đàm Hoa"]),
    ("Mẹ tôi là bà Đỗ Thị Nhàn", ["Đỗ Thị Nhàn"]),
]


@pytest.mark.parametrize(("text", "names"), NAME_POSITIVES)
def test_names_after_honorifics_and_labels_are_found(text: str, names: list[str]) -> None:
    assert _found(text, "person") == names


NAME_NEGATIVES = [
    "Ông bà ta có câu lá lành đùm lá rách.",
    "Anh em trong họ đều đồng ý.",
    "Bà con thôn 3 phản ánh đường hư.",
    "bà con thôn Tân Mỹ họp",
    "Ông Chủ tịch UBND xã không trả lời.",
    "Kính gửi: Ông Chủ tịch Ủy ban nhân dân xã Vĩnh Giang",
    "Tôi là người dân thôn Tân Mỹ, xã Vĩnh Giang.",
    "Tôi là Bí thư chi bộ thôn.",
    "Đường ở tỉnh Bà Rịa - Vũng Tàu hư hỏng.",
    "Chợ Ông Lãnh ngập nước.",
    "Nhà ở đường Hai Bà Trưng, thành phố Huế.",
    "Hội Nông dân xã Hải Dương họp.",
    "các em học sinh phải lội suối",
    "chú ý an toàn giao thông",
]


@pytest.mark.parametrize("text", NAME_NEGATIVES)
def test_common_phrases_and_places_are_not_names(text: str) -> None:
    assert _found(text, "person") == []


def test_honorific_is_kept_and_only_the_name_replaced() -> None:
    text = "Ông Lê Văn Tám lấn đất của bà Lài."
    assert redact(text, find_pii(text, use_ner=False)) == "Ông [HỌ TÊN] lấn đất của bà [HỌ TÊN]."


NER_CASES = [
    # Names without an honorific come from the recogniser; mapped back to exact offsets.
    ("Nguyễn Văn Bình và Lê Thị Hà ký tên bên dưới.", ["Nguyễn Văn Bình", "Lê Thị Hà"]),
    # The recogniser rewrites "Hoà" to "Hòa"; the span must still be the original spelling.
    ("Tôi, Nguyễn Văn Hoà, xin trình bày", ["Nguyễn Văn Hoà"]),
    ("gặp ông  Trần   Văn Tư  hôm qua", ["Trần   Văn Tư"]),
]


@pytest.mark.parametrize(("text", "names"), NER_CASES)
def test_recogniser_names_map_back_to_the_original_text(text: str, names: list[str]) -> None:
    spans = [span for span in find_pii(text) if span.kind == "person"]
    assert [span.text for span in spans] == names
    assert all(text[span.start : span.end] == span.text for span in spans)


NER_NEGATIVES = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nĐƠN KIẾN NGHỊ",
    "Kính gửi: Ủy ban nhân dân xã Vĩnh Giang, tỉnh Quảng Trị",
    "Dạ thưa anh, đường ở thôn Tân Mỹ, xã Vĩnh Giang bị sạt lở.",
    "Alo, cho tôi phản ánh về HTX nước sạch.",
    "Chùa Từ Hiếu và nhà thờ Phú Cam đông người.",
    "Nam mô A Di Đà Phật.",
    "KHẨN CẤP: cháy rừng ở xã Hướng Lập",
    "Bà con đọc Kinh Thánh và theo đạo Tin Lành.",
]


@pytest.mark.parametrize("text", NER_NEGATIVES)
def test_recogniser_does_not_redact_headers_places_or_openers(text: str) -> None:
    assert _found(text, "person", use_ner=True) == []


# --------------------------------------------------------------------------- phones

PHONE_POSITIVES = [
    ("SĐT 0912345678", "0912345678"),
    ("gọi 0912 345 678 nhé", "0912 345 678"),
    ("ĐT: 0912.345.678.", "0912.345.678"),
    ("số 0912-345-678", "0912-345-678"),
    ("liên hệ +84 912 345 678", "+84 912 345 678"),
    ("liên hệ (+84)912345678", "(+84)912345678"),
    ("zalo 84912345678", "84912345678"),
    ("máy bàn 0233 3 825 123", "0233 3 825 123"),
    ("đường dây nóng 028.3823.4567", "028.3823.4567"),
    ("số cũ 01693456789", "01693456789"),
    ("gọi 0389999999 lúc 9 giờ", "0389999999"),
]


@pytest.mark.parametrize(("text", "phone"), PHONE_POSITIVES)
def test_phone_spellings_are_found(text: str, phone: str) -> None:
    assert _found(text, "phone") == [phone]


PHONE_NEGATIVES = [
    "ngày 02.03.2024 đến nay",
    "thửa đất số 214, tờ bản đồ số 9, diện tích 312 m2",
    "số tiền 2.500.000 đồng",
    "0912345",  # too short
    "091234567890",  # too long
    "giai đoạn 2016-2021",
    "mã 12345678901234",
]


@pytest.mark.parametrize("text", PHONE_NEGATIVES)
def test_numbers_that_are_not_phones(text: str) -> None:
    assert _found(text, "phone") == []


# --------------------------------------------------------------------------- ID numbers

ID_POSITIVES = [
    ("CCCD số 038203004567", "038203004567"),
    ("CMND: 123456789 cấp ngày 2/3/2010", "123456789"),
    ("căn cước công dân 001 203 004 567", "001 203 004 567"),
    ("số định danh cá nhân 079190123456", "079190123456"),
    ("CCCD số 092175xxxxxx, cư ngụ", "092175xxxxxx"),
    ("hộ chiếu B1234567", "B1234567"),
    ("mã 001203004567 của tôi", "001203004567"),
    ("bà ấy có số 272345678 trong sổ", "272345678"),
]


@pytest.mark.parametrize(("text", "number"), ID_POSITIVES)
def test_id_numbers_with_and_without_keyword(text: str, number: str) -> None:
    assert _found(text, "id_number") == [number]


ID_NEGATIVES = [
    "SĐT 0912345678",
    "vay 500000000 đồng",
    "diện tích 123456789 m2",
    "CCCD cấp ngày 12/3/2020",
    "số 1234567890123",
    "đường số 12",
]


@pytest.mark.parametrize("text", ID_NEGATIVES)
def test_runs_that_are_not_id_numbers(text: str) -> None:
    assert _found(text, "id_number") == []


def test_a_phone_is_not_called_an_id_number() -> None:
    spans = find_pii("liên hệ +84 912345678", use_ner=False)
    assert [(span.kind, span.text) for span in spans] == [("phone", "+84 912345678")]


# --------------------------------------------------------------------------- e-mail, bank

EMAIL_CASES = [
    ("Email: hoa.nguyen@gmail.com.", ["hoa.nguyen@gmail.com"]),
    ("gửi về ubnd_vinhgiang+don@quangtri.gov.vn giúp", ["ubnd_vinhgiang+don@quangtri.gov.vn"]),
    ("ký hiệu @ và tên miền gmail.com", []),
    ("gửi @UBND xã", []),
]


@pytest.mark.parametrize(("text", "emails"), EMAIL_CASES)
def test_email_addresses(text: str, emails: list[str]) -> None:
    assert _found(text, "email") == emails


BANK_CASES = [
    ("STK 0011004123456 Vietcombank", ["0011004123456"]),
    ("số tài khoản: 1903 6712 3456 78 tại Techcombank", ["1903 6712 3456 78"]),
    ("chuyển vào 19036712345678 tại Techcombank", ["19036712345678"]),
    ("tài khoản Agribank số 3700205123456 của anh ấy", ["3700205123456"]),
    ("Ngân hàng Nông nghiệp Việt Nam, STK 3700205123456", ["3700205123456"]),
    ("mất 12 triệu trong tài khoản", []),
    ("nhân viên ngân hàng gọi từ SĐT 0912345678", []),
    ("số 0011004123456 không rõ là gì", []),
]


@pytest.mark.parametrize(("text", "accounts"), BANK_CASES)
def test_bank_accounts_need_a_bank_word_nearby(text: str, accounts: list[str]) -> None:
    assert _found(text, "bank_account") == accounts


# --------------------------------------------------------------------------- addresses, plates

ADDRESS_CASES = [
    ("trú tại số nhà 12, thôn Tân Mỹ", ["số nhà 12"]),
    ("ở số 45/3 đường Lê Lợi, phường Thuận Hóa", ["số 45/3 đường Lê Lợi"]),
    ("nhà số 7 kiệt 12 Trần Hưng Đạo bị ngập", ["nhà số 7 kiệt 12 Trần Hưng Đạo"]),
    ("ngõ 5 ngách 12 phố Huế", ["ngõ 5 ngách 12 phố Huế"]),
    ("hẻm 34 Nguyễn Trãi, phường 7", ["hẻm 34 Nguyễn Trãi"]),
    ("thường trú tại 123 Lê Lợi, phường Bến Nghé", ["123 Lê Lợi"]),
    ("Xưởng trong hẻm 12 ấp 1 xả nước thải", ["hẻm 12"]),
    ("thôn Tân Mỹ, xã Vĩnh Giang, tỉnh Quảng Trị", []),
    ("Quyết định số 12 Chủ tịch UBND xã", []),
    ("thửa đất số 214, tờ bản đồ số 9", []),
    ("đường Lê Lợi bị ngập", []),
    ("tổ 5, khu phố 3, phường Đông Hà", []),
    ("con hẻm này tối om", []),
]


@pytest.mark.parametrize(("text", "addresses"), ADDRESS_CASES)
def test_house_level_addresses_but_not_areas(text: str, addresses: list[str]) -> None:
    assert _found(text, "address") == addresses


PLATE_CASES = [
    ("xe biển 74A-123.45 bỏ chạy", ["74A-123.45"]),
    ("xe tải 43C1-234.56", ["43C1-234.56"]),
    ("biển số 29-H1 123.45", ["29-H1 123.45"]),
    ("xe máy 74B1 12345", ["74B1 12345"]),
    ("bien 77C1-432.18 dau truoc tiem", ["77C1-432.18"]),
    ("Quyết định 12/QĐ-UBND", []),
    ("năm 2024 có 15 vụ", []),
]


@pytest.mark.parametrize(("text", "plates"), PLATE_CASES)
def test_licence_plates(text: str, plates: list[str]) -> None:
    assert _found(text, "plate") == plates


# --------------------------------------------------------------------------- redact

SEEDED_PETITION = (
    "Tôi tên là Nguyễn Văn Hòa, CCCD số 038203004567, SĐT 0912.345.678, email "
    "hoa.nguyen@gmail.com, trú tại số nhà 12 đường Lê Lợi, thôn Tân Mỹ, xã Vĩnh Giang. "
    "Tôi tố cáo ông Lê Văn Tám dùng xe 74A-123.45 chở đất, tiền chuyển vào STK "
    "0011004123456 Vietcombank."
)
SEEDED_PII = (
    "Nguyễn Văn Hòa",
    "038203004567",
    "0912.345.678",
    "hoa.nguyen@gmail.com",
    "số nhà 12",
    "Lê Lợi",
    "Lê Văn Tám",
    "74A-123.45",
    "0011004123456",
)


@pytest.mark.parametrize("use_ner", [False, True])
def test_redacted_petition_keeps_area_and_loses_every_seeded_item(use_ner: bool) -> None:
    redacted = redact(SEEDED_PETITION, find_pii(SEEDED_PETITION, use_ner=use_ner))
    for item in SEEDED_PII:
        assert item not in redacted
    assert "thôn Tân Mỹ, xã Vĩnh Giang" in redacted
    for placeholder in PLACEHOLDERS.values():
        assert placeholder in redacted
    assert redacted.startswith("Tôi tên là [HỌ TÊN], CCCD số [CCCD], SĐT [SĐT]")


def test_redact_without_spans_searches_the_text_itself() -> None:
    assert redact("Gọi anh Tư số 0912345678.") == "Gọi anh [HỌ TÊN] số [SĐT]."


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ({"phone"}, "anh Tư, [SĐT], CCCD 038203004567"),
        (["person", "id_number"], "anh [HỌ TÊN], 0912345678, CCCD [CCCD]"),
        ((), "anh Tư, 0912345678, CCCD 038203004567"),
    ],
)
def test_redact_only_the_kinds_asked_for(kinds: object, expected: str) -> None:
    text = "anh Tư, 0912345678, CCCD 038203004567"
    assert redact(text, find_pii(text, use_ner=False), kinds=kinds) == expected  # type: ignore[arg-type]


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(UnknownPiiKindError, match="unknown personal-data kind.*'ssn'"):
        redact("anh Tư", [], kinds={"phone", "ssn"})


def test_spans_of_another_text_are_refused() -> None:
    spans = find_pii("gọi 0912345678", use_ner=False)
    with pytest.raises(SpanMismatchError, match="does not match the text"):
        redact("gọi 0987654321 nhé", spans)


def test_spans_are_frozen_values() -> None:
    span = PiiSpan(0, 3, "phone", "abc")
    with pytest.raises(dataclasses.FrozenInstanceError):
        span.start = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- redact_record

PETITION_RECORD = {
    "id": 7,
    "source_type": "denunciation",
    "text": "Tôi tố cáo ông Lê Văn Tám. Liên hệ tôi: 0912345678. Trần Thị Lan ký tên.",
    "text_raw": "Toi to cao ông Lê Văn Tám, sdt 0912345678",
    "area_raw": "số nhà 5 kiệt 3 Trần Phú, phường Thuận Hóa",
    "area": "phường Thuận Hóa",
    "sender_name": "Trần Thị Lan",
    "sender_contact": "0912345678",
}


def test_redact_record_hides_sender_and_redacts_every_text_field() -> None:
    record = dict(PETITION_RECORD)
    result = redact_record(record, hide_sender=True, use_ner=False)
    assert result["sender_name"] == HIDDEN_SENDER
    assert result["sender_contact"] == HIDDEN_SENDER
    # The sender's own name is removed from the text even without an honorific before it.
    assert result["text"] == "Tôi tố cáo ông [HỌ TÊN]. Liên hệ tôi: [SĐT]. [HỌ TÊN] ký tên."
    assert result["text_raw"] == "Toi to cao ông [HỌ TÊN], sdt [SĐT]"
    assert result["area_raw"] == "[ĐỊA CHỈ], phường Thuận Hóa"
    assert result["area"] == "phường Thuận Hóa"
    assert result["id"] == 7
    assert record == PETITION_RECORD, "the input record must not change"


def test_redact_record_keeps_sender_fields_when_not_hidden() -> None:
    result = redact_record(PETITION_RECORD, hide_sender=False, use_ner=False)
    assert result["sender_name"] == "Trần Thị Lan"
    assert result["sender_contact"] == "0912345678"
    assert "0912345678" not in result["text"]


@pytest.mark.parametrize(
    "record",
    [
        {"text": "không có gì riêng tư", "sender_name": None, "sender_contact": ""},
        {"text": None, "source_type": "feedback"},
        {"source_type": "feedback"},
    ],
)
def test_redact_record_leaves_missing_values_alone(record: dict[str, object]) -> None:
    result = redact_record(record, hide_sender=True)
    assert result == record
    assert result is not record


# --------------------------------------------------------------------------- properties

_SYLLABLES = (
    "tôi đất nhà đường xã thôn xin đề nghị lấn chiếm giải quyết ông bà anh chị em con cháu "
    "hộ dân nước bị ngập cầu và của có không đã được là người cho với chưa số ngõ tổ "
    "Tân Mỹ Vĩnh Giang Quảng Trị huyện tỉnh chủ tịch UBND , . :"
).split()
_NAMES = (
    ("ông", "Nguyễn Văn Hòa"),
    ("bà", "Lài"),
    ("anh", "Tư"),
    ("cụ", "Lê Thị Mến"),
    ("chị", "Trần Thị Bích Ngọc"),
    ("Tôi tên là", "Hồ Văn Lực"),
)


def _phone() -> st.SearchStrategy[str]:
    mobile = st.tuples(st.sampled_from("35789"), st.text("0123456789", min_size=8, max_size=8))
    # Eleven digits in all: 0, the area code, then the subscriber number.
    landline = st.sampled_from(["233", "28", "24", "236"]).flatmap(
        lambda area: st.tuples(st.just(area), st.integers(0, 10 ** (10 - len(area)) - 1))
    )

    def spell_mobile(parts: tuple[str, str]) -> st.SearchStrategy[str]:
        head, rest = parts
        digits = "0" + head + rest
        return st.sampled_from(
            [
                digits,
                f"{digits[:4]} {digits[4:7]} {digits[7:]}",
                f"{digits[:4]}.{digits[4:7]}.{digits[7:]}",
                f"{digits[:4]}-{digits[4:7]}-{digits[7:]}",
                f"+84 {digits[1:4]} {digits[4:7]} {digits[7:]}",
                f"(+84){digits[1:]}",
                f"84{digits[1:]}",
            ]
        )

    def spell_landline(parts: tuple[str, int]) -> str:
        area, number = parts
        local = str(number).zfill(10 - len(area))
        return f"0{area} {local[:4]} {local[4:]}"

    return st.one_of(mobile.flatmap(spell_mobile), landline.map(spell_landline))


_ID_NUMBERS = st.one_of(
    st.text("0123456789", min_size=12, max_size=12),
    st.text("0123456789", min_size=9, max_size=9),
)


@st.composite
def seeded_texts(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    """A text of Vietnamese syllables with names, phones and ID numbers at random places."""
    words = draw(st.lists(st.sampled_from(_SYLLABLES), max_size=40))
    names = draw(st.lists(st.sampled_from(_NAMES), max_size=3))
    labelled = st.one_of(_phone(), _ID_NUMBERS.map(lambda number: f"CCCD {number}"))
    numbers = draw(st.lists(labelled, max_size=4))
    lone_ids = draw(st.lists(_ID_NUMBERS, max_size=2))
    seeds = [*(f"{honorific} {name}" for honorific, name in names), *numbers, *lone_ids]
    for seed in seeds:
        words.insert(draw(st.integers(0, len(words))), seed)
    plain_numbers = [number.removeprefix("CCCD ") for number in (*numbers, *lone_ids)]
    return " ".join(words), [name for _, name in names], plain_numbers


@settings(max_examples=300)
@given(seeded_texts())
def test_spans_round_trip_and_never_overlap(case: tuple[str, list[str], list[str]]) -> None:
    text, _, _ = case
    spans = find_pii(text, use_ner=False)
    for span in spans:
        assert text[span.start : span.end] == span.text
        assert span.kind in PLACEHOLDERS
        assert span.start < span.end
    for left, right in zip(spans, spans[1:], strict=False):
        assert left.end <= right.start


@settings(max_examples=300)
@given(seeded_texts())
def test_seeded_numbers_and_names_never_survive(case: tuple[str, list[str], list[str]]) -> None:
    text, names, numbers = case
    redacted = redact(text, find_pii(text, use_ner=False))
    for number in numbers:
        assert number not in redacted
    for name in names:
        assert name not in redacted


@settings(max_examples=300)
@given(seeded_texts())
def test_regex_redaction_is_idempotent(case: tuple[str, list[str], list[str]]) -> None:
    text, _, _ = case
    once = redact(text, find_pii(text, use_ner=False))
    assert redact(once, find_pii(once, use_ner=False)) == once


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_any_text_is_redacted_without_error(text: str) -> None:
    spans = find_pii(text, use_ner=False)
    assert all(text[span.start : span.end] == span.text for span in spans)
    assert isinstance(redact(text, spans), str)


@settings(max_examples=25, deadline=None)
@given(seeded_texts())
def test_spans_with_recogniser_round_trip(case: tuple[str, list[str], list[str]]) -> None:
    text, _, numbers = case
    spans = find_pii(text)
    assert all(text[span.start : span.end] == span.text for span in spans)
    assert all(left.end <= right.start for left, right in zip(spans, spans[1:], strict=False))
    redacted = redact(text, spans)
    assert not any(number in redacted for number in numbers)
