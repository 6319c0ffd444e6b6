"""Redaction of text typed without diacritics and of numbers written in groups."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text.redact import (
    HIDDEN_SENDER,
    _fold_keep_case,
    find_pii,
    hidden_file_name,
    redact,
    redact_metadata,
    redact_record,
)

ISSUE_TEXT = (
    "Toi ten la Nguyen Thi Hoa, so dien thoai 0912 345 678, CCCD 0380 1234 5678, dia chi so 12 "
    "duong Le Loi, thon Tan My. Toi to cao ong Tran Van Binh can bo dia chinh nhan tien."
)
ISSUE_PII = ["Nguyen Thi Hoa", "0912 345 678", "0380 1234 5678", "so 12 duong Le Loi",
             "Tran Van Binh"]


def _redacted(text: str) -> str:
    return redact(text, find_pii(text, use_ner=False))


def test_the_probe_text_without_diacritics_loses_every_item() -> None:
    redacted = _redacted(ISSUE_TEXT)
    for item in ISSUE_PII:
        assert item not in redacted, item
    assert "Nguyen" not in redacted and "Binh" not in redacted
    assert redacted.count("[HỌ TÊN]") == 2 and "[CCCD]" in redacted
    assert "[SĐT]" in redacted and "[ĐỊA CHỈ]" in redacted
    assert "thon Tan My" in redacted  # areas are statistics, not personal data


@pytest.mark.parametrize(("text", "kind", "found"), [
    ("Toi ten la Le Van Tam.", "person", "Le Van Tam"),
    ("Ho va ten: Tran Thi Be", "person", "Tran Thi Be"),
    ("Nha ba Lai o thon 3 bi nut.", "person", "Lai"),
    ("vo chong Nguyen Van An va Tran Thi Binh", "person", "Tran Thi Binh"),
    ("ong Truong Van Son noi", "person", "Truong Van Son"),
    ("anh Duong Van Bao o xom tren", "person", "Duong Van Bao"),
    ("CMND so 038 012 345", "id_number", "038 012 345"),
    ("can cuoc cong dan: 038.012.345.678", "id_number", "038.012.345.678"),
    ("CCCD 0380-1234-5678", "id_number", "0380-1234-5678"),
    ("tru tai so nha 27 kiet 5 Le Duan", "address", "so nha 27 kiet 5 Le Duan"),
    ("stk 0123456789 ngan hang Vietcombank", "bank_account", "0123456789"),
])
def test_each_kind_is_found_without_diacritics(text: str, kind: str, found: str) -> None:
    assert found in [s.text for s in find_pii(text, use_ner=False) if s.kind == kind]


@pytest.mark.parametrize("text", [
    "Ong Chu tich xa Vinh Giang da hua giai quyet.",
    "Toi di Ha Noi kham benh.",
    "Duong vao thon Tan My bi sat lo.",
    "So tien 120.000.000.000 dong chua duoc chi tra.",
    "Nam 2024 thon co 35 ho ngheo.",
])
def test_unaccented_phrases_that_hold_no_personal_data_are_left(text: str) -> None:
    assert _redacted(text) == text


def test_accented_ids_in_groups_of_four_are_found() -> None:
    assert "[CCCD]" in _redacted("CCCD số 0380 1234 5678 cấp ngày 2/3/2021")
    assert "[CCCD]" in _redacted("Căn cước 0380 1234 5678.")


# --------------------------------------------------------------------------- property test

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ",
            "Ngô", "Dương", "Lý", "Trương", "Võ"]
MIDDLES = ["Văn", "Thị", "Minh", "Hữu", "Đức", "Thanh", "Ngọc", "Quang"]
GIVEN = ["Hoa", "Bình", "Lan", "Hùng", "Dũng", "Mai", "Tâm", "Phong", "Bảo", "Thắng", "Hải",
         "Khởi", "Mận", "Sơn", "Nga", "Lực"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Hùng Vương", "Nguyễn Huệ", "Lê Duẩn", "Quang Trung"]
HONORIFICS = ["ông", "bà", "anh", "chị", "cô", "chú", "cháu", "cụ"]
SEPARATORS = ["", " ", ".", "-"]


@st.composite
def person_names(draw: st.DrawFn) -> str:
    return " ".join((draw(st.sampled_from(SURNAMES)), draw(st.sampled_from(MIDDLES)),
                     draw(st.sampled_from(GIVEN))))


@st.composite
def phones(draw: st.DrawFn) -> str:
    digits = "0" + draw(st.sampled_from("35789")) + "".join(
        draw(st.lists(st.sampled_from("0123456789"), min_size=8, max_size=8)))
    sep = draw(st.sampled_from(SEPARATORS))
    groups = draw(st.sampled_from([(4, 3, 3), (3, 3, 4), (2, 4, 4), (10,)]))
    parts, at = [], 0
    for size in groups:
        parts.append(digits[at:at + size])
        at += size
    return sep.join(parts)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    digits = "0" + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=11,
                                         max_size=11)))
    sep = draw(st.sampled_from(SEPARATORS))
    size = draw(st.sampled_from([3, 4, 12]))
    return sep.join(digits[i:i + size] for i in range(0, 12, size))


@st.composite
def petitions(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A petition naming every kind, with its personal data items; folded or not."""
    sender, accused = draw(person_names()), draw(person_names())
    phone, id_number = draw(phones()), draw(id_numbers())
    house = f"số {draw(st.integers(1, 999))} đường {draw(st.sampled_from(STREETS))}"
    honorific = draw(st.sampled_from(HONORIFICS))
    label = draw(st.sampled_from(["Tôi tên là", "Tôi là", "Họ và tên:", "Người làm đơn:"]))
    id_label = draw(st.sampled_from(["CCCD", "CMND", "căn cước công dân số", "số định danh"]))
    text = (f"{label} {sender}, điện thoại {phone}, {id_label} {id_number}, địa chỉ {house}, "
            f"thôn Tân Mỹ. Tôi phản ánh {honorific} {accused} lấn chiếm lối đi chung.")
    items = [sender, accused, phone, id_number, house]
    if draw(st.booleans()):
        text, items = _fold_keep_case(text), [_fold_keep_case(i) for i in items]
    return text, items


