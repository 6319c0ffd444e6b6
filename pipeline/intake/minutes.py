"""Split meeting minutes (biên bản tiếp xúc cử tri, đối thoại) into one statement per speaker."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from pipeline.intake.dates import DateError, parse_day
from pipeline.intake.normalize import fold_diacritics

# Citizens are introduced by an honorific and a name; officials by "đồng chí" or a title.
_HONORIFIC = r"(?:ông|bà|anh|chị|cụ|cô|chú|bác|em|cử tri|đ/c|đồng chí|đ\.c)"
_SPEAKER = re.compile(
    rf"^\s*(?:[-–•+*]\s*|\d{{1,3}}[.)]\s*|[a-zđ][.)]\s*)?"
    rf"(?P<honorific>{_HONORIFIC})\s+(?P<name>[A-ZĐÀ-Ỹ][\wÀ-ỹ]*(?:\s+[A-ZĐÀ-Ỹ][\wÀ-ỹ]*){{0,4}})"
    r"(?P<rest>[^:]{0,160}?):\s*(?P<text>.*)$",
    re.IGNORECASE,
)
_VILLAGE = re.compile(
    r"(?P<unit>thôn|xóm|bản|ấp|làng|tổ dân phố|khu phố|tổ|khóm|buôn|plei|sóc)\s+"
    r"(?P<name>[\wÀ-ỹ0-9]+(?:\s+[A-ZĐÀ-Ỹ0-9][\wÀ-ỹ]*){0,3})",
    re.IGNORECASE,
)
_OFFICIAL_WORDS = (
    "chu tich", "pho chu tich", "bi thu", "truong ban", "truong cong an", "cong chuc",
    "can bo", "dai bieu", "dong chi", "d/c", "lanh dao", "giam doc", "truong phong",
    "dia chinh", "uy vien",
)
_RESPONSE_VERBS = ("tra loi", "giai trinh", "tiep thu", "thay mat", "phat bieu tiep thu")
_RESPONSE_SECTION = re.compile(
    r"^\s*(?:[IVX]+[.)]|\d+[.)])?\s*(?:ý kiến\s+)?(?:trả lời|giải trình|tiếp thu|phát biểu"
    r"\s+(?:tiếp thu|kết luận)|kết luận)",
    re.IGNORECASE,
)
_CITIZEN_SECTION = re.compile(
    r"^\s*(?:[IVX]+[.)]|\d+[.)])?\s*(?:ý kiến|kiến nghị|phản ánh|nội dung)[^:]{0,60}"
    r"(?:cử tri|nhân dân|công dân|người dân)",
    re.IGNORECASE,
)
# Where a date is written; reading it is parse_day's.
_DATE = re.compile(r"ngay\s*(\d{1,2})\s*(?:thang\s*|/)(\d{1,2})\s*(?:nam\s*|/)(\d{4})")
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_PLACE = re.compile(r"^\s*(?:địa điểm|tại)\s*:\s*(?P<place>.+)$", re.IGNORECASE | re.MULTILINE)
# "…, tại Nhà văn hóa thôn Tùng Luật, xã Vĩnh Giang, …" in the opening prose ("hiện tại" is no
# place).
_PROSE_PLACE = re.compile(r"(?<![\w])(?<!hiện )tại\s+(?P<place>[^;:\n]+)", re.IGNORECASE)
# A full stop ends the sentence unless it closes an abbreviated unit ("TP. Đông Hà").
_SENTENCE_END = re.compile(
    r"(?<!\btp)(?<!\btx)(?<!\btt)(?<!\b[txphq])\.(?:\s|$)", re.IGNORECASE
)
_PLACE_UNITS = (
    "thon", "xom", "ban ", "ap ", "lang", "to ", "khu", "khom", "buon", "xa ", "phuong",
    "thi tran", "thi xa", "huyen", "quan", "tinh", "thanh pho", "tp", "dac khu", "so ", "duong",
)
# Lines that close the minutes: the end of the meeting, the record's own wording, signatures.
_CLOSING = re.compile(
    r"^(?:(?:hoi nghi|cuoc hop|cuoc tiep xuc|buoi tiep xuc|buoi doi thoai|buoi lam viec"
    r"|phien hop)\b.*\bket thuc"
    r"|bien ban(?: nay)? (?:duoc|da duoc|ket thuc|lap xong|gom)"
    r"|\(?\s*(?:da ky|ky,? ghi ro ho ten|ky ten|ky va ghi ro)\b)"
)
_SIGNATURE_TITLES = re.compile(
    r"^(?:thu ky|chu toa|nguoi ghi bien ban|nguoi lap bien ban|dai dien|xac nhan)"
    r"(?:\s+(?:hoi nghi|cuoc hop|ubnd|ub mttq|mttq|cu tri).*)?[.:]?$"
)


@dataclass(frozen=True)
class Statement:
    """What one person said at the meeting; officials' answers carry is_response=True."""

    speaker: str
    text: str
    is_response: bool
    village: str | None
    line: int


