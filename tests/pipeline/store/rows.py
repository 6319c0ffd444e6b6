"""Petition rows as the ingest run hands them to PetitionStore.write_batch."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any


def petition_row(text: str, *, day: date | None = date(2025, 3, 10), sender: str | None = None,
                 village: str = "thôn Gio Mỹ", key: str | None = None,
                 is_response: bool = False) -> dict[str, Any]:
    """Return one new petition with every column write_batch needs."""
    unique = key or f"{text}\x00{sender}\x00{day}"
    digest = hashlib.sha256(unique.encode()).hexdigest()
    return {
        "content_hash": digest, "source_key": digest, "text": text, "text_raw": text,
        "received_at": day, "area_raw": None, "area": f"{village}, xã Vĩnh Giang",
        "village": village, "commune": "xã Vĩnh Giang", "province": "tỉnh Quảng Trị",
        "source_type": "petition", "external_id": None, "sender_name": sender,
        "sender_contact": None, "channel": None, "is_response": is_response,
        "no_diacritics": False, "legacy_encoding": None, "topics": ["other"],
        "scores": {"other": 1.0}, "signals": [], "source_file": "kiem-thu.csv",
        "source_row": None, "extra": {},
    }
