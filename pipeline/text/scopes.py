"""Place identity for area scopes: the resolved province, commune and village, never text.

An area scope ("xã Vĩnh Giang", "thôn Thủy Ba") and a petition's place are both resolved by the
same place resolver (the 2025 two-level units and the local gazetteer's villages). The resolver
spells every unit one way only (the national table's or the gazetteer's name, with its unit
word), so the three resolved names are the place's identity. A place lies inside a scope when
every level the scope names is the very same unit: "thôn Thủy Ba Đông" is not inside
"thôn Thủy Ba", whatever the two names have in common as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.text.places import Gazetteer, PlaceMatch, PlaceStatus, resolve_place
from pipeline.text.signals import UNKNOWN_AREA

__all__ = ["AreaScope", "PlaceKey", "ScopeError", "place_key", "scope_key"]


def _unit(name: str | None) -> str | None:
    if name is None or not name.strip() or name.strip() == UNKNOWN_AREA:
        return None
    return name.strip()


@dataclass(frozen=True)
class PlaceKey:
    """The identity of a place: its resolved 2025 province, commune and gazetteer village."""

    province: str | None
    commune: str | None
    village: str | None

    @classmethod
    def of(cls, village: str | None, commune: str | None, province: str | None) -> PlaceKey:
        """Return the key of resolved unit names (as stored on a petition)."""
        return cls(_unit(province), _unit(commune), _unit(village))

    @classmethod
    def of_match(cls, match: PlaceMatch) -> PlaceKey:
        """Return the key of a resolver result (empty when nothing was found)."""
        if match.status is PlaceStatus.NOT_FOUND:
            return cls(None, None, None)
        return cls.of(match.village, match.commune, match.province)

    @property
    def empty(self) -> bool:
        """True when no level is known (an unresolved place)."""
        return self.province is None and self.commune is None and self.village is None

    def levels(self) -> tuple[str | None, str | None, str | None]:
        """Return (village, commune, province), the order of the petition columns."""
        return self.village, self.commune, self.province

    def within(self, scope: PlaceKey) -> bool:
        """Return True when every level the scope names is the same unit in this place."""
        if scope.empty or self.empty:
            return False
        pairs = ((scope.province, self.province), (scope.commune, self.commune),
                 (scope.village, self.village))
        return all(wanted is None or wanted == mine for wanted, mine in pairs)

    def describe(self) -> str:
        """Return the place as a person reads it ("thôn Tân Mỹ, xã Vĩnh Giang, tỉnh Quảng Trị")."""
        parts = [p for p in self.levels() if p]
        return ", ".join(parts) if parts else UNKNOWN_AREA


class ScopeError(ValueError):
    """An area scope that does not resolve to a known place."""


def place_key(area: str | None, gazetteer: Gazetteer | None) -> PlaceKey:
    """Return the identity of an area text as the pipeline resolves it (empty when unresolved)."""
    if not area or not area.strip() or area.strip() == UNKNOWN_AREA:
        return PlaceKey(None, None, None)
    return PlaceKey.of_match(resolve_place(area, "", gazetteer))


def scope_key(area: str, gazetteer: Gazetteer | None) -> PlaceKey:
    """Return the identity of an area scope; ScopeError when it names no place at all."""
    key = place_key(area, gazetteer)
    if key.empty:
        raise ScopeError(f"không nhận ra địa bàn '{area}' (cần tên thôn, xã/phường hoặc tỉnh)")
    return key


@dataclass(frozen=True)
class AreaScope:
    """The places a caller may see or write, with a cache of the area texts already resolved."""

    places: tuple[PlaceKey, ...]
    gazetteer: Gazetteer | None = None
    _seen: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_areas(cls, areas: Iterable[str], gazetteer: Gazetteer | None) -> AreaScope:
        """Return the scope of area texts; a text that resolves to nothing grants nothing."""
        keys = (place_key(a, gazetteer) for a in areas)
        return cls(tuple(k for k in keys if not k.empty), gazetteer)

    def contains(self, key: PlaceKey) -> bool:
        """Return True when the place lies inside one of the scope's places."""
        return any(key.within(scope) for scope in self.places)

    def contains_area(self, area: str | None) -> bool:
        """Return True when an area text (as on a hot spot or an alert) resolves inside."""
        text = area or ""
        if text not in self._seen:
            self._seen[text] = self.contains(place_key(text, self.gazetteer))
        return self._seen[text]

    def contains_row(self, row: Mapping[str, Any]) -> bool:
        """Return True when a stored petition's resolved place lies inside the scope."""
        return self.contains(PlaceKey.of(row.get("village"), row.get("commune"),
                                         row.get("province")))

    def covers(self, other: AreaScope) -> bool:
        """Return True when the other scope names places, each inside one of this scope's."""
        return bool(other.places) and all(self.contains(place) for place in other.places)

    def describe(self) -> str:
        """Return the scope's places as a person reads them, separated by "; "."""
        return "; ".join(p.describe() for p in self.places) or "không có địa bàn nào"
