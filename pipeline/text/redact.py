"""Personal data in petition texts: finding it (names, phones, ID numbers, ...) and redacting it.

The Law on Denunciation (Luật Tố cáo 2018) requires a denouncer's identity to be kept secret and
Decree 13/2023/NĐ-CP protects personal data, so roles that may not see personal data get text in
which every span found here is replaced by a placeholder.

Everything except person names is found by precompiled regular expressions. Person names come
from honorific patterns ("ông Nguyễn Văn Hòa", "Tôi tên là ...") plus underthesea's named-entity
recogniser, which is loaded on first use and is by far the slowest part; bulk paths can pass
``use_ner=False``. Village and commune names ("thôn Tân Mỹ, xã Vĩnh Giang") are areas used for
statistics and are deliberately left alone; only the house-level part of an address is redacted.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from pipeline.intake.normalize import fold_diacritics

__all__ = [
    "HIDDEN_SENDER",
    "PII_KINDS",
    "PLACEHOLDERS",
    "PiiSpan",
    "SpanMismatchError",
    "UnknownPiiKindError",
    "find_pii",
    "hidden_file_name",
    "redact",
    "redact_metadata",
    "redact_record",
]

logger = logging.getLogger(__name__)

PLACEHOLDERS: dict[str, str] = {
    "person": "[HỌ TÊN]",
    "phone": "[SĐT]",
    "id_number": "[CCCD]",
    "email": "[EMAIL]",
    "bank_account": "[SỐ TÀI KHOẢN]",
    "address": "[ĐỊA CHỈ]",
    "plate": "[BIỂN SỐ]",
}
PII_KINDS: tuple[str, ...] = tuple(PLACEHOLDERS)
HIDDEN_SENDER = "[ẨN]"


class UnknownPiiKindError(ValueError):
    """A kind of personal data that this module does not know."""


class SpanMismatchError(ValueError):
    """A span whose offsets do not point at its own text in the text being redacted."""


@dataclass(frozen=True)
class PiiSpan:
    """One piece of personal data: offsets into the text, its kind and the covered text."""

    start: int
    end: int
    kind: str
    text: str


# --------------------------------------------------------------------------- letters


def _letter_classes() -> tuple[str, str]:
    # Python's re has no \p{Lu}; Vietnamese letters are spelled out instead.
    lower = set("abcdefghijklmnopqrstuvwxyzđ")
    for base in "aăâeêioôơuưy":
        for mark in ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"):
            lower.add(unicodedata.normalize("NFC", base + mark))
    upper = {char.upper() for char in lower}
    return "".join(sorted(upper)), "".join(sorted(lower | upper))


_UPPER, _LETTER = _letter_classes()

# Capitalised words that start titles, organisations, places or sentences, never a name; a name
# stops before them ("ông Chủ tịch", "bà Lài Thôn 3", "anh Tư Tôi ...").
_NOT_NAME_WORDS = (
    "chủ, phó, trưởng, bí thư, giám đốc, cán bộ, công an, công ty, công văn, cựu, thôn, xóm, xã, "
    "huyện, tỉnh, thị xã, thị trấn, thành phố, tp, quận, phường, ấp, bản, làng, buôn, khóm, "
    "sóc, khu, tổ, ubnd, hđnd, mttq, ủy, uỷ, ban, đảng, nhà, sở, phòng, trạm, bệnh, hội, đội, "
    "đường, phố, ngõ, ngách, hẻm, kiệt, số, tôi, chúng, cơ quan, viện, tòa, toà, ca, đài, báo, "
    "cộng, độc, kính gửi, và, sđt, đt, cccd, cmnd, stk, email, sinh năm, sinh ngày, địa chỉ, "
    "địa chính, trú, ngày, tháng, hiện nay, hiện đang, nay, là, đã, có, không, đề nghị, xin, "
    "người, các, những, cùng, cũng, thì, mà, nhưng, vì, do, tại, ở, về, theo, được, bị, thửa, "
    "tờ, lô, quốc lộ, tỉnh lộ, chùa, đền, nhóm, gia đình, họ, ngân hàng, quyết định, thanh tra, "
    "cty, mục sư, linh mục, bác sĩ, thầy, cha xứ, sư thầy, đại đức, thượng tọa, hòa thượng, "
    "ni sư, ni cô, sư cô, ông, bà, anh, chị, em, cháu, cụ, cô, chú, bác, dì, mợ, thím, thằng"
).split(", ")


def _stop_pattern(words: Iterable[str]) -> str:
    return ("(?i:" + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
            + r")(?![\w'])")


_STOP = _stop_pattern(_NOT_NAME_WORDS)
_STOP_RE = re.compile(_STOP)
_NAME_SYLLABLE = rf"(?!{_STOP})[{_UPPER}][{_LETTER}]*(?:'[{_LETTER}]+)?(?![\w'])"
# Up to five syllables: four is the usual maximum but names like "Tôn Nữ Thị Minh Hằng" exist.
_NAME = rf"{_NAME_SYLLABLE}(?:[ \t]+{_NAME_SYLLABLE}){{0,4}}"

# --------------------------------------------------------------------------- person names

_HONORIFICS = (
    "ông bà",
    "vợ chồng",
    "anh chị",
    "cô chú",
    "ông",
    "bà",
    "anh",
    "chị",
    "em",
    "cháu",
    "cụ",
    "cô",
    "chú",
    "bác",
    "dì",
    "cậu",
    "mợ",
    "thím",
    "dượng",
    "đồng chí",
    "đ/c",
    "thầy",
    "bác sĩ",
    "linh mục",
    "mục sư",
    "cha xứ",
    "sư thầy",
    "đại đức",
    "thượng tọa",
    "hòa thượng",
    "ni sư",
    "ni cô",
    "sư cô",
    # Words a denunciation uses for the accused: "thằng Khoa", "một người tên Phong".
    "thằng",
    "mụ",
    "lão",
    "tên",
)
_COUPLES = frozenset(("ông bà", "vợ chồng", "anh chị", "cô chú"))


def _honorific_pattern(honorifics: Iterable[str]) -> str:
    return (r"(?<![\w/])(?P<hon>(?i:"
            + "|".join(re.escape(h) for h in sorted(set(honorifics), key=len, reverse=True))
            + rf"))[ \t]+(?P<name>{_NAME})")


_HONORIFIC_RE = re.compile(_honorific_pattern(_HONORIFICS))
# The second name of a couple: "vợ chồng Nguyễn Văn A và Trần Thị B".
_SECOND_NAME_RE = re.compile(rf"[ \t]*(?:,|và|với)[ \t]+(?P<name>{_NAME})")
_SELF_NAMED_RE = re.compile(
    r"(?<![\w])(?i:tôi tên là|tên tôi là|tôi là|tôi,|họ và tên|họ tên|"
    r"người (?:làm|viết|gửi|đứng) đơn|người (?:bị )?(?:tố cáo|khiếu nại|kiến nghị|phản ánh)|"
    r"người đại diện|tố cáo|tố giác)(?:[ \t]*:)?[ \t]*(?P<name>" + _NAME + ")"
)
# A capitalised honorific in these pairs is part of a place name, not a title.
_PLACE_PAIRS = frozenset(
    (
        "bà rịa, bà đen, bà chiểu, bà điểm, bà triệu, bà trưng, bà huyện, bà quẹo, bà hom, "
        "ông lãnh, ông ích, cô tô, cô giang, cô bắc"
    ).split(", ")
)
# A word right before a name-like phrase that makes it a place ("tỉnh Bà Rịa", "xã Vĩnh Giang").
_PLACE_WORDS = frozenset(
    (
        "thôn xóm xã phường quận huyện tỉnh phố đường ấp bản làng buôn khu tổ ngõ ngách hẻm "
        "kiệt chùa đình đền miếu cầu chợ sông suối núi hồ đèo trường viện tp trấn khóm sóc plei "
        "kênh rạch bến cảng ty lộ xứ họ hàng đảo vịnh biển rừng đồi bãi đồng lăng thất nước "
        "tnhh chlb dịp mùa tràn đạo"
    ).split()
)
_LAST_WORD_RE = re.compile(r"([\w/.]+)[ \t,]*$")
# The word right before, in the same clause (only spaces between).
_PREVIOUS_WORD_RE = re.compile(r"(\w+)[ \t]+$")

# --------------------------------------------------------------------------- phones, IDs, mail

_PHONE_PREFIX = r"(?:\(\+?84\)[ ]?|\+84[ .\-]?|84|0)"
_DIGIT_EDGE_BEFORE = r"(?<![\w+])(?<!\d[.,\-/])"
_DIGIT_EDGE_AFTER = r"(?![\w])(?![.,\-/]\d)"
# Mobiles have ten digits (0 + 9); landlines since 2017 eleven (02 + area + number); 01x
# mobiles were renumbered in 2018 but still appear in old petitions.
_MOBILE_RE = re.compile(
    rf"{_DIGIT_EDGE_BEFORE}{_PHONE_PREFIX}[35789](?:[ .\-]?\d){{8}}" + _DIGIT_EDGE_AFTER
)
_LANDLINE_RE = re.compile(
    rf"{_DIGIT_EDGE_BEFORE}{_PHONE_PREFIX}[12](?:[ .\-]?\d){{9}}" + _DIGIT_EDGE_AFTER
)

_ID_KEYWORD = (
    r"(?i:căn cước(?: công dân)?|cccd|cmnd|cmtnd|cmt|chứng minh(?: nhân dân| thư)?|"
    r"(?:số|mã) định danh(?: cá nhân)?|hộ chiếu|passport)"
)
_ID_KEYWORD_RE = re.compile(rf"(?<!\w){_ID_KEYWORD}(?!\w)")
_ID_AFTER_KEYWORD_RE = re.compile(
    r"[^\d\n]{0,20}?"
    r"(?P<num>(?<![\w])(?:\d(?:[ .\-]?\d){11}|\d(?:[ .\-]?\d){8}|[A-Z]\d{7}"
    # Partly masked numbers ("092175xxxxxx") are still redacted: the digits left are real.
    r"|(?=[\dxX*]{12}(?![\w*])|[\dxX*]{9}(?![\w*]))\d{2,}[xX*]+\d*))" + _DIGIT_EDGE_AFTER
)
_MEASURE_WORDS = (r"(?i:đồng|đ|vnđ|vnd|m2|m²|m|ha|kg|tấn|lít|triệu|nghìn|ngàn|tỷ|tỉ|"
                  r"dong|d|tan|lit|trieu|nghin|ngan|ty|ti)(?!\w)")
# Alone, a run of 12 or 9 digits, or 12 digits written in the card's groups ("0380 1234 5678");
# dotted groups of three are amounts of money ("120.000.000.000").
_ID_ALONE_RE = re.compile(
    rf"(?<![\w.,\-/])(?:\d{{12}}|\d{{9}}|(?<!\d[ ])(?:\d{{4}}([ .])\d{{4}}\1\d{{4}}|"
    rf"\d{{3}} \d{{3}} \d{{3}} \d{{3}})(?![ .]\d)){_DIGIT_EDGE_AFTER}"
    rf"(?![ \t]*{_MEASURE_WORDS})"
)
_EMAIL_RE = re.compile(
    r"(?<![\w.+\-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]*[A-Za-z0-9_])?"
    r"@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}(?![\w@])"
)

_BANK_NAMES = (
    r"vietcombank|vcb|agribank|bidv|vietinbank|techcombank|mb ?bank|acb|sacombank|vpbank|"
    r"tpbank|shb|hdbank|vib|ocb|seabank|lienvietpostbank|lpbank|eximbank|msb|abbank|"
    r"bac ?a ?bank|nam ?a ?bank|pvcombank|kienlongbank|baovietbank|scb|shinhan ?bank|"
    r"oceanbank|gpbank|ncb|vietbank|saigonbank|pgbank|vietabank|bvbank|cake|timo|momo"
)
_BANK_KEYWORD = rf"(?i:số tài khoản|tài khoản|stk|số tk|tk số|ngân hàng|{_BANK_NAMES})"
_ACCOUNT_DIGITS = r"\d+(?:[.\-]\d+)*(?:[ ]\d{2,})*"
_BANK_KEYWORD_RE = re.compile(rf"(?<!\w){_BANK_KEYWORD}(?!\w)")
# Matched from the end of each keyword, so a rejected keyword never hides a later one.
_BANK_NUMBER_RE = re.compile(
    rf"(?P<gap>[^\d\n]{{0,40}}?)(?P<num>(?<![\w.\-]){_ACCOUNT_DIGITS}){_DIGIT_EDGE_AFTER}"
)
_BANK_AFTER_RE = re.compile(
    rf"(?<![\w.\-])(?P<num>{_ACCOUNT_DIGITS}){_DIGIT_EDGE_AFTER}"
    rf"(?=[ \t]*(?:[-,(:]|(?i:mở tại|tại|của))?[ \t]*(?i:ngân hàng|nh|{_BANK_NAMES})(?!\w))"
)
# Another label between a bank word and a number means the number is something else.
_OTHER_LABEL_RE = re.compile(r"sdt|dien thoai|\bdt\b|cccd|cmnd|can cuoc|chung minh|dinh danh")

# --------------------------------------------------------------------------- plates, addresses

_PLATE_RE = re.compile(
    r"(?<![\w.\-/])\d{2}[ \-]?[A-Z]{1,2}\d?[ \-.]?(?:\d{3}\.\d{2}|\d{4,5})" + _DIGIT_EDGE_AFTER
)

_HOUSE_NUMBER = r"[A-Za-z]?\d{1,5}[A-Za-z]?(?:[/\-][A-Za-z]?\d{1,5}[A-Za-z]?)*(?![\w/])"
_STREET_WORD = r"(?i:đường|phố|đại lộ|quốc lộ|tỉnh lộ)"
_STREET_NAME_PART = rf"(?:{_NAME_SYLLABLE}|\d{{1,3}}[A-Za-z]?(?:/\d{{1,2}})?(?![\w/]))"
# After a comma only a marked street counts: "số nhà 12, Tân Mỹ" names a village.
_STREET = (
    rf"(?:[ \t,]+{_STREET_WORD}[ \t]+(?:(?i:số)[ \t]*\d{{1,3}}(?![\w/])|"
    rf"{_STREET_NAME_PART}(?:[ \t]+{_STREET_NAME_PART}){{0,4}})"
    rf"|[ \t]+{_NAME_SYLLABLE}(?:[ \t]+{_NAME_SYLLABLE}){{0,4}})"
)
_LANE_WORD = r"(?i:số nhà|nhà số|căn hộ(?:[ \t]+số)?|ngõ|ngách|hẻm|kiệt)"
_ADDRESS_RE = re.compile(
    rf"(?<![\w/])(?:(?P<lane>{_LANE_WORD})|(?P<number>(?i:số)))[ \t]*{_HOUSE_NUMBER}"
    rf"(?:[ \t,]+(?:{_LANE_WORD}|(?i:số))[ \t]*{_HOUSE_NUMBER})*"
    rf"(?P<street>{_STREET})?"
)
_ADDRESS_CONTEXT_RE = re.compile(
    r"(?<!\w)(?i:địa chỉ|trú tại|thường trú(?: tại)?|tạm trú(?: tại)?|cư trú(?: tại)?|ngụ tại|"
    r"ở tại|nhà ở|nơi ở(?: hiện nay)?|hiện ở|sống tại|ở số)(?:[ \t]*:)?[ \t]*"
    rf"(?P<addr>{_HOUSE_NUMBER}{_STREET})"
)
# "số 12" after these is a document, land parcel or article number, not a house.
_DOCUMENT_WORDS = frozenset(
    (
        "định văn bản báo thư đơn điều khoản chương mục luật định thửa đồ tờ sổ giấy hồ sơ "
        "biên hiệu phiếu lần tập trang kỳ khóa xe"
    ).split()
)

# --------------------------------------------------------------------------- text without marks


def _fold_table() -> dict[int, str]:
    # Each Vietnamese letter to its base letter, case kept: one character for one, so offsets
    # found in the folded copy are offsets in the text itself.
    table = {ord("đ"): "d", ord("Đ"): "D"}
    for char in _LETTER:
        parts = unicodedata.normalize("NFD", char)
        base = "".join(c for c in parts if not unicodedata.combining(c))
        if len(base) == 1 and base != char:
            table[ord(char)] = base
    return table


_FOLD_TABLE = _fold_table()
_WORD_LETTERS_RE = re.compile(r"[^\W\d_]+")


def _fold_keep_case(text: str) -> str:
    return text.translate(_FOLD_TABLE)


@dataclass(frozen=True)
class _Lexicon:
    """The patterns and word lists that depend on how Vietnamese words are spelled."""

    honorific: re.Pattern[str]
    self_named: re.Pattern[str]
    second_name: re.Pattern[str]
    couples: frozenset[str]
    place_pairs: frozenset[str]
    place_words: frozenset[str]
    id_keyword: re.Pattern[str]
    id_alone: re.Pattern[str]
    bank_keyword: re.Pattern[str]
    bank_number: re.Pattern[str]
    bank_after: re.Pattern[str]
    address: re.Pattern[str]
    address_context: re.Pattern[str]
    document_words: frozenset[str]

    def folded(self) -> _Lexicon:
        """Return the same lexicon for text typed without diacritics ("ong", "so 12 duong").

        Folding merges words: "thì" and "Thị", "phường" and "Phương", "đi" and "dì" become one.
        Words whose folded form is a common name syllable are dropped from the words that stop
        a name, and "đi", "mù" are not taken for the honorifics "dì", "mụ".
        """
        stop = _stop_pattern([
            *(w for w in map(_fold_keep_case, _NOT_NAME_WORDS)
              if " " in w or w not in _FOLDED_NAME_SYLLABLES),
            *_FOLDED_TITLES,
        ])
        honorific = _honorific_pattern(
            h for h in map(_fold_keep_case, _HONORIFICS) if h not in _FOLDED_NOT_HONORIFICS
        )
        values: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, re.Pattern):
                source = honorific if item.name == "honorific" else value.pattern
                source = _fold_keep_case(source.replace(_STOP, stop))
                values[item.name] = re.compile(source, value.flags)
            else:
                values[item.name] = frozenset(value | {_fold_keep_case(w) for w in value})
        return _Lexicon(**values)


# Folded stop words that are also name syllables ("thì"/"Thị", "đường"/"Dương", "báo"/"Bảo").
_FOLDED_NAME_SYLLABLES = frozenset(
    "thi ba ma do tai duoc ho duong phong tram hoi dai bao cong nhung cung vi chu thang chi "
    "chau phuong lang dang doi to la tu ca mo den chua so hien khu bac cu di lo ban tho sinh "
    "nam dinh truong ngo quan vien tinh uy".split()
)
_FOLDED_NOT_HONORIFICS = frozenset(("di", "mu"))
# Titles whose first word alone is also a name once folded ("Chu", "Truong").
_FOLDED_TITLES = (
    "chu tich, chu nhiem, chu ho, chu dau tu, truong thon, truong xom, truong ban, truong phong, "
    "truong cong an, truong tram, truong khu, pho chu tich"
).split(", ")


_ACCENTED = _Lexicon(
    honorific=_HONORIFIC_RE,
    self_named=_SELF_NAMED_RE,
    second_name=_SECOND_NAME_RE,
    couples=_COUPLES,
    place_pairs=_PLACE_PAIRS,
    place_words=_PLACE_WORDS,
    id_keyword=_ID_KEYWORD_RE,
    id_alone=_ID_ALONE_RE,
    bank_keyword=_BANK_KEYWORD_RE,
    bank_number=_BANK_NUMBER_RE,
    bank_after=_BANK_AFTER_RE,
    address=_ADDRESS_RE,
    address_context=_ADDRESS_CONTEXT_RE,
    document_words=_DOCUMENT_WORDS,
)
_FOLDED = _ACCENTED.folded()


def _unaccented_ranges(text: str) -> list[tuple[int, int]]:
    # Sentences typed (mostly) without marks: fewer than half of their words carry one, where
    # Vietnamese written with marks has most of its syllables marked.
    ranges: list[tuple[int, int]] = []
    for sentence in _SENTENCE_RE.finditer(text):
        words = _WORD_LETTERS_RE.findall(sentence.group())
        marked = sum(1 for w in words if _fold_keep_case(w) != w)
        if words and marked * 2 < len(words):
            ranges.append(sentence.span())
    return ranges


_CANDIDATE_PRIORITY = {
    "email": 0,
    "bank_account": 1,
    "id_number": 2,
    "phone": 3,
    "plate": 4,
    "address": 5,
    "person": 6,
}
_NER_PRIORITY = 7


# --------------------------------------------------------------------------- regex finders


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    kind: str
    priority: float


def _previous_word(text: str, start: int) -> str:
    match = _LAST_WORD_RE.search(text, max(0, start - 30), start)
    return match.group(1).lower().rstrip(".") if match else ""


def _person_candidates(text: str, lex: _Lexicon) -> Iterable[_Candidate]:
    priority = _CANDIDATE_PRIORITY["person"]
    for match in lex.honorific.finditer(text):
        honorific = match.group("hon")
        name_start, name_end = match.span("name")
        first = text[name_start:name_end].split()[0]
        if f"{honorific.lower()} {first.lower()}" in lex.place_pairs:
            continue
        # "tỉnh Bà Rịa", "đường Hai Bà Trưng": a capitalised honorific after a place word or
        # inside a longer proper name is part of that name.
        if honorific[0].isupper():
            before = _PREVIOUS_WORD_RE.search(text, max(0, match.start() - 30), match.start())
            if before is not None and (
                before.group(1)[0].isupper() or before.group(1).lower() in lex.place_words
            ):
                continue
        yield _Candidate(name_start, name_end, "person", priority)
        if honorific.lower() in lex.couples:
            second = lex.second_name.match(text, name_end)
            if second is not None:
                yield _Candidate(*second.span("name"), "person", priority)
    for match in lex.self_named.finditer(text):
        yield _Candidate(*match.span("name"), "person", priority)


def _phone_candidates(text: str, _lex: _Lexicon) -> Iterable[_Candidate]:
    priority = _CANDIDATE_PRIORITY["phone"]
    for pattern in (_MOBILE_RE, _LANDLINE_RE):
        for match in pattern.finditer(text):
            yield _Candidate(match.start(), match.end(), "phone", priority)


def _id_candidates(text: str, lex: _Lexicon) -> Iterable[_Candidate]:
    priority = _CANDIDATE_PRIORITY["id_number"]
    for keyword in lex.id_keyword.finditer(text):
        match = _ID_AFTER_KEYWORD_RE.match(text, keyword.end())
        if match is not None:
            yield _Candidate(*match.span("num"), "id_number", priority)
    for match in lex.id_alone.finditer(text):
        # A lone run that is also a phone number is left to the phone finder.
        yield _Candidate(match.start(), match.end(), "id_number", priority + 0.5)


def _bank_candidates(text: str, lex: _Lexicon) -> Iterable[_Candidate]:
    priority = _CANDIDATE_PRIORITY["bank_account"]
    for keyword in lex.bank_keyword.finditer(text):
        match = lex.bank_number.match(text, keyword.end())
        if match is None or _OTHER_LABEL_RE.search(fold_diacritics(match.group("gap"))):
            continue
        start, end = match.span("num")
        if 8 <= sum(c.isdigit() for c in text[start:end]) <= 19:
            yield _Candidate(start, end, "bank_account", priority)
    for match in lex.bank_after.finditer(text):
        start, end = match.span("num")
        if 8 <= sum(c.isdigit() for c in text[start:end]) <= 19:
            yield _Candidate(start, end, "bank_account", priority)


def _address_candidates(text: str, lex: _Lexicon) -> Iterable[_Candidate]:
    priority = _CANDIDATE_PRIORITY["address"]
    for match in lex.address.finditer(text):
        if match.group("lane") is None:
            # A bare "số 12" is a house only with a street after it and no document before it.
            if match.group("street") is None:
                continue
            if _previous_word(text, match.start()) in lex.document_words:
                continue
        yield _Candidate(match.start(), match.end(), "address", priority)
    for match in lex.address_context.finditer(text):
        yield _Candidate(*match.span("addr"), "address", priority)


def _simple_candidates(
    pattern: re.Pattern[str], kind: str
) -> Callable[[str, _Lexicon], Iterable[_Candidate]]:
    def find(text: str, _lex: _Lexicon) -> Iterable[_Candidate]:
        for match in pattern.finditer(text):
            yield _Candidate(match.start(), match.end(), kind, _CANDIDATE_PRIORITY[kind])

    return find


_Finder = Callable[[str, _Lexicon], Iterable[_Candidate]]
_REGEX_FINDERS: tuple[_Finder, ...] = (
    _simple_candidates(_EMAIL_RE, "email"),
    _bank_candidates,
    _id_candidates,
    _phone_candidates,
    _simple_candidates(_PLATE_RE, "plate"),
    _address_candidates,
    _person_candidates,
)
# The finders whose patterns hold words, run again on text typed without marks.
_LEXICAL_FINDERS: tuple[_Finder, ...] = (
    _bank_candidates, _id_candidates, _address_candidates, _person_candidates,
)

# --------------------------------------------------------------------------- NER


def _ner() -> Callable[[str], list[tuple[str, ...]]]:
    # Loaded on first use, under the one lock of every underthesea model: a thread calling
    # while another loads it would meet a half-built tagger.
    from pipeline.text.tokenize import underthesea_tool

    return underthesea_tool("ner")


def _fold_char(char: str) -> str:
    folded = fold_diacritics(char)
    return folded if len(folded) == 1 else char.lower()


def _fold_same_length(text: str) -> str:
    # underthesea rewrites some spellings ("Hoà" becomes "Hòa"), so tokens are located in a
    # folded copy that keeps every offset of the original.
    return "".join(_fold_char(char) for char in text)


_HONORIFIC_WORDS = frozenset(h for h in _HONORIFICS if " " not in h and "/" not in h)
_UPPER_SET = frozenset(_UPPER)
_NER_CACHE_SIZE = 20_000
# Sentences end at a line break or at ".!?;…" followed by a space ("0912.345.678" and
# "TP.Huế" stay whole).
_SENTENCE_RE = re.compile(r"(?:[^\n.!?;…]|[.!?;…](?!\s))+[.!?;…]*")
_INNER_CAPITAL_RE = re.compile(rf"[\w,)\]\"”'][ \t]+[{_UPPER}]")
_NAME_BREAK_RE = re.compile(r"[^\w\s'\-]|\d|_")
_WORD_RE = re.compile(r"\S+")
_VOWEL_RE = re.compile("[" + "".join(c for c in _LETTER if fold_diacritics(c) in "aeiouy") + "]")
# Names of the sacred are not personal data ("A Di Đà Phật", "Đức Chúa Trời").
_SACRED_WORDS = frozenset("phật chúa trời thánh".split())
# Sentence openers the recogniser sometimes takes for a one-word name.
_NER_NOT_NAMES = frozenset(
    "dạ vâng alo thưa kính mô răng rứa chừ ừ ờ mục sư trấu xin chào cảm tm kt cty thánh "
    "toi i'm kinh tin tết phật chúa khẩn xuân".split()
)


def _locate_tokens(folded: str, tokens: Sequence[str]) -> list[tuple[int, int] | None]:
    # Offsets of each token's syllables in the (folded) sentence; None for a token not found.
    located: list[tuple[int, int] | None] = []
    cursor = 0
    for token in tokens:
        syllables = token.split()
        if not syllables:
            located.append(None)
            continue
        position = cursor
        start = end = -1
        for index, syllable in enumerate(syllables):
            found = folded.find(_fold_same_length(syllable), position)
            # Syllables of one token are separated by spaces only; a token is never far away.
            if found < 0 or (index and folded[position:found].strip()) or found - cursor > 40:
                start = -1
                break
            if index == 0:
                start = found
            end = position = found + len(syllable)
        if start < 0:
            located.append(None)
            continue
        located.append((start, end))
        cursor = end
    return located


def _plausible_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    # Cut at punctuation ("Nguyễn Văn A. Kính" is a name and the next sentence), trim a
    # leading honorific, then keep only capitalised names that do not follow a place word.
    cut = _NAME_BREAK_RE.search(text, start, end)
    if cut is not None:
        end = cut.start()
    words = [(m.start(), m.group()) for m in _WORD_RE.finditer(text, start, end)]
    while len(words) > 1 and words[0][1].lower() in _HONORIFIC_WORDS:
        words = words[1:]
    if not words:
        return None
    start, first = words[0]
    end = words[-1][0] + len(words[-1][1])
    if len(words) == 1 and len(first) == 1:
        return None
    # All-capital spans are headings ("KHẨN CẤP"); names in capitals come after labels.
    if all(word.isupper() for _, word in words):
        return None
    if first.lower() in _NER_NOT_NAMES or any(w.lower() in _SACRED_WORDS for _, w in words):
        return None
    for _, word in words:
        # Acronyms ("VP", "HTX", "ĐKĐĐ") have no vowel; no Vietnamese syllable lacks one.
        if word[0] not in _UPPER_SET or (len(word) > 1 and not _VOWEL_RE.search(word)):
            return None
    before = _previous_word(text, start)
    if _STOP_RE.match(text, start) or before in _PLACE_WORDS:
        return None
    # "chợ Ông Lãnh": the recogniser sees a name after a capitalised honorific.
    if f"{before} {first.lower()}" in _PLACE_PAIRS:
        return None
    return start, end


@lru_cache(maxsize=_NER_CACHE_SIZE)
def _tagged_person_spans(sentence: str) -> tuple[tuple[int, int], ...]:
    # Offsets of the recogniser's person entities in one sentence. Cached because headers and
    # closing formulas repeat across petitions and the recogniser costs ~0.5 ms per word.
    tagged = _ner()(sentence)
    tokens = [str(item[0]) for item in tagged]
    tags = [str(item[-1]) for item in tagged]
    located = _locate_tokens(_fold_same_length(sentence), tokens)
    found: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for tag, where in zip([*tags, "O"], [*located, None], strict=True):
        if tag == "I-PER" and current is not None and where is not None:
            current = (current[0], where[1])
            continue
        if current is not None:
            found.append(current)
            current = None
        if tag in ("B-PER", "I-PER") and where is not None:
            current = where
    return tuple(found)


def _ner_candidates(text: str) -> Iterable[_Candidate]:
    for sentence in _SENTENCE_RE.finditer(text):
        # A name that is not a single word at the start of a sentence puts a capital letter
        # inside it; sentences without one are not worth the recogniser's time.
        if _INNER_CAPITAL_RE.search(sentence.group()) is None:
            continue
        try:
            spans = _tagged_person_spans(sentence.group())
        except Exception as error:  # noqa: BLE001 - one odd sentence must not stop redaction
            # Only the error type: the sentence itself is personal data.
            logger.warning("NER failed on a sentence (%s); regex spans only", type(error).__name__)
            continue
        offset = sentence.start()
        for start, end in spans:
            kept = _plausible_name(text, start + offset, end + offset)
            if kept is not None:
                yield _Candidate(kept[0], kept[1], "person", _NER_PRIORITY)


# --------------------------------------------------------------------------- resolution


def _merge_same_kind(candidates: list[_Candidate]) -> list[_Candidate]:
    # Overlapping spans of one kind become their union, so no part of a name is left out.
    merged: list[_Candidate] = []
    by_kind: dict[str, list[_Candidate]] = {}
    for candidate in candidates:
        by_kind.setdefault(candidate.kind, []).append(candidate)
    for group in by_kind.values():
        group.sort(key=lambda c: (c.start, c.end))
        current = group[0]
        for candidate in group[1:]:
            if candidate.start < current.end:
                current = _Candidate(
                    current.start,
                    max(current.end, candidate.end),
                    current.kind,
                    min(current.priority, candidate.priority),
                )
            else:
                merged.append(current)
                current = candidate
        merged.append(current)
    return merged


def _resolve(text: str, candidates: list[_Candidate]) -> list[PiiSpan]:
    if not candidates:
        return []
    merged = _merge_same_kind(candidates)
    # Across kinds the longest span wins; on equal length the more specific kind does.
    merged.sort(key=lambda c: (c.start - c.end, c.priority, c.start))
    taken: list[_Candidate] = []
    for candidate in merged:
        if all(candidate.end <= other.start or candidate.start >= other.end for other in taken):
            taken.append(candidate)
    taken.sort(key=lambda c: c.start)
    return [PiiSpan(c.start, c.end, c.kind, text[c.start : c.end]) for c in taken]


def _regex_candidates(text: str) -> list[_Candidate]:
    found = [candidate for finder in _REGEX_FINDERS for candidate in finder(text, _ACCENTED)]
    ranges = _unaccented_ranges(text)
    if ranges:
        # Sentences typed without marks are searched again in a folded copy of the text (same
        # offsets) with the folded words: "Toi ten la ...", "ong ...", "so 12 duong ...".
        folded = _fold_keep_case(text)
        for finder in _LEXICAL_FINDERS:
            found.extend(c for c in finder(folded, _FOLDED)
                         if any(start <= c.start < end for start, end in ranges))
    return found


def _name_occurrences(text: str, name: str) -> Iterable[_Candidate]:
    words = name.split()
    if not words or sum(len(word) for word in words) < 3:
        return
    # Searched in folded copies, so "Nguyen Thi Hoa" is found for the sender "Nguyễn Thị Hoa".
    pattern = re.compile(
        r"(?<!\w)" + r"\s+".join(re.escape(_fold_keep_case(word)) for word in words) + r"(?!\w)",
        re.IGNORECASE,
    )
    for match in pattern.finditer(_fold_keep_case(text)):
        yield _Candidate(match.start(), match.end(), "person", _CANDIDATE_PRIORITY["person"])


# --------------------------------------------------------------------------- public API


def find_pii(text: str, *, use_ner: bool = True) -> list[PiiSpan]:
    """Return the personal-data spans of a text, sorted by start and never overlapping.

    Each span's offsets point into ``text`` itself (``text[s.start:s.end] == s.text``). Person
    spans cover the name only, never the honorific before it. ``use_ner=False`` skips
    underthesea's recogniser: names are then found only after honorifics and labels.
    """
    candidates = _regex_candidates(text)
    if use_ner:
        candidates.extend(_ner_candidates(text))
    return _resolve(text, candidates)


def _check_kinds(kinds: Collection[str] | None) -> frozenset[str]:
    if kinds is None:
        return frozenset(PLACEHOLDERS)
    unknown = sorted(set(kinds) - set(PLACEHOLDERS))
    if unknown:
        raise UnknownPiiKindError(
            f"unknown personal-data kind(s) {unknown}; expected some of {list(PII_KINDS)}"
        )
    return frozenset(kinds)


def redact(
    text: str,
    spans: Sequence[PiiSpan] | None = None,
    *,
    kinds: Collection[str] | None = None,
) -> str:
    """Return the text with personal-data spans replaced by their placeholders ("[SĐT]", ...).

    Without ``spans`` the text is searched with ``find_pii`` (NER included). ``kinds`` limits
    the replacement to some kinds. Raises UnknownPiiKindError for an unknown kind and
    SpanMismatchError when a span's offsets do not point at its text (spans of another text).
    """
    wanted = _check_kinds(kinds)
    if spans is None:
        spans = find_pii(text)
    chosen = sorted((s for s in spans if s.kind in wanted), key=lambda s: (s.start, s.end))
    pieces: list[str] = []
    cursor = len(text)
    # Right to left, so the offsets of the spans still to replace stay valid.
    for span in reversed(chosen):
        if span.kind not in PLACEHOLDERS:
            raise UnknownPiiKindError(f"span of unknown kind {span.kind!r}")
        if text[span.start : span.end] != span.text or span.start < 0:
            raise SpanMismatchError(
                f"span {span.start}-{span.end} ({span.kind}) does not match the text"
            )
        if span.end > cursor:
            # Overlaps the span already replaced to its right; that one covered this part.
            continue
        pieces.append(text[span.end : cursor])
        pieces.append(PLACEHOLDERS[span.kind])
        cursor = span.start
    pieces.append(text[:cursor])
    return "".join(reversed(pieces))


def _redact_field(value: Any, *, use_ner: bool, sender_name: str | None) -> Any:
    if not isinstance(value, str) or not value:
        return value
    candidates = _regex_candidates(value)
    if use_ner:
        candidates.extend(_ner_candidates(value))
    if sender_name:
        candidates.extend(_name_occurrences(value, sender_name))
    return redact(value, _resolve(value, candidates))


def hidden_file_name(name: str) -> str:
    """Return a file name with everything but a short extension hidden ("[ẨN].docx").

    File names are typed by people and often carry the sender ("Đơn tố cáo - Nguyễn Thị Hoa -
    0912345678.docx"), so roles that may not see personal data get the extension only.
    """
    suffix = PurePath(name).suffix
    return HIDDEN_SENDER + (suffix if suffix[1:].isalnum() and len(suffix) <= 6 else "")


def redact_metadata(value: str) -> str:
    """Return a short metadata value (an office number, a channel) with personal data replaced.

    The regular expressions only, searched with and without diacritics: such values are too
    short for the recogniser.
    """
    return redact(value, _resolve(value, _regex_candidates(value)))


def redact_record(
    record: Mapping[str, Any], *, hide_sender: bool, use_ner: bool = True,
    hide_metadata: bool = False,
) -> dict[str, Any]:
    """Return a copy of a petition dict with personal data in its texts replaced by placeholders.

    ``text`` and ``text_raw`` are redacted (with NER unless ``use_ner=False``), ``area_raw`` with
    the regular expressions only (short area strings give the recogniser no context). The
    sender's own name is also redacted wherever it appears in those texts. With
    ``hide_sender`` (denunciations, for every role but officer/admin) a present sender_name and
    sender_contact become "[ẨN]"; otherwise they are left as they are.

    With ``hide_metadata`` the free text that came with the petition is treated as personal
    data too: ``source_file`` keeps only its extension, ``external_id`` and the values of
    ``extra["columns"]`` (columns that map to no field, such as "CCCD người gửi") become "[ẨN]",
    and ``channel`` is redacted.
    """
    copy = dict(record)
    sender_name = record.get("sender_name")
    sender = sender_name if isinstance(sender_name, str) and sender_name.strip() else None
    for field_name in ("text", "text_raw"):
        if field_name in copy:
            copy[field_name] = _redact_field(copy[field_name], use_ner=use_ner, sender_name=sender)
    if "area_raw" in copy:
        copy["area_raw"] = _redact_field(copy["area_raw"], use_ner=False, sender_name=sender)
    if hide_sender:
        for field_name in ("sender_name", "sender_contact"):
            if copy.get(field_name):
                copy[field_name] = HIDDEN_SENDER
    if hide_metadata:
        _hide_metadata(copy)
    return copy


def _hide_metadata(copy: dict[str, Any]) -> None:
    if isinstance(copy.get("source_file"), str) and not copy["source_file"].startswith("api:"):
        copy["source_file"] = hidden_file_name(copy["source_file"])
    if copy.get("external_id"):
        copy["external_id"] = HIDDEN_SENDER
    if isinstance(copy.get("channel"), str):
        copy["channel"] = redact_metadata(copy["channel"])
    extra = copy.get("extra")
    if isinstance(extra, Mapping):
        extra = dict(extra)
        columns = extra.get("columns")
        if isinstance(columns, Mapping):
            extra["columns"] = {k: None if v is None else HIDDEN_SENDER for k, v in columns.items()}
        for key in ("source_type_raw", "meeting"):
            if isinstance(extra.get(key), str):
                extra[key] = redact_metadata(extra[key])
        copy["extra"] = extra
