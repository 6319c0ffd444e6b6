"""Search in petition text ignores missing diacritics, on SQLite and PostgreSQL; list orders."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.store import PetitionFilter, PetitionStore, list_petitions
from pipeline.store.search import _translation
from tests.pipeline.store.rows import petition_row

TEXTS = {
    "pig": ("Trại heo của hộ ông Tư xả nước thải ra mương", date(2025, 3, 3), "thôn Tân Mỹ"),
    "caps": ("TRẠI HEO gây mùi hôi cả xóm, đề nghị xử lý", date(2025, 3, 1), "thôn Gio Mỹ"),
    "fruit": ("Giá trái cây thấp, bà con khó bán", date(2025, 3, 2), "thôn 5"),
    "road": ("Đường đất lầy lội, đề nghị đổ bê tông 100% tuyến", date(2025, 3, 4), "thôn An Xá"),
}


@pytest.fixture
def filled(store: PetitionStore) -> dict[str, int]:
    ids = store.write_batch([petition_row(text, day=day, village=village)
                             for text, day, village in TEXTS.values()], [], [])
    by_text = {text: pid for text, pid in zip(
        [t for t, _, _ in TEXTS.values()], [ids[r["content_hash"]] for r in (
            petition_row(text, day=day, village=village) for text, day, village in TEXTS.values())],
        strict=True)}
    return {key: by_text[text] for key, (text, _, _) in TEXTS.items()}


def _found(store: PetitionStore, q: str, order: str = "newest") -> list[int]:
    rows, total = list_petitions(store.engine, PetitionFilter(q=q), order=order)
    assert total == len(rows)
    return [r["id"] for r in rows]


def test_words_without_diacritics_match_every_spelling(store: PetitionStore,
                                                       filled: dict[str, int]) -> None:
    assert set(_found(store, "trai heo")) == {filled["pig"], filled["caps"]}
    assert set(_found(store, "TRAI")) == {filled["pig"], filled["caps"], filled["fruit"]}
    assert _found(store, "duong dat") == [filled["road"]]
    assert _found(store, "de nghi do be tong") == [filled["road"]]


def test_words_with_diacritics_match_that_spelling_only(store: PetitionStore,
                                                       filled: dict[str, int]) -> None:
    assert set(_found(store, "trại")) == {filled["pig"], filled["caps"]}
    assert _found(store, "trái") == [filled["fruit"]]
    assert _found(store, "Đường") == [filled["road"]]
    # LIKE wildcards in the query are plain characters.
    assert _found(store, "100%") == [filled["road"]]
    assert _found(store, "_") == []


@pytest.mark.parametrize(("order", "keys"), [
    ("newest", ["road", "pig", "fruit", "caps"]),
    ("oldest", ["caps", "fruit", "pig", "road"]),
    ("area", ["fruit", "road", "caps", "pig"]),
    ("number", ["pig", "caps", "fruit", "road"]),
])
def test_list_orders(store: PetitionStore, filled: dict[str, int], order: str,
                     keys: list[str]) -> None:
    rows, _ = list_petitions(store.engine, PetitionFilter(), order=order)
    assert [r["id"] for r in rows] == [filled[k] for k in keys]


def test_unknown_order_is_refused(store: PetitionStore) -> None:
    with pytest.raises(ValueError, match="không có"):
        list_petitions(store.engine, PetitionFilter(), order="random")


def test_translation_covers_every_vietnamese_letter() -> None:
    accented, plain = _translation()
    assert len(accented) == len(plain)
    table = dict(zip(accented, plain, strict=True))
    for letter, base in (("ạ", "a"), ("Ặ", "a"), ("đ", "d"), ("Đ", "d"), ("ữ", "u"), ("ỹ", "y"),
                         ("ơ", "o"), ("Ế", "e"), ("ị", "i")):
        assert table[letter] == base
