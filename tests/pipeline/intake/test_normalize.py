"""Normalization: decoding bytes, TCVN3/VNI repair, tone marks, invisible characters."""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.intake.normalize import (
    DecodedText,
    NormalizedText,
    UndecodableError,
    decode_bytes,
    fix_legacy_encoding,
    fold_diacritics,
    has_diacritics,
    looks_unaccented,
    normalize_text,
    normalize_tone_marks,
    strip_invisible,
)

# --------------------------------------------------------------------------- test encoders
# Written independently of the module's tables, from the published layouts of each encoding.

_TONE_ORDER = ("\u0300", "\u0309", "\u0303", "\u0301", "\u0323")  # grave hook tilde acute dot
_TONES = frozenset(_TONE_ORDER)

# TCVN3: the byte for each vowel carrying grave, hook, tilde, acute, dot below (in that order).
_TCVN3_TONED = {
    "a": (0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
_TCVN3_PLAIN = dict(zip("ĂÂÊÔƠƯĐăâêôơưđ", range(0xA1, 0xAF), strict=True))

# VNI: mark bytes, written as the Windows-1252 characters they show as.
_VNI_TONE = dict(zip(_TONE_ORDER, "øûõùï", strict=True))
_VNI_HAT = dict(zip(("", *_TONE_ORDER), "âàåãáä", strict=True))
_VNI_BREVE = dict(zip(("", *_TONE_ORDER), "êèúüéë", strict=True))
_VNI_I = dict(zip(_TONE_ORDER, "ìæóíò", strict=True))


def _split(char: str) -> tuple[str, str]:
    """Return (letter with its own diacritic, tone mark or "")."""
    decomposed = unicodedata.normalize("NFD", char)
    tone = "".join(c for c in decomposed if c in _TONES)
    letter = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    return letter, tone


def tcvn3_encode(text: str) -> bytes:
    """Return the text as TCVN3 (.VnTime font) bytes."""
    out = bytearray()
    for char in text:
        if char.isascii():
            out += char.encode("ascii")
            continue
        letter, tone = _split(char)
        if not tone:
            out.append(_TCVN3_PLAIN[letter])
        else:
            out.append(_TCVN3_TONED[letter][_TONE_ORDER.index(tone)])
    return bytes(out)


def vni_encode(text: str) -> bytes:
    """Return the text as VNI-Windows bytes."""
    pieces: list[str] = []
    for char in text:
        if char.isascii():
            pieces.append(char)
            continue
        upper = char.isupper()
        letter, tone = _split(char.lower())
        if letter == "đ":
            piece = "ñ"
        elif letter == "i":
            piece = _VNI_I[tone]
        elif letter == "y" and tone == "\u0323":
            piece = "î"
        elif letter in "ơư":
            piece = {"ơ": "ô", "ư": "ö"}[letter] + _VNI_TONE.get(tone, "")
        elif letter in "âêô":
            piece = unicodedata.normalize("NFD", letter)[0] + _VNI_HAT[tone]
        elif letter == "ă":
            piece = "a" + _VNI_BREVE[tone]
        else:
            piece = letter + _VNI_TONE[tone]
        pieces.append(piece.upper() if upper else piece)
    return "".join(pieces).encode("cp1252")


def cp1258_encode(text: str) -> bytes:
    """Return the text as Windows-1258 bytes, splitting off tones the code page lacks."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            letter, tone = _split(char)
            out += (letter + tone).encode("cp1258")
    return bytes(out)


# --------------------------------------------------------------------------- sample texts

SYLLABLES = (
    "người dân chúng tôi làm đơn khiếu nại việc ủy ban nhân xã huyện tỉnh thôn bản làng "
    "đất đai nhà cửa ruộng vườn cây lúa nước giếng suối đường sá cầu cống trường học bệnh "
    "viện trạm y tế điện chiếu sáng rác thải mùi hôi ô nhiễm tiếng ồn trộm cắp xe máy bị "
    "mất tiền bồi thường giải phóng mặt bằng cấp giấy chứng nhận quyền sử dụng hòa thủy "
    "khỏe hóa quý quả giá gìn hoàng thuở khuya chuyển tuổi nghiêng toán khuỷu hoà thuỷ "
    "khoẻ hoá uỷ ngoài quyết định xử lý tranh chấp ranh giới hộ nghèo trợ cấp chính sách "
    "ưu đãi có công liệt sĩ ạ ừ ở yên oẳn giữa gửi kiến nghị sớm"
).split()
# Words that carry strong legacy evidence in both TCVN3 and VNI (three letters with marks).
ANCHORS = ("được", "đường", "đứng")
SEPARATORS = (" ", " ", " ", ", ", ". ", "\n")
TCVN3_CAPITALS = frozenset("ĂÂÊÔƠƯĐ")

VIETNAMESE_SENTENCES = (
    "Kính gửi Ủy ban nhân dân xã Hòa Bình.",
    "Gia đình tôi có mảnh đất bị lấn chiếm từ năm 2019, đề nghị giải quyết.",
    "Nước giếng nhà tôi có mùi hôi từ trại heo.",
    "Đường bê tông thôn 3 bị nứt, xe máy đi lại rất nguy hiểm.",
    "THỪA THIÊN HUẾ, ngày 14 tháng 6 năm 2025",
    "Tôi là Nguyễn Thị Ánh, trú tại «Hà Nội» ©2024, nhiệt độ 30°C.",
    "Hoà giải ở cơ sở; ông bà, cô chú đều đồng ý.",
)
FOREIGN_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "café naïve",
    "Häagen-Dazs ice cream at the Noël market",
    "Größe für Äpfel über schön Köln Peña año",
    "Søren Kierkegaard, Ærø, Åland, Île-de-France, Zoë",
    "Le café est très bon à Paris.",
)


@st.composite
def petition_texts(draw: st.DrawFn, capitals: str = "none") -> str:
    """Vietnamese text from SYLLABLES around one anchor word; capitals: none/tcvn3/any."""
    words = draw(st.lists(st.sampled_from(SYLLABLES), min_size=1, max_size=25))
    words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(ANCHORS)))
    if capitals != "none":
        for index, word in enumerate(words):
            style = draw(st.sampled_from(("lower", "lower", "title", "upper")))
            first = word[0].upper()
            if capitals == "tcvn3" and not (first.isascii() or first in TCVN3_CAPITALS):
                continue
            if style == "title":
                words[index] = first + word[1:]
            elif style == "upper" and capitals == "any":
                words[index] = word.upper()
    text = words[0]
    for word in words[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + word
    return text


# --------------------------------------------------------------------------- tone marks

NEW_TO_OLD = [
    ("hoà", "hòa"),
    ("thuỷ", "thủy"),
    ("khoẻ", "khỏe"),
    ("hoá", "hóa"),
    ("uỷ", "ủy"),
    ("HOÀ", "HÒA"),
    ("Hoà", "Hòa"),
    ("THUỶ", "THỦY"),
    ("Uỷ ban nhân dân xã Hoà Bình", "Ủy ban nhân dân xã Hòa Bình"),
    ("hoạ sĩ, thoả thuận, loà xoà", "họa sĩ, thỏa thuận, lòa xòa"),
    ("gìa", "già"),
    ("qúa", "quá"),
    ("hòang", "hoàng"),
    ("khỏen", "khoẻn"),
    ("tóan", "toán"),
    ("ngòai", "ngoài"),
    ("khủyu", "khuỷu"),
    ("múôn", "muốn"),
]


@pytest.mark.parametrize(("new", "old"), NEW_TO_OLD)
def test_tone_marks_move_to_traditional_position(new: str, old: str) -> None:
    assert normalize_tone_marks(new) == old


@pytest.mark.parametrize("old", sorted({old for _, old in NEW_TO_OLD}))
def test_traditional_tone_marks_stay(old: str) -> None:
    assert normalize_tone_marks(old) == old


@pytest.mark.parametrize(
    "word",
    [
        "quý",
        "quả",
        "giá",
        "gìn",
        "hoàng",
        "thuở",
        "người",
        "khuya",
        "chuyển",
        "tuổi",
        "nghiêng",
        "oẳn",
        "toán",
        "khuỷu",
        "giữa",
        "giếng",
        "huỳnh",
        "quyết",
        "Ánh",
        "ĐƯỜNG",
        "café",
        "naïve",
        "Häagen",
        "Zoé",
        "idée",
        "José",
        "Noël",
        "2hoà",
        "hello world",
        "",
    ],
)
def test_words_that_must_not_change(word: str) -> None:
    assert normalize_tone_marks(word) == word


def test_tone_marks_on_decomposed_input_come_back_composed() -> None:
    assert normalize_tone_marks(unicodedata.normalize("NFD", "thuỷ lợi")) == "thủy lợi"


@given(petition_texts(capitals="any"))
def test_tone_marks_idempotent_and_keep_letters(text: str) -> None:
    once = normalize_tone_marks(text)
    assert normalize_tone_marks(once) == once
    assert fold_diacritics(once) == fold_diacritics(text)
    assert len(once) == len(text)


# --------------------------------------------------------------------------- legacy encodings

LEGACY_EXAMPLES = [
    ("§¬n khiÕu n¹i", "Đơn khiếu nại", "tcvn3"),
    ("Th«n 5, x· Hoµ B×nh", "Thôn 5, xã Hoà Bình", "tcvn3"),
    ("Céng hoµ x· héi chñ nghÜa ViÖt Nam", "Cộng hoà xã hội chủ nghĩa Việt Nam", "tcvn3"),
    ("§éc lËp - Tù do - H¹nh phóc", "Độc lập - Tự do - Hạnh phúc", "tcvn3"),
    ("®Þa ph­¬ng", "địa phương", "tcvn3"),
    ("§¥N KHIÕU N¹I", "ĐƠN KHIẾU NẠI", "tcvn3"),
    ("Ñôn khieáu naïi", "Đơn khiếu nại", "vni"),
    ("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam", "Cộng hòa xã hội chủ nghĩa Việt Nam", "vni"),
    ("Ñoäc laäp - Töï do - Haïnh phuùc", "Độc lập - Tự do - Hạnh phúc", "vni"),
    ("ÑÔN KHIEÁU NAÏI", "ĐƠN KHIẾU NẠI", "vni"),
    ("UÛy ban nhaân daân tænh", "Ủy ban nhân dân tỉnh", "vni"),
]


@pytest.mark.parametrize(("mojibake", "expected", "encoding"), LEGACY_EXAMPLES)
def test_fix_legacy_encoding_examples(mojibake: str, expected: str, encoding: str) -> None:
    assert fix_legacy_encoding(mojibake) == (expected, encoding)


@pytest.mark.parametrize(("mojibake", "expected", "encoding"), LEGACY_EXAMPLES)
def test_decode_bytes_legacy_examples(mojibake: str, expected: str, encoding: str) -> None:
    assert decode_bytes(mojibake.encode("cp1252")) == DecodedText(expected, encoding)


@pytest.mark.parametrize("text", [*VIETNAMESE_SENTENCES, *FOREIGN_TEXTS, "Vieät", "©", ""])
def test_no_false_legacy_detection(text: str) -> None:
    assert fix_legacy_encoding(text) == (text, None)
    assert normalize_text(text).legacy_encoding is None


def test_single_legacy_character_is_not_evidence() -> None:
    # One VNI-looking pair in an otherwise ASCII text is not enough to rewrite it.
    assert fix_legacy_encoding("Vieät Nam") == ("Vieät Nam", None)


def test_test_encoders_match_known_mojibake() -> None:
    assert tcvn3_encode("Đơn khiếu nại").decode("cp1252") == "§¬n khiÕu n¹i"
    assert vni_encode("Đơn khiếu nại").decode("cp1252") == "Ñôn khieáu naïi"
    assert vni_encode("Việt Nam").decode("cp1252") == "Vieät Nam"


@settings(max_examples=200)
@given(petition_texts(capitals="tcvn3"))
def test_tcvn3_round_trip(text: str) -> None:
    raw = tcvn3_encode(text)
    decoded = decode_bytes(raw)
    assert decoded == DecodedText(text, "tcvn3")
    assert normalize_tone_marks(decoded.text) == normalize_tone_marks(text)
    assert fix_legacy_encoding(raw.decode("cp1252")) == (text, "tcvn3")
    normalized = normalize_text(raw.decode("cp1252"))
    assert normalized.text == normalize_tone_marks(text)
    assert normalized.legacy_encoding == "tcvn3"


@settings(max_examples=200)
@given(petition_texts(capitals="any"))
def test_vni_round_trip(text: str) -> None:
    raw = vni_encode(text)
    decoded = decode_bytes(raw)
    assert decoded == DecodedText(text, "vni")
    assert normalize_tone_marks(decoded.text) == normalize_tone_marks(text)
    assert fix_legacy_encoding(raw.decode("cp1252")) == (text, "vni")
    normalized = normalize_text(raw.decode("cp1252"))
    assert normalized.text == normalize_tone_marks(text)
    assert normalized.legacy_encoding == "vni"


@settings(max_examples=200)
@given(petition_texts(capitals="any"))
def test_cp1258_round_trip(text: str) -> None:
    assert decode_bytes(cp1258_encode(text)) == DecodedText(text, "cp1258")


def test_cp1258_with_combining_tones() -> None:
    text = "Nước giếng nhà tôi có mùi hôi từ trại heo, thôn Hà Lợi"
    raw = cp1258_encode(text)
    assert b"\xf2" in raw  # the dot below travels as a separate combining byte
    assert decode_bytes(raw) == DecodedText(text, "cp1258")


def test_western_legacy_text_reads_as_cp1258() -> None:
    assert decode_bytes("Le café est très bon.".encode("cp1252")) == DecodedText(
        "Le café est très bon.", "cp1258"
    )


# --------------------------------------------------------------------------- unicode decoding

SAMPLE = "Đơn khiếu nại về việc Ủy ban xã chưa giải quyết"


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (SAMPLE.encode("utf-8"), "utf-8"),
        (unicodedata.normalize("NFD", SAMPLE).encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + SAMPLE.encode("utf-8"), "utf-8-sig"),
        (SAMPLE.encode("utf-16"), "utf-16"),
        (b"\xfe\xff" + SAMPLE.encode("utf-16-be"), "utf-16"),
        (SAMPLE.encode("utf-16-le"), "utf-16"),
        (SAMPLE.encode("utf-16-be"), "utf-16"),
    ],
)
def test_unicode_decoding(raw: bytes, encoding: str) -> None:
    assert decode_bytes(raw) == DecodedText(SAMPLE, encoding)


def test_empty_bytes() -> None:
    assert decode_bytes(b"") == DecodedText("", "utf-8")


def test_plain_ascii_is_utf8() -> None:
    raw = b"nha toi bi mat trom\r\n"
    assert decode_bytes(raw) == DecodedText("nha toi bi mat trom\r\n", "utf-8")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "binary.*NUL bytes"),
        (bytes(range(256)), "binary.*NUL bytes"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00", "looks binary"),
        (bytes([1, 2, 3, 4, 5, 6, 7, 8, 65, 66, 14, 15, 16, 17]), "binary.*control bytes"),
        (b"\xef\xbb\xbf\xff\xfe bad", "not valid UTF-8"),
        (b"\xff\xfe\x41", "not valid UTF-16"),
        (bytes(range(0xA1, 0xFF)) * 3, "not text"),
    ],
)
def test_binary_bytes_are_rejected(raw: bytes, message: str) -> None:
    with pytest.raises(UndecodableError, match=message):
        decode_bytes(raw)


@given(st.binary(max_size=300))
def test_decode_bytes_only_raises_undecodable(raw: bytes) -> None:
    try:
        decoded = decode_bytes(raw)
    except UndecodableError:
        return
    assert decoded.encoding in {"utf-8", "utf-8-sig", "utf-16", "cp1258", "tcvn3", "vni"}
    assert unicodedata.is_normalized("NFC", decoded.text)


# --------------------------------------------------------------------------- invisible characters


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Đơn\u200b khiếu\u200c nại\u200d\u2060\ufeff", "Đơn khiếu nại"),
        ("thủy\u00adlợi", "thủylợi"),
        ("dòng 1\r\ndòng 2\rdòng 3", "dòng 1\ndòng 2\ndòng 3"),
        ("xã\u00a0Hòa\u202fBình", "xã Hòa Bình"),
        ("a  \t  b\t\tc", "a b c"),
        ("  đầu dòng  \n  cuối dòng  ", "đầu dòng\ncuối dòng"),
        ("một\n\n\n\n\nhai", "một\n\nhai"),
        ("a\x00b\x07c\x1bd\x7fe\x9ff", "abcdef"),
        ("trang 1\x0ctrang 2", "trang 1\ntrang 2"),
        ("\n\n  \t \n", ""),
        ("giữ\tnguyên\nnội dung", "giữ nguyên\nnội dung"),
    ],
)
def test_strip_invisible(raw: str, expected: str) -> None:
    assert strip_invisible(raw) == expected


@given(st.text())
def test_strip_invisible_is_idempotent(text: str) -> None:
    once = strip_invisible(text)
    assert strip_invisible(once) == once


# --------------------------------------------------------------------------- diacritics


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nha toi bi mat trom xe may", True),
        ("De nghi xa giai quyet viec lan chiem dat", True),
        ("TOI KHIEU NAI VIEC NAY", True),
        ("nha toi bi", False),
        ("", False),
        ("123 456 789 000", False),
        ("Nhà tôi bị mất trộm xe máy", False),
        ("nha toi bi mat trom xe máy", False),
        ("di dau vay hom nay đi", False),
        ("nha toi bi mat trom xe may", True),
    ],
)
def test_looks_unaccented(text: str, expected: bool) -> None:
    assert looks_unaccented(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Hà Nội", True), ("Ha Noi", False), ("đi", True), ("naïve", False), ("a\u0300", True)],
)
def test_has_diacritics(text: str, expected: bool) -> None:
    assert has_diacritics(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hà Nội", "ha noi"),
        ("Đắk Lắk", "dak lak"),
        ("THỪA THIÊN HUẾ", "thua thien hue"),
        ("Thủy Nguyên, Hòa Bình", "thuy nguyen, hoa binh"),
        (unicodedata.normalize("NFD", "Quảng Ngãi"), "quang ngai"),
        ("ASCII only", "ascii only"),
    ],
)
def test_fold_diacritics(text: str, expected: str) -> None:
    assert fold_diacritics(text) == expected


# --------------------------------------------------------------------------- normalize_text


def test_normalize_text_pipeline() -> None:
    raw = " Uỷ ban\u200b  nhân dân\r\n\r\n\r\n\txã Hoà Bình "
    assert normalize_text(raw) == NormalizedText("Ủy ban nhân dân\n\nxã Hòa Bình", False, None)


def test_normalize_text_repairs_legacy_and_flags_it() -> None:
    result = normalize_text("Céng hoµ x· héi chñ nghÜa ViÖt Nam")
    assert result == NormalizedText("Cộng hòa xã hội chủ nghĩa Việt Nam", False, "tcvn3")


def test_normalize_text_flags_unaccented() -> None:
    assert normalize_text("  nha toi bi mat trom xe may ").no_diacritics is True


def test_results_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        normalize_text("a").text = "b"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        decode_bytes(b"a").encoding = "vni"  # type: ignore[misc]


@settings(max_examples=300)
@given(st.text())
def test_normalize_text_idempotent_and_clean(text: str) -> None:
    once = normalize_text(text).text
    assert normalize_text(once).text == once
    assert all(c in "\n\t" or unicodedata.category(c) != "Cc" for c in once)
    assert unicodedata.is_normalized("NFC", once)


_NOISE = st.sampled_from(
    (" ", " ", "  ", "\t", "\u00a0", "\u200b", "\ufeff", "\r\n", "\n\n\n", ", ", ". ")
)


@st.composite
def noisy_petitions(draw: st.DrawFn) -> str:
    """Vietnamese syllables joined by spaces, line breaks and invisible characters."""
    words = draw(st.lists(st.sampled_from(SYLLABLES), min_size=1, max_size=30))
    text = draw(_NOISE) + words[0]
    for word in words[1:]:
        text += draw(_NOISE) + word
    return text + draw(_NOISE)


@given(noisy_petitions())
def test_accents_are_never_stripped(text: str) -> None:
    result = normalize_text(text)
    expected = strip_invisible(unicodedata.normalize("NFC", text))
    assert fold_diacritics(result.text) == fold_diacritics(expected)
    assert has_diacritics(result.text) == has_diacritics(expected)
    assert result.legacy_encoding is None
    assert normalize_text(result.text).text == result.text


@given(noisy_petitions())
def test_decomposed_input_normalizes_like_composed(text: str) -> None:
    decomposed = unicodedata.normalize("NFD", text)
    assert normalize_text(decomposed).text == normalize_text(text).text
