"""Signals (mass, repeat, escalated, urgent) and places found in a petition's text and metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.normalize import fold_diacritics

SIGNALS: tuple[str, ...] = ("mass", "repeat", "escalated", "urgent")
UNKNOWN_AREA = "chưa xác định"

# Patterns run on folded text (lower case, no diacritics) so that unaccented typing matches too.
_SIGNAL_PATTERNS: dict[str, re.Pattern[str]] = {
    "mass": re.compile(
        r"dong nguoi|tap the|keo den|keo len|keo nhau|nhieu ho|cac ho dan"
        r"|ca (?:thon|xom|ap|ban|lang)"
        r"|\b\d{2,4} (?:ho|ho dan|nguoi|chu ky|cu tri|ho gia dinh|gia dinh)\b|ba con (?:trong|ca)"
        r"|don tap the|cung ky (?:ten|don)|chu ky cua|hang tram|hang chuc (?:ho|nguoi)"
    ),
    "repeat": re.compile(
        r"nhieu lan|da gui don|da (?:phan anh|kien nghi|khieu nai|bao)|keo dai|chua duoc giai quyet"
        r"|chua (?:duoc )?(?:tra loi|xu ly|giai quyet)|lan thu (?:hai|ba|tu|nam|\d)|van chua"
        r"|tu nam \d{4} (?:den nay|toi nay)|nhieu nam nay|bao lan|lai tiep tuc|tai dien"
        r"|van tiep dien"
        r"|gui don lan|\bvan (?:con|chua)\b"
    ),
    "escalated": re.compile(
        r"vuot cap|trung uong|quoc hoi|chinh phu|thu tuong|thanh tra chinh phu|bo cong an"
        r"|ban tiep cong dan trung uong|chu tich nuoc|(?:ubnd|uy ban nhan dan) tinh|tinh uy"
        r"|bao chi|gui (?:den|toi) (?:cac|nhieu) co quan|dong kinh gui|toa an|vien kiem sat"
        r"|thanh tra tinh|so tai nguyen"
    ),
    "urgent": re.compile(
        r"khan cap|gap|nguy hiem|de doa tinh mang|tinh mang|nguy co (?:sap|sat lo|chay|vo|chet)"
        r"|dang (?:chay|dien ra|bi|xay ra|sat lo|vo|danh|keo)|ngay trong dem|ngay bay gio|cap cuu"
        r"|chem|dam|danh nhau|hanh hung|bom xang|tu vong|chet nguoi|bi thuong|sap do|vo de|cuu voi"
    ),
}


def rule_signals(text: str) -> list[str]:
    """Return the signals whose phrases occur in the text, in the fixed SIGNALS order."""
    folded = fold_diacritics(text)
    return [name for name in SIGNALS if _SIGNAL_PATTERNS[name].search(folded)]


@dataclass(frozen=True)
class Place:
    """A normalised area: display form plus village, commune and province when known."""

    area: str
    village: str | None = None
    commune: str | None = None
    province: str | None = None


_UNIT = r"(?:thôn|xóm|bản|ấp|làng|tổ dân phố|khu phố|khóm|buôn|plei|sóc|tổ)"
_VILLAGE_IN_TEXT = re.compile(
    rf"\b({_UNIT})\s+((?:\d{{1,3}}[A-Za-z]?)|(?:[A-ZĐÀ-Ỹ][\wÀ-ỹ]*)(?:\s+[A-ZĐÀ-Ỹ0-9][\wÀ-ỹ]*){{0,2}})"
)
_COMMUNE_IN_TEXT = re.compile(
    r"\b(xã|phường|thị trấn|đặc khu)\s+((?:[A-ZĐÀ-Ỹ][\wÀ-ỹ]*)(?:\s+[A-ZĐÀ-Ỹ0-9][\wÀ-ỹ]*){0,3})"
)
_PROVINCE_IN_TEXT = re.compile(
    r"\b(tỉnh|thành phố|tp\.?)\s+((?:[A-ZĐÀ-Ỹ][\wÀ-ỹ]*)(?:\s+[A-ZĐÀ-Ỹ][\wÀ-ỹ]*){0,3})"
)
_DISTRICT = re.compile(r"^(?:huyện|quận|thị xã)\s", re.IGNORECASE)


def find_place(area: str | None, text: str) -> Place:
    """Return the place of a petition: metadata area first, then a village named in the text."""
    if area and area.strip():
        return _parse_area(area)
    village = _VILLAGE_IN_TEXT.search(text)
    commune = _COMMUNE_IN_TEXT.search(text)
    province = _PROVINCE_IN_TEXT.search(text)
    parts = [
        f"{m.group(1).lower()} {m.group(2)}" for m in (village, commune, province) if m is not None
    ]
    if not parts:
        return Place(UNKNOWN_AREA)
    return Place(
        ", ".join(parts),
        village=parts[0] if village else None,
        commune=f"{commune.group(1).lower()} {commune.group(2)}" if commune else None,
        province=f"tỉnh {province.group(2)}" if province else None,
    )


def _parse_area(area: str) -> Place:
    pieces = [p.strip() for p in area.split(",") if p.strip()]
    village = commune = province = None
    kept: list[str] = []
    for piece in pieces:
        folded = fold_diacritics(piece)
        # District-era addresses: the 2025 two-level structure has no district level.
        if _DISTRICT.match(piece):
            continue
        if folded.startswith(("xa ", "phuong ", "thi tran ", "dac khu ")):
            commune = piece
        elif folded.startswith(("tinh ", "thanh pho ", "tp ")):
            province = piece
        elif village is None:
            village = piece
        kept.append(piece)
    return Place(", ".join(kept) or UNKNOWN_AREA, village, commune, province)
