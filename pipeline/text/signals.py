"""Signals (mass, repeat, escalated, urgent) found in a petition's text; the unknown-area label."""

from __future__ import annotations

import re
import unicodedata

from pipeline.intake.normalize import fold_diacritics, looks_unaccented

SIGNALS: tuple[str, ...] = ("mass", "repeat", "escalated", "urgent")
UNKNOWN_AREA = "chưa xác định"

# Phrases are written with their diacritics and matched as whole words on the lower-cased text.
# Text typed without diacritics is matched on its folded form, but only with phrases of two or
# more syllables: folded single syllables are ambiguous ("dam" is đâm, dám, đảm and đám).
_PHRASES: dict[str, tuple[str, ...]] = {
    "mass": (
        "đông người", "tập thể", "kéo đến", "kéo lên", "kéo nhau", "nhiều hộ", "các hộ dân",
        "cả thôn", "cả xóm", "cả ấp", "cả bản", "cả làng", "cả khu phố", "bà con trong",
        "đơn tập thể", "cùng ký tên", "cùng ký đơn", "chữ ký của", "hàng trăm", "hàng chục hộ",
        "hàng chục người", "hàng chục hộ dân",
        r"\d{2,4} (?:hộ|hộ dân|người|chữ ký|cử tri|hộ gia đình|gia đình)",
    ),
    "repeat": (
        "nhiều lần", "đã gửi đơn", "đã phản ánh", "đã kiến nghị", "đã khiếu nại", "kéo dài",
        "chưa được giải quyết", "chưa được trả lời", "chưa trả lời", "chưa được xử lý",
        "chưa xử lý", "chưa giải quyết", "lần thứ hai", "lần thứ ba", "lần thứ tư",
        "lần thứ năm", r"lần thứ \d+", "vẫn chưa", "nhiều năm nay", "bao nhiêu lần", "tái diễn",
        "vẫn tiếp diễn", "gửi đơn lần", r"từ năm \d{4} (?:đến nay|tới nay)", "lại tiếp tục",
    ),
    "escalated": (
        "vượt cấp", "trung ương", "quốc hội", "chính phủ", "thủ tướng", "thanh tra chính phủ",
        "bộ công an", "chủ tịch nước", "ubnd tỉnh", "ủy ban nhân dân tỉnh", "tỉnh ủy",
        "báo chí", "đồng kính gửi", "tòa án", "viện kiểm sát", "thanh tra tỉnh",
        "sở tài nguyên", "gửi đến các cơ quan", "gửi nhiều cơ quan", "gửi tới các cơ quan",
    ),
    "urgent": (
        "khẩn cấp", "khẩn", r"gấp(?! \d| đôi| ba| rưỡi| nhiều| mấy| lần)", "nguy hiểm",
        "đe dọa tính mạng", "tính mạng", "nguy cơ sập", "nguy cơ sạt lở", "nguy cơ cháy",
        "nguy cơ vỡ", "nguy cơ chết", "đang cháy", "đang diễn ra", "đang xảy ra",
        "đang sạt lở", "ngay trong đêm", "ngay bây giờ", "cấp cứu", "chém", "đâm", "đánh nhau",
        "hành hung", "bom xăng", "tử vong", "chết người", "bị thương", "sắp đổ", "sắp sập",
        "vỡ đê", "cứu với", "đe dọa giết",
    ),
}


def _compile(phrases: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(phrases) + r")(?!\w)")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


_ACCENTED: dict[str, re.Pattern[str]] = {
    name: _compile([_nfc(p) for p in phrases]) for name, phrases in _PHRASES.items()
}
_FOLDED: dict[str, re.Pattern[str]] = {
    name: _compile(sorted({fold_diacritics(p) for p in phrases if " " in p}))
    for name, phrases in _PHRASES.items()
}


def rule_signals(text: str) -> list[str]:
    """Return the signals whose phrases occur in the text, in the fixed SIGNALS order."""
    if looks_unaccented(text):
        folded = fold_diacritics(text)
        return [name for name in SIGNALS if _FOLDED[name].search(folded)]
    lowered = _nfc(text).lower()
    return [name for name in SIGNALS if _ACCENTED[name].search(lowered)]
