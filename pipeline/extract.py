"""Signals (mass, repeat, escalated, urgent) found in a petition's text; the unknown-area label."""

from __future__ import annotations

import re

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