@dataclass(frozen=True)
class Minutes:
    """A parsed biên bản: its title, date, place and statements in order."""

    title: str | None
    meeting_date: date | None
    place: str | None
    statements: list[Statement] = field(default_factory=list)


def looks_like_minutes(text: str) -> bool:
    """Return True when a document reads like meeting minutes with speakers' statements."""
    head = fold_diacritics(text[:3000])
    if "bien ban" not in head and "tiep xuc cu tri" not in head and "doi thoai" not in head:
        return False
    speakers = sum(1 for line in text.splitlines() if _SPEAKER.match(line))
    return speakers >= 2


def split_minutes(text: str) -> Minutes:
    """Return the statements of a biên bản, continuation lines joined to their speaker."""
    lines = text.splitlines()
    title = _title(lines)
    place_match = _PLACE.search(text)
    place = place_match.group("place").strip().rstrip(".") if place_match else None
    if place is None:
        place = _prose_place(lines)
    statements: list[Statement] = []
    in_answers = False
    current: dict[str, object] | None = None

    def flush() -> None:
        if current and str(current["text"]).strip():
            statements.append(Statement(**current))  # type: ignore[arg-type]

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if _RESPONSE_SECTION.match(line) and not _SPEAKER.match(line):
            flush()
            current, in_answers = None, True
            continue
        if _CITIZEN_SECTION.match(line) and not _SPEAKER.match(line):
            flush()
            current, in_answers = None, False
            continue
        match = _SPEAKER.match(line)
        if not match and _is_closing(line):
            # Nothing after the closing formula belongs to the last speaker.
            flush()
            current = None
            continue
        if match:
            flush()
            honorific = match.group("honorific")
            rest = match.group("rest")
            name = " ".join(match.group("name").split())
            intro = f"{honorific} {name}{rest}"
            village_match = _VILLAGE.search(rest)
            village = (
                f"{village_match.group('unit').lower()} {village_match.group('name')}"
                if village_match else None
            )
            current = {
                "speaker": f"{honorific.capitalize()} {name}",
                "text": match.group("text").strip(),
                "is_response": in_answers or _is_official(intro),
                "village": village,
                "line": number,
            }
            continue
        if current is not None and not _is_heading(line):
            current["text"] = f"{current['text']}\n{line.strip()}".strip()
    flush()
    return Minutes(title, _meeting_date(text), place, statements)


def _is_closing(line: str) -> bool:
    """Return True for a line that ends the meeting record or starts its signatures."""
    folded = fold_diacritics(line.strip())
    return bool(_CLOSING.match(folded) or _SIGNATURE_TITLES.match(folded))


def _prose_place(lines: list[str]) -> str | None:
    """Return the place written as "tại …" in the opening paragraph, up to the clause end."""
    for line in lines:
        if _SPEAKER.match(line) or _CITIZEN_SECTION.match(line) or _RESPONSE_SECTION.match(line):
            return None  # the opening paragraph is over
        match = _PROSE_PLACE.search(line)
        if match is None:
            continue
        sentence = _SENTENCE_END.split(match.group("place"), maxsplit=1)[0]
        pieces = [p.strip() for p in sentence.split(",")]
        kept = [pieces[0]]
        for piece in pieces[1:]:
            # The address goes on with unit words or short names ("Vĩnh Linh, Quảng Trị");
            # anything else ("Hội đồng nhân dân xã tổ chức …") is the next clause.
            folded = fold_diacritics(piece) + " "
            words = piece.split()
            short_name = 0 < len(words) <= 4 and all(w[:1].isupper() for w in words)
            if not (folded.startswith(_PLACE_UNITS) or short_name):
                break
            kept.append(piece)
        place = ", ".join(p for p in kept if p).strip().rstrip(".")
        if place:
            return place
    return None


def _is_official(intro: str) -> bool:
    folded = fold_diacritics(intro)
    if any(verb in folded for verb in _RESPONSE_VERBS):
        return True
    return folded.startswith(("dong chi", "d/c", "d.c")) or any(
        f" {word}" in f" {folded}" for word in _OFFICIAL_WORDS[:6]
    )


def _is_heading(line: str) -> bool:
    stripped = line.strip()
    letters = [c for c in stripped if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters) and len(stripped) < 120


def _title(lines: list[str]) -> str | None:
    for index, line in enumerate(lines):
        if fold_diacritics(line.strip()) == "bien ban":
            following = next((x.strip() for x in lines[index + 1:] if x.strip()), "")
            return f"Biên bản {following}".strip()
        if fold_diacritics(line.strip()).startswith("bien ban "):
            return line.strip()
    return None


def _meeting_date(text: str) -> date | None:
    folded = fold_diacritics(text[:4000])
    for pattern in (_DATE, _DMY):
        for match in pattern.finditer(folded):
            try:
                return parse_day(match.group(0))
            except DateError:
                continue
    return None