@settings(max_examples=300, deadline=None)
@given(petitions())
def test_every_kind_is_redacted_with_or_without_diacritics(case: tuple[str, list[str]]) -> None:
    text, items = case
    spans = find_pii(text, use_ner=False)
    assert all(text[s.start:s.end] == s.text for s in spans)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    redacted = redact(text, spans)
    for item in items:
        assert item not in redacted, (item, redacted)
    for word in item_words(items[:2]):
        assert word not in redacted.split(), (word, redacted)


def item_words(names: list[str]) -> set[str]:
    # Given names are checked word by word: no part of a name may be left behind.
    return {w for name in names for w in name.split()[-1:]}


# --------------------------------------------------------------------------- metadata


def test_file_names_keep_only_their_extension() -> None:
    assert hidden_file_name("/data/Don to cao - Nguyen Thi Hoa - 0912345678.docx") == (
        HIDDEN_SENDER + ".docx")
    assert hidden_file_name("khong-duoi") == HIDDEN_SENDER


def test_record_metadata_is_hidden_for_roles_without_clear_text() -> None:
    record = {
        "text": "Dan phan anh duong hong.", "source_file": "Don - Nguyen Thi Hoa.docx",
        "external_id": "Nguyen Thi Hoa 0912345678", "channel": "email hoa.nguyen@example.vn",
        "extra": {"columns": {"CCCD người gửi": "038012345678", "Ghi chú": None}},
        "sender_name": "Nguyễn Thị Hoa",
    }
    hidden = redact_record(record, hide_sender=True, use_ner=False, hide_metadata=True)
    assert hidden["source_file"] == HIDDEN_SENDER + ".docx"
    assert hidden["external_id"] == HIDDEN_SENDER
    assert hidden["channel"] == "email [EMAIL]"
    assert hidden["extra"]["columns"] == {"CCCD người gửi": HIDDEN_SENDER, "Ghi chú": None}
    assert record["extra"]["columns"]["CCCD người gửi"] == "038012345678"
    kept = redact_record(record, hide_sender=True, use_ner=False)
    assert kept["source_file"] == record["source_file"]


def test_the_sender_is_found_in_text_typed_without_diacritics() -> None:
    record = {"text": "Nguyen Thi Hoa viet don nay.", "sender_name": "Nguyễn Thị Hoa"}
    redacted = redact_record(record, hide_sender=True, use_ner=False)
    assert redacted["text"] == "[HỌ TÊN] viet don nay."


def test_metadata_values_are_redacted_with_the_regular_expressions() -> None:
    assert redact_metadata("Don cua ong Tran Van Binh, sdt 0912 345 678") == (
        "Don cua ong [HỌ TÊN], sdt [SĐT]")
