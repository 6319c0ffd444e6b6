"""Place identity keys for area scopes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.text.places import Gazetteer, load_gazetteer
from pipeline.text.scopes import AreaScope, PlaceKey, ScopeError, place_key, scope_key


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    directory: Path = Settings().gazetteer_dir
    return load_gazetteer(directory)


@pytest.mark.parametrize(("scope", "area", "inside"), [
    ("thôn Thủy Ba", "thôn Thủy Ba, xã Vĩnh Giang", True),
    ("thôn Thủy Ba", "thôn Thủy Ba Đông, xã Vĩnh Giang", False),
    ("thôn Thuy Ba", "Thủy Ba", True),
    ("xã Vĩnh Giang", "thôn Thủy Ba Đông", True),
    ("xã Vĩnh Giang", "phường Đông Hà, tỉnh Quảng Trị", False),
    ("tỉnh Quảng Trị", "thôn Gio Mỹ", True),
    ("thôn Tân Mỹ", "thôn Gio Mỹ (giáp thôn Tân Mỹ, xã Vĩnh Giang)", False),
    ("thôn Tân Mỹ", "chưa xác định", False),
    ("thôn Tân Mỹ", "", False),
])
def test_a_place_is_inside_a_scope_only_when_every_named_level_is_the_same_unit(
    gazetteer: Gazetteer, scope: str, area: str, inside: bool
) -> None:
    areas = AreaScope.from_areas([scope], gazetteer)
    assert areas.contains_area(area) is inside
    assert place_key(area, gazetteer).within(scope_key(scope, gazetteer)) is inside


def test_keys_name_the_resolved_units(gazetteer: Gazetteer) -> None:
    key = scope_key("Thủy Ba", gazetteer)
    assert key == PlaceKey("tỉnh Quảng Trị", "xã Vĩnh Giang", "thôn Thủy Ba")
    assert key.describe() == "thôn Thủy Ba, xã Vĩnh Giang, tỉnh Quảng Trị"
    row = {"village": "thôn Thủy Ba", "commune": "xã Vĩnh Giang", "province": "tỉnh Quảng Trị"}
    assert AreaScope.from_areas(["xã Vĩnh Giang"], gazetteer).contains_row(row)
    assert not AreaScope.from_areas(["thôn Thủy Ba Đông"], gazetteer).contains_row(row)


def test_a_narrower_scope_is_covered_and_a_wider_one_is_not(gazetteer: Gazetteer) -> None:
    commune = AreaScope.from_areas(["xã Vĩnh Giang"], gazetteer)
    village = AreaScope.from_areas(["thôn Tân Mỹ", "thôn Gio Mỹ"], gazetteer)
    assert commune.covers(village)
    assert not village.covers(commune)
    assert not commune.covers(AreaScope.from_areas([], gazetteer))


def test_an_area_scope_that_names_nothing_is_an_error(gazetteer: Gazetteer) -> None:
    with pytest.raises(ScopeError, match="không nhận ra địa bàn"):
        scope_key("chưa xác định", gazetteer)
    assert AreaScope.from_areas(["  "], gazetteer).places == ()
