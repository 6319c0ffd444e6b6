"""Where a petition comes from: a normalised area in the 2025 two-level structure.

Every record gets an area. The metadata area wins when it holds anything usable; otherwise the
text is searched for unit words (thôn, xóm, bản, ấp, làng, tổ dân phố, khu phố, tổ, khóm, buôn,
plei, sóc; xã, phường, thị trấn, đặc khu; huyện, quận, thị xã; tỉnh, thành phố), then for village
names from the local gazetteer written without a unit word, and, only when asked, for
underthesea's NER locations. Nothing found gives "chưa xác định", never a dropped record.

Output follows the structure in force since 1 July 2025: province → commune/ward, no district.
A district in the input only helps to pick the right commune and is then dropped.

Two sources of names, both read from local files, never from the network:

* the local gazetteer (``data/gazetteer/*.csv``, one row per village, edited by users): it is the
  users' word and always wins, for villages (which no national list holds) and for communes;
* the national old → new mapping of communes and provinces shipped inside underthesea
  (``underthesea/address/data/mapping.json``, 10 602 old communes, 34 new provinces, effective
  2025-07-01). It is used rather than the PyPI package ``vietnam-provinces`` because underthesea is
  already a dependency and its file maps every district-era commune to its 2025 commune, while
  ``vietnam-provinces`` lists only the new units and cannot convert an old address. The file is
  read directly (once, on first need) so that matching can use our own folding; when it is
  missing, districts are still dropped but old names are kept as written.

Matching ignores case and diacritics (``fold_diacritics``) and reads number words as digits
("thôn Năm" = "Thôn 5"). Displayed names use the gazetteer spelling, unit word in lower case:
"thôn Tân Mỹ, xã Vĩnh Giang, tỉnh Quảng Trị".
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from pipeline.intake.normalize import UndecodableError, decode_bytes, fold_diacritics
from pipeline.text.signals import UNKNOWN_AREA

__all__ = [
    "UNKNOWN_AREA",
    "Gazetteer",
    "GazetteerError",
    "GazetteerVillage",
    "PlaceMatch",
    "PlaceStatus",
    "load_gazetteer",
    "resolve_place",
]

GAZETTEER_COLUMNS = ("province", "commune", "village", "aliases", "former_district")


class GazetteerError(ValueError):
    """A gazetteer folder or file that cannot be read."""


class PlaceStatus(Enum):
    """How much of a place was found and confirmed."""

    SUCCESS = "success"  # commune and province known, every named level confirmed by a gazetteer
    PARTIAL = "partial"  # some place found, but a level is missing or not in any gazetteer
    NOT_FOUND = "not_found"  # nothing usable: the area is "chưa xác định"


@dataclass(frozen=True)
class PlaceMatch:
    """A petition's place: display area, its levels (with unit words), status and source.

    ``source`` says where the area came from: "metadata" (the record's area field, possibly
    completed from the gazetteer), "text" (unit words in the text), "gazetteer" (a gazetteer
    village named in the text without a unit word), "ner" (underthesea NER) or "none".
    """

    area: str
    village: str | None
    commune: str | None
    province: str | None
    status: PlaceStatus
    source: str


@dataclass(frozen=True)
class GazetteerVillage:
    """One village of the local gazetteer, names as displayed (unit word in lower case)."""

    province: str
    commune: str
    village: str
    former_district: str | None
    unit: str  # folded unit word of the village, e.g. "thon"
    province_key: str
    commune_key: str
    district_key: str


@dataclass(frozen=True)
class _CommuneRef:
    commune: str
    province: str
    province_key: str
    commune_key: str
    district_key: str


@dataclass(frozen=True, eq=False)
class Gazetteer:
    """The local gazetteer, indexed by folded village and commune names."""

    villages: tuple[GazetteerVillage, ...]
    files: tuple[str, ...] = ()
    # Folded name key → (village, unit word of the alias or "" when the alias had none).
    _by_name: Mapping[str, tuple[tuple[GazetteerVillage, str], ...]] = field(
        default_factory=dict, repr=False
    )
    _communes: Mapping[str, tuple[_CommuneRef, ...]] = field(default_factory=dict, repr=False)
    _districts: frozenset[str] = field(default_factory=frozenset, repr=False)
    # First word → word tuples (longest first) of names of 2+ syllables, for text without units.
    _bare_first: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict, repr=False)
    # Every folded word where a text scan has something to check: unit words and name starts.
    _text_starts: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        starts = frozenset(_TEXT_HEADS).union(self._bare_first)
        object.__setattr__(self, "_text_starts", starts)

    def __len__(self) -> int:
        return len(self.villages)


# --------------------------------------------------------------------------- unit words


@dataclass(frozen=True)
class _Unit:
    display: str  # with diacritics, lower case
    kind: str  # "village" | "commune" | "district" | "province"
    strong: bool  # unambiguous even without diacritics
    abbrev: bool = False  # only trusted in an address field, never in running text
    folded: str = field(init=False, repr=False)
    head: str = field(init=False, repr=False)  # first word, with diacritics

    def __post_init__(self) -> None:
        # Computed once: matching reads these on every candidate.
        object.__setattr__(self, "folded", fold_diacritics(self.display))
        object.__setattr__(self, "head", self.display.split()[0])


_VILLAGE, _COMMUNE, _DISTRICT, _PROVINCE = "village", "commune", "district", "province"

_UNIT_LIST = (
    _Unit("thôn", _VILLAGE, True),
    _Unit("xóm", _VILLAGE, True),
    _Unit("bản", _VILLAGE, False),
    _Unit("ấp", _VILLAGE, False),
    _Unit("làng", _VILLAGE, False),
    _Unit("tổ dân phố", _VILLAGE, True),
    _Unit("khu phố", _VILLAGE, True),
    _Unit("tổ", _VILLAGE, False),
    _Unit("khóm", _VILLAGE, True),
    _Unit("buôn", _VILLAGE, True),
    _Unit("plei", _VILLAGE, True),
    _Unit("sóc", _VILLAGE, False),
    _Unit("xã", _COMMUNE, False),
    _Unit("phường", _COMMUNE, False),
    _Unit("thị trấn", _COMMUNE, True),
    _Unit("đặc khu", _COMMUNE, True),
    _Unit("huyện", _DISTRICT, True),
    _Unit("quận", _DISTRICT, False),
    _Unit("thị xã", _DISTRICT, True),
    # "thành phố" is a province (Hà Nội) or a former district-level city (Đông Hà): the name
    # decides, see _classify_city.
    _Unit("thành phố", _PROVINCE, True),
    _Unit("tỉnh", _PROVINCE, False),
    _Unit("tp", _PROVINCE, True, abbrev=True),
    _Unit("t", _PROVINCE, True, abbrev=True),
    _Unit("tt", _COMMUNE, True, abbrev=True),
    _Unit("tx", _DISTRICT, True, abbrev=True),
    _Unit("x", _COMMUNE, True, abbrev=True),
    _Unit("p", _COMMUNE, True, abbrev=True),
    _Unit("h", _DISTRICT, True, abbrev=True),
    _Unit("q", _DISTRICT, True, abbrev=True),
)
_UNIT_DISPLAY_OF_ABBREV = {
    "tp": "thành phố",
    "t": "tỉnh",
    "tt": "thị trấn",
    "tx": "thị xã",
    "x": "xã",
    "p": "phường",
    "h": "huyện",
    "q": "quận",
}


def _build_heads(units: Iterable[_Unit]) -> dict[str, tuple[tuple[tuple[str, ...], _Unit], ...]]:
    heads: dict[str, list[tuple[tuple[str, ...], _Unit]]] = {}
    for unit in units:
        words = tuple(unit.folded.split())
        heads.setdefault(words[0], []).append((words, unit))
    # Longest unit first, so that "tổ dân phố" wins over "tổ".
    return {h: tuple(sorted(c, key=lambda item: -len(item[0]))) for h, c in heads.items()}


_AREA_HEADS = _build_heads(_UNIT_LIST)
_TEXT_HEADS = _build_heads(u for u in _UNIT_LIST if not u.abbrev)
_ADMIN_PREFIXES = tuple(
    (u.display + " ", u) for u in sorted(_UNIT_LIST, key=lambda u: -len(u.display)) if not u.abbrev
)

# --------------------------------------------------------------------------- words and keys

_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’…–—«»•·"
_PIECE_SPLIT = re.compile(r"\s*(?:[,;\n]|\s[-–—]\s)\s*")
# "X.Vĩnh Giang", "TP.HCM": an abbreviated unit glued to the name.
_ABBREV_GLUE = re.compile(r"(?i)(?<![\w.])(tp|tt|tx|t|x|p|h|q)\.\s*")
_STREET_WORDS = frozenset("so duong ngo ngach hem kiet nha can ho lo km".split())

_DIGITS = {
    "mot": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
    "nam": 5,
    "lam": 5,
    "sau": 6,
    "bay": 7,
    "tam": 8,
    "chin": 9,
}
_ACCENTED_DIGITS = frozenset("một mốt hai ba bốn tư năm lăm sáu bảy bẩy tám chín".split())
_TENS = frozenset(("muoi",))
_ACCENTED_TENS = frozenset(("mười", "mươi"))


def _strip_word(word: str) -> str:
    return word.strip(_PUNCT)


def _number_value(words: Sequence[str], written: Sequence[str] | None) -> int | None:
    """Return the value of a name made only of Vietnamese number words, else None."""
    if not 1 <= len(words) <= 3 or (words[0] not in _DIGITS and words[0] not in _TENS):
        return None
    if written is not None and any(not w.isascii() for w in written):
        # With diacritics present, "Nam" (south) must not read as "năm" (five).
        lowered = [w.lower() for w in written]
        if not all(w in _ACCENTED_DIGITS or w in _ACCENTED_TENS for w in lowered):
            return None
    if not all(w in _DIGITS or w in _TENS for w in words):
        return None
    first = words[0]
    if len(words) == 1:
        return 10 if first in _TENS else _DIGITS[first]
    if first in _TENS:  # mười hai = 12
        return 10 + _DIGITS[words[1]] if len(words) == 2 and words[1] in _DIGITS else None
    if words[1] not in _TENS or _DIGITS[first] < 2:  # hai mươi (mốt) = 20 (21)
        return None
    if len(words) == 2:
        return _DIGITS[first] * 10
    return _DIGITS[first] * 10 + _DIGITS[words[2]] if words[2] in _DIGITS else None


def _name_key(words: Sequence[str], written: Sequence[str] | None = None) -> str:
    """Return the matching key of a name: folded words, number words and leading zeros as digits."""
    value = _number_value(words, written)
    if value is not None:
        return str(value)
    if len(words) == 1 and words[0].isdecimal():
        return str(int(words[0]))
    return " ".join(words)


def _is_number_key(key: str) -> bool:
    return key[:1].isdecimal()


def _folded_words(text: str) -> list[str]:
    return [w for w in (_strip_word(t) for t in fold_diacritics(text).split()) if w]


def _title(name: str) -> str:
    # Vietnamese place names capitalise every syllable; lower-case input is lifted to match.
    return " ".join(w[:1].upper() + w[1:] if w[:1].islower() else w for w in name.split())


def _accent_signature(name: str) -> tuple[tuple[str, str], ...]:
    """Return each syllable's base letters and its sorted diacritics, lower case.

    Two spellings with the same signature differ at most in where the tone mark sits
    ("Thủy" / "Thuỷ"); "bố" and "Bo", or "có tổ" and "Cô Tô", do not match.
    """
    signature = []
    for word in name.lower().split():
        decomposed = unicodedata.normalize("NFD", _strip_word(word))
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        marks = "".join(sorted(c for c in decomposed if unicodedata.combining(c)))
        if base:
            signature.append((base, marks))
    return tuple(signature)


_Heads = Mapping[str, tuple[tuple[tuple[str, ...], "_Unit"], ...]]


def _read_unit(folded: Sequence[str], start: int, heads: _Heads) -> tuple[_Unit, int] | None:
    """Return the unit word starting at ``start`` and how many words it spans."""
    candidates = heads.get(folded[start]) if start < len(folded) else None
    if not candidates:
        return None
    for words, unit in candidates:
        if tuple(folded[start : start + len(words)]) == words:
            return unit, len(words)
    return None


def _split_admin(name: str) -> tuple[_Unit | None, str]:
    """Return the unit word and the bare name of an administrative name such as "Xã Cửa Tùng"."""
    lowered = name.strip().lower()
    for prefix, unit in _ADMIN_PREFIXES:
        if lowered.startswith(prefix):
            return unit, name.strip()[len(prefix) :].strip()
    return None, name.strip()


def _display(unit: _Unit | None, name: str, default: str | None = None) -> str:
    word = unit.display if unit is not None else default
    if word in _UNIT_DISPLAY_OF_ABBREV:
        word = _UNIT_DISPLAY_OF_ABBREV[word]
    return f"{word} {name}" if word else name


# --------------------------------------------------------------------------- national data


@dataclass(frozen=True)
class _Province:
    display: str  # "tỉnh Quảng Trị", the 2025 province
    key: str  # folded short name of the 2025 province
    written_key: str  # folded short name as written (an old province for old addresses)


@dataclass(frozen=True)
class _NewWard:
    display: str
    unit: str
    province_key: str


@dataclass(frozen=True)
class _OldWard:
    unit: str
    district_key: str
    old_province_key: str
    new_display: str
    new_province_key: str
    is_default: bool


@dataclass(frozen=True)
class _National:
    provinces: dict[str, _Province]
    province_display: dict[str, str]
    new_wards: dict[str, tuple[_NewWard, ...]]
    old_wards: dict[str, tuple[_OldWard, ...]]
    old_districts: dict[str, frozenset[str]]
    # Folded key → accent signatures of every spelling (new and old units, every level), so that
    # accented running text can be told apart from a name that only folds the same way.
    spellings: dict[str, frozenset[tuple[tuple[str, str], ...]]]


def _national_path() -> Path | None:
    spec = importlib.util.find_spec("underthesea")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "address" / "data" / "mapping.json"
    return path if path.is_file() else None


@lru_cache(maxsize=20_000)
def _short_key(name: str) -> str:
    return " ".join(_folded_words(_split_admin(name)[1]))


@cache
def _national() -> _National | None:
    """Return the national old → new index, read once from underthesea's data file."""
    path = _national_path()
    if path is None:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    province_display: dict[str, str] = {}
    provinces: dict[str, _Province] = {}
    new_key_of_old: dict[str, str] = {}
    for info in data["province_names"].values():
        unit, short = _split_admin(info["name"])
        province_display[_short_key(info["name"])] = _display(unit, short, "tỉnh")
    spellings: dict[str, set[tuple[tuple[str, str], ...]]] = {}

    def spell(name: str, key: str) -> None:
        spellings.setdefault(key, set()).add(_accent_signature(name))

    for info in data["province_names"].values():
        spell(_split_admin(info["name"])[1], _short_key(info["name"]))
    for old_id, info in data["old_province_names"].items():
        spell(_split_admin(info["name"])[1], _short_key(info["name"]))
        new_info = data["province_names"][data["province_mapping"][old_id]]
        new_key = _short_key(new_info["name"])
        written = _short_key(info["name"])
        new_key_of_old[old_id] = new_key
        provinces[written] = _Province(province_display[new_key], new_key, written)
    for new_key, display in province_display.items():
        provinces.setdefault(new_key, _Province(display, new_key, new_key))
    hcm = provinces.get("ho chi minh")
    if hcm is not None:
        for alias, spelled in (("hcm", "HCM"), ("tphcm", "TPHCM"), ("sai gon", "Sài Gòn")):
            provinces[alias] = hcm
            spell(spelled, alias)
    new_wards: dict[str, set[_NewWard]] = {}
    old_wards: dict[str, list[_OldWard]] = {}
    old_districts: dict[str, set[str]] = {}
    for row in data["ward_mapping"]:
        new_unit, new_name = _split_admin(row["new_ward"])
        new_province = new_key_of_old[row["old_province_key"]]
        ward = _NewWard(
            _display(new_unit, new_name, "xã"), new_unit.folded if new_unit else "", new_province
        )
        new_wards.setdefault(_name_key(_folded_words(new_name)), set()).add(ward)
        spell(new_name, _name_key(_folded_words(new_name)))
        old_unit, old_name = _split_admin(row["old_ward"])
        district_key = _short_key(row["old_district"])
        spell(old_name, _name_key(_folded_words(old_name)))
        spell(_split_admin(row["old_district"])[1], district_key)
        old_province = _short_key(row["old_province"])
        old_wards.setdefault(_name_key(_folded_words(old_name)), []).append(
            _OldWard(
                old_unit.folded if old_unit else "",
                district_key,
                old_province,
                ward.display,
                new_province,
                bool(row.get("is_default")),
            )
        )
        old_districts.setdefault(district_key, set()).add(old_province)
    return _National(
        provinces,
        province_display,
        {k: tuple(sorted(v, key=lambda w: w.display)) for k, v in new_wards.items()},
        {k: tuple(v) for k, v in old_wards.items()},
        {k: frozenset(v) for k, v in old_districts.items()},
        {k: frozenset(v) for k, v in spellings.items()},
    )


def _single(values: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    distinct = set(values)
    return next(iter(distinct)) if len(distinct) == 1 else None


def _narrow(items: list[Any], keep: Any) -> list[Any]:
    # A filter that would leave nothing is ignored: the given detail may simply be wrong.
    narrowed = [item for item in items if keep(item)]
    return narrowed or items


def _national_commune(
    nat: _National, key: str, unit: str, province: _Province | None, district: str
) -> tuple[str, str] | None:
    """Return the 2025 (commune, province) display of a commune name, old or new, if unique."""
    new = list(nat.new_wards.get(key, ()))
    old = list(nat.old_wards.get(key, ()))
    if province is not None:
        new = [w for w in new if w.province_key == province.key]
        exact = [w for w in old if w.old_province_key == province.written_key]
        old = exact or [w for w in old if w.new_province_key == province.key]
    if district:
        old = _narrow(old, lambda w: w.district_key == district)
    if unit:
        new = _narrow(new, lambda w: w.unit == unit)
        old = _narrow(old, lambda w: w.unit == unit)
    new_pick = _single((w.display, nat.province_display[w.province_key]) for w in new)
    old_pick = _single((w.new_display, nat.province_display[w.new_province_key]) for w in old)
    if old and old_pick is None:
        # A divided commune: the national data names the default successor.
        old_pick = _single(
            (w.new_display, nat.province_display[w.new_province_key]) for w in old if w.is_default
        )
    # A district marks a district-era address, so the old names come first there.
    order = (old_pick, new_pick) if district else (new_pick, old_pick)
    if not district and new and new_pick is None:
        return None
    return next((pick for pick in order if pick is not None), None)


# --------------------------------------------------------------------------- gazetteer files

_CACHE: dict[tuple[Any, ...], Gazetteer] = {}
_CACHE_LOCK = threading.Lock()


def _province_display(name: str) -> tuple[str, str]:
    """Return the display and folded key of a gazetteer province (2025 name when known)."""
    nat = _national()
    key = _short_key(name)
    if nat is not None and key in nat.provinces:
        province = nat.provinces[key]
        return province.display, province.key
    unit, bare = _split_admin(name)
    return _display(unit, bare, "tỉnh"), key


def _commune_display(name: str, province_key: str) -> str:
    unit, bare = _split_admin(name)
    if unit is not None:
        return _display(unit, bare)
    nat = _national()
    if nat is not None:
        for ward in nat.new_wards.get(_name_key(_folded_words(bare)), ()):
            if ward.province_key == province_key:
                return ward.display
    return _display(None, bare, "xã")


def _village_name(name: str) -> tuple[_Unit | None, list[str], str]:
    """Return the unit word, folded name words and the name as written of a village alias."""
    raw = name.split()
    folded = [_strip_word(fold_diacritics(w)) for w in raw]
    found = _read_unit(folded, 0, _AREA_HEADS)
    if found is not None and found[0].kind == _VILLAGE and len(raw) > found[1]:
        unit, width = found
        return unit, [w for w in folded[width:] if w], " ".join(raw[width:])
    return None, [w for w in folded if w], " ".join(raw)


def _build_gazetteer(
    rows: Iterable[tuple[str, int, dict[str, str]]], files: tuple[str, ...] = ()
) -> Gazetteer:
    villages: list[GazetteerVillage] = []
    by_name: dict[str, list[tuple[GazetteerVillage, str]]] = {}
    communes: dict[str, dict[_CommuneRef, None]] = {}
    districts: set[str] = set()
    bare: dict[str, set[tuple[str, ...]]] = {}
    for where, line, row in rows:
        province, commune, village = (row.get(c, "").strip() for c in GAZETTEER_COLUMNS[:3])
        if not (province and commune and village):
            raise GazetteerError(
                f"{where}, dòng {line}: cần đủ tỉnh (province), xã (commune) và thôn (village)"
            )
        aliases = [a.strip() for a in (row.get("aliases") or "").split("|") if a.strip()]
        district = (row.get("former_district") or "").strip() or None
        province_display, province_key = _province_display(province)
        commune_display = _commune_display(commune, province_key)
        unit, words, written = _village_name(village)
        if unit is None:
            # The first alias written with a unit word tells the unit; "thôn" otherwise.
            unit = next((u for u in (_village_name(a)[0] for a in aliases) if u), None)
        unit = unit or _UNIT_LIST[0]
        entry = GazetteerVillage(
            province=province_display,
            commune=commune_display,
            village=_display(unit, written),
            former_district=district,
            unit=unit.folded,
            province_key=province_key,
            commune_key=_short_key(commune_display),
            district_key=_short_key(district) if district else "",
        )
        villages.append(entry)
        ref = _CommuneRef(
            commune_display, province_display, province_key, entry.commune_key, entry.district_key
        )
        communes.setdefault(entry.commune_key, {})[ref] = None
        if entry.district_key:
            districts.add(entry.district_key)
        for alias in (village, *aliases):
            alias_unit, alias_words, alias_written = _village_name(alias)
            if not alias_words:
                continue
            key = _name_key(alias_words, alias_written.split())
            by_name.setdefault(key, []).append((entry, alias_unit.folded if alias_unit else ""))
            if len(alias_words) >= 2 and not _is_number_key(key):
                bare.setdefault(alias_words[0], set()).add(tuple(alias_words))
    return Gazetteer(
        villages=tuple(villages),
        files=files,
        _by_name={k: tuple(dict.fromkeys(v)) for k, v in by_name.items()},
        _communes={k: tuple(v) for k, v in communes.items()},
        _districts=frozenset(districts),
        _bare_first={
            k: tuple(sorted(v, key=lambda words: (-len(words), words))) for k, v in bare.items()
        },
    )


def _read_rows(path: Path) -> list[tuple[str, int, dict[str, str]]]:
    try:
        text = decode_bytes(path.read_bytes()).text
    except (OSError, UndecodableError) as error:
        raise GazetteerError(
            f"không đọc được tệp danh mục địa danh {path.name}: {error}"
        ) from error
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(name or "").strip().lower() for name in reader.fieldnames or ()]
    missing = [c for c in GAZETTEER_COLUMNS[:3] if c not in header]
    if missing:
        raise GazetteerError(
            f"tệp {path.name} thiếu cột {', '.join(missing)}; "
            f"dòng tiêu đề cần là: {','.join(GAZETTEER_COLUMNS)}"
        )
    reader.fieldnames = header
    rows = []
    for row in reader:
        cleaned = {k: unicodedata.normalize("NFC", v or "") for k, v in row.items() if k}
        if any(v.strip() for v in cleaned.values()):
            rows.append((path.name, reader.line_num, cleaned))
    return rows


def load_gazetteer(directory: Path) -> Gazetteer:
    """Return the gazetteer built from every ``*.csv`` in the folder (cached until files change).

    Raises GazetteerError when the folder is missing or a file is malformed; the message is in
    Vietnamese and names the file and line, because users edit these files by hand.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise GazetteerError(f"không tìm thấy thư mục danh mục địa danh: {directory}")
    files = sorted(directory.glob("*.csv"))
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    cache_key = (str(directory.resolve()), stamp)
    with _CACHE_LOCK:
        cached = _CACHE.get(cache_key)
    if cached is not None:
        return cached
    rows = [row for path in files for row in _read_rows(path)]
    gazetteer = _build_gazetteer(rows, tuple(p.name for p in files))
    with _CACHE_LOCK:
        # Stale versions of the same folder go; a handful of folders is all a process sees.
        for key in [k for k in _CACHE if k[0] == cache_key[0]]:
            del _CACHE[key]
        _CACHE[cache_key] = gazetteer
    return gazetteer


# --------------------------------------------------------------------------- mentions


@dataclass(frozen=True)
class _Mention:
    kind: str
    unit: _Unit | None
    key: str
    written: str  # the name as written, without the unit word
    confirmed: bool = False  # found in a gazetteer (local or national)


_EMPTY_GAZETTEER = Gazetteer(villages=())


def _village_hits(gaz: Gazetteer, key: str, unit: _Unit | None) -> tuple[GazetteerVillage, ...]:
    hits = gaz._by_name.get(key, ())
    if _is_number_key(key):
        # "Thôn 5" and "tổ 5" are different places; a bare "5" is no place at all.
        if unit is None:
            return ()
        return tuple(v for v, alias_unit in hits if (alias_unit or v.unit) == unit.folded)
    return tuple(dict.fromkeys(v for v, _ in hits))


def _known_commune(gaz: Gazetteer, nat: _National | None, key: str) -> bool:
    return key in gaz._communes or (
        nat is not None and (key in nat.new_wards or key in nat.old_wards)
    )


def _known_district(gaz: Gazetteer, nat: _National | None, key: str) -> bool:
    return key in gaz._districts or (nat is not None and key in nat.old_districts)


_NUMBERED_UNITS = frozenset(("phuong", "quan"))


def _spelled_as_known(
    gaz: Gazetteer, nat: _National | None, kind: str, key: str, written: str
) -> bool:
    """Return True when a name written with accents is a known spelling of the unit ``key``."""
    signature = _accent_signature(written)
    if kind == _COMMUNE:
        local = {_split_admin(ref.commune)[1] for ref in gaz._communes.get(key, ())}
    elif kind == _DISTRICT:
        local = {
            _split_admin(v.former_district)[1]
            for v in gaz.villages
            if v.district_key == key and v.former_district
        }
    else:
        local = {_split_admin(v.province)[1] for v in gaz.villages if v.province_key == key}
    if any(_accent_signature(name) == signature for name in local):
        return True
    return nat is not None and signature in nat.spellings.get(key, frozenset())


def _classify_city(unit: _Unit, key: str, nat: _National | None) -> str:
    # "thành phố Đông Hà" was a district-level city; "thành phố Huế" is a province.
    if unit.kind == _PROVINCE and unit.folded in ("thanh pho", "tp") and nat is not None:
        if key not in nat.provinces and key in nat.old_districts:
            return _DISTRICT
    return unit.kind


def _piece_mentions(
    piece: str,
    gaz: Gazetteer,
    nat: _National | None,
    province_hint: bool,
    national_units: bool = True,
) -> list[_Mention]:
    """Return the mentions in one comma-separated piece of an address.

    ``national_units`` False keeps bare names (without a unit word) to the local gazetteer and
    provinces: a name found in running text is no commune just because one somewhere bears it.
    """
    raw = _ABBREV_GLUE.sub(r"\1 ", piece).split()
    folded = [_strip_word(fold_diacritics(w)) for w in raw]
    mentions: list[_Mention] = []
    start = 0
    while start < len(raw):
        found = _read_unit(folded, start, _AREA_HEADS)
        unit, width = found if found is not None else (None, 0)
        stop = start + width
        # A piece without commas may hold several levels: "xã Vĩnh Giang huyện Vĩnh Linh".
        while stop < len(raw):
            nxt = _read_unit(folded, stop, _AREA_HEADS)
            if (
                stop > start + width
                and nxt is not None
                and nxt[0].kind != _VILLAGE
                and not nxt[0].abbrev
                and stop + nxt[1] < len(raw)
                # "xóm Đông Phương" is one name: with diacritics "Phương" is no "phường".
                and (raw[stop].isascii() or raw[stop].lower() == nxt[0].head)
            ):
                break
            stop += 1
        words = [w for w in folded[start + width : stop] if w]
        written = " ".join(raw[start + width : stop]).strip(_PUNCT + " ")
        start = stop
        if not words:
            continue
        key = _name_key(words, written.split())
        if unit is not None:
            kind = _classify_city(unit, key, nat)
            mentions.append(_Mention(kind, unit, key, written))
            continue
        mentions.append(
            _bare_mention(key, written, words, gaz, nat, province_hint, national_units)
        )
    return mentions


def _bare_mention(
    key: str,
    written: str,
    words: list[str],
    gaz: Gazetteer,
    nat: _National | None,
    province_hint: bool,
    national_units: bool = True,
) -> _Mention:
    """Return what a piece without a unit word is: a province, village, commune or district."""
    is_province = nat is not None and key in nat.provinces
    if province_hint and is_province:
        return _Mention(_PROVINCE, None, key, written, True)
    if _village_hits(gaz, key, None):
        return _Mention(_VILLAGE, None, key, written, True)
    if key in gaz._communes:
        return _Mention(_COMMUNE, None, key, written, True)
    if key in gaz._districts:
        return _Mention(_DISTRICT, None, key, written, True)
    if is_province:
        return _Mention(_PROVINCE, None, key, written, True)
    if not national_units:
        nat = None  # below the province, only the local gazetteer may name a bare unit
    if nat is not None and key in nat.new_wards:
        return _Mention(_COMMUNE, None, key, written, True)
    if nat is not None and key in nat.old_districts:
        return _Mention(_DISTRICT, None, key, written, True)
    if nat is not None and key in nat.old_wards:
        return _Mention(_COMMUNE, None, key, written, True)
    if words[0] in _STREET_WORDS or _is_number_key(key):
        # House numbers and streets are below our granularity (and personal data).
        return _Mention("street", None, key, written)
    return _Mention(_VILLAGE, None, key, written)


def _area_mentions(area: str, gaz: Gazetteer, nat: _National | None) -> dict[str, _Mention]:
    """Return the first mention of each level in an address field."""
    pieces = [p for p in _PIECE_SPLIT.split(area) if p.strip(_PUNCT + " ")]
    found: dict[str, _Mention] = {}
    for index, piece in enumerate(pieces):
        # A bare name after the first piece is read as a province first ("..., Quảng Trị").
        hint = index > 0 and index == len(pieces) - 1
        for mention in _piece_mentions(piece, gaz, nat, hint):
            found.setdefault(mention.kind, mention)
    found.pop("street", None)
    return found


def _fast_fold(text: str) -> str:
    """Return the text folded like fold_diacritics, same length when the text is Vietnamese."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFD", lowered.replace("đ", "d"))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def _text_mentions(
    text: str, gaz: Gazetteer, nat: _National | None
) -> tuple[dict[str, _Mention], bool]:
    """Return the first mention of each level in running text (known names first), and
    whether the village is a gazetteer name written without a unit word."""
    folded_text = _fast_fold(text)
    tokens = folded_text.split()
    written_tokens = text.split()
    aligned = len(written_tokens) == len(tokens)
    # Case and diacritics of the written words are only usable when tokens line up.
    written = written_tokens if aligned else None
    accented = not text.isascii()
    # In text that uses capitals at all, a unit's name must be capitalised: "xã bố trí" is a verb.
    cased = any(c.isupper() for c in text)
    bare_first = gaz._bare_first
    found: dict[str, _Mention] = {}
    fallback: dict[str, _Mention] = {}
    bare_village: _Mention | None = None
    starts = gaz._text_starts
    positions = [i for i, t in enumerate(tokens) if t in starts]
    for i in positions:
        token = tokens[i]
        if token in _TEXT_HEADS:
            unit_found = _read_unit(tokens, i, _TEXT_HEADS)
            # A level already found for sure needs no second look.
            if unit_found is not None and unit_found[0].kind not in found:
                unit, width = unit_found
                # With diacritics, "tình" or "bạn" must not pass for "tỉnh" or "bản".
                if not (accented and aligned) or written_tokens[i].lower() == unit.head:
                    mention = _unit_mention(
                        tokens, written, i + width, unit, gaz, nat, accented, cased
                    )
                    if mention is not None:
                        target = found if mention.confirmed else fallback
                        target.setdefault(mention.kind, mention)
        if bare_village is None and written is not None and token in bare_first:
            bare_village = _bare_text_village(tokens, written, i, bare_first[token], gaz)
        if len(found) == 4:
            break
    # A gazetteer village named without a unit word beats an unknown name after a unit word.
    from_bare = _VILLAGE not in found and bare_village is not None
    if from_bare:
        found[_VILLAGE] = bare_village
    for kind, mention in fallback.items():
        found.setdefault(kind, mention)
    return found, from_bare


def _name_words(
    tokens: Sequence[str], written: Sequence[str] | None, start: int, limit: int = 4
) -> tuple[list[str], list[str]]:
    """Return up to ``limit`` folded and written name words from ``start``, up to punctuation."""
    folded: list[str] = []
    raw: list[str] = []
    for j in range(start, min(start + limit, len(tokens))):
        token = tokens[j]
        word = _strip_word(token)
        if not word or (token[:1] in _PUNCT and j > start):
            break
        folded.append(word)
        raw.append(_strip_word(written[j]) if written is not None else word)
        if token[-1] in _PUNCT:
            break
    return folded, raw


def _unit_mention(
    tokens: Sequence[str],
    written: Sequence[str] | None,
    start: int,
    unit: _Unit,
    gaz: Gazetteer,
    nat: _National | None,
    accented: bool,
    cased: bool = False,
) -> _Mention | None:
    """Return the place named after a unit word in running text, longest known name first.

    Above the village, running text only names a unit through a unit word followed by a name
    written like one: capitalised (when the text uses capitals), with the accents of a known
    spelling (when the text has accents), and a number only after "phường" or "quận", the only
    units ever numbered ("xã 2 lần" counts visits).
    """
    words, raw = _name_words(tokens, written, start)
    if not words:
        return None
    admin = unit.kind != _VILLAGE
    if admin:
        first = raw[0]
        if first.isdecimal() and unit.folded not in _NUMBERED_UNITS:
            return None
        if written is not None and cased and not first.isdecimal() and not first[:1].isupper():
            return None
    # Without diacritics "quan", "xa", "tinh", "ban" are mostly ordinary words ("quan tâm"):
    # after them only a name of two or more words, or written digits, is trusted.
    trusted = unit.strong or accented
    for size in range(len(words), 0, -1):
        key = _name_key(words[:size], raw[:size] if written is not None else None)
        spelled_number = _is_number_key(key) and not words[size - 1].isdecimal()
        if not trusted and size < 2 and not words[0].isdecimal():
            break
        if spelled_number and size < len(words) and raw[size][:1].isupper():
            continue  # "thôn Năm Căn": number words followed by more of the name
        kind = _classify_city(unit, key, nat)
        if kind == _VILLAGE:
            known = bool(_village_hits(gaz, key, unit))
        elif kind == _COMMUNE:
            known = _known_commune(gaz, nat, key)
        elif kind == _DISTRICT:
            known = _known_district(gaz, nat, key)
        else:
            known = nat is not None and key in nat.provinces
        if known and admin and accented and written is not None and not _is_number_key(key):
            spelled = " ".join(raw[:size])
            # A capitalised name typed without any accent is taken as folded ("xã Vinh Giang").
            known = _spelled_as_known(gaz, nat, kind, key, spelled) or (
                spelled.isascii() and spelled[:1].isupper()
            )
        if known:
            return _Mention(kind, unit, key, " ".join(raw[:size]), True)
    # Not in any gazetteer: keep capitalised names (or a number) after a trusted unit word.
    if written is None or (unit.kind != _VILLAGE and nat is not None):
        return None
    if not unit.strong and not accented:
        return None  # "ban", "to", "lang" without diacritics are too often ordinary words
    if raw[0][:1].isdecimal():
        size = 1
    else:
        size = 0
        while size < min(len(raw), 3) and raw[size][:1].isupper():
            size += 1
    if size == 0 or (unit.folded == "to" and not raw[0][:1].isdecimal()):
        return None
    return _Mention(unit.kind, unit, _name_key(words[:size], raw[:size]), " ".join(raw[:size]))


def _bare_text_village(
    tokens: Sequence[str],
    written: Sequence[str],
    start: int,
    names: Sequence[tuple[str, ...]],
    gaz: Gazetteer,
) -> _Mention | None:
    """Return a gazetteer village of 2+ syllables named at ``start`` without a unit word."""
    for name in names:
        end = start + len(name)
        if end > len(tokens):
            continue
        if tuple(_strip_word(t) for t in tokens[start:end]) != name:
            continue
        if any(t[-1] in _PUNCT for t in tokens[start : end - 1]):
            continue
        ends_clause = tokens[end - 1][-1] in _PUNCT
        if end < len(tokens) and not ends_clause and written[end][:1].isupper():
            continue  # the name goes on: "Tân Mỹ Hưng" is not "Tân Mỹ"
        if not all(w[:1].isupper() for w in written[start:end]):
            # "mong được bình an" is a wish, "thôn Bình An" a village: names are capitalised.
            continue
        key = " ".join(name)
        if not _village_hits(gaz, key, None):
            continue
        raw = " ".join(_strip_word(w) for w in written[start:end])
        return _Mention(_VILLAGE, None, key, raw, True)
    return None


def _ner_mentions(text: str, gaz: Gazetteer, nat: _National | None) -> dict[str, _Mention]:
    """Return mentions built from underthesea's NER locations (slow: several ms per text)."""
    # Heavy: loads a model on first call, under the tokenizer module's loading lock.
    from pipeline.text.tokenize import underthesea_tool

    spans: list[list[str]] = []
    for token, _pos, _chunk, tag in underthesea_tool("ner")(text):
        if tag == "B-LOC" or (tag == "I-LOC" and not spans):
            spans.append([token])
        elif tag == "I-LOC":
            spans[-1].append(token)
        else:
            spans.append([])
    found: dict[str, _Mention] = {}
    for span in spans:
        if not span:
            continue
        pieces = _piece_mentions(" ".join(span), gaz, nat, False, national_units=False)
        for mention in pieces:
            # NER names a location but not which level: keep only what a gazetteer confirms.
            if mention.confirmed or (mention.unit is not None and mention.kind != "street"):
                found.setdefault(mention.kind, mention)
    found.pop("street", None)
    return found


# --------------------------------------------------------------------------- resolution


def _distinct(hits: Iterable[GazetteerVillage]) -> int:
    return len({(v.village, v.commune, v.province) for v in hits})


def _filter_hits(
    hits: Sequence[GazetteerVillage],
    commune_key: str,
    province_text: str | None,
    province_keys: set[str],
    district: str,
) -> list[GazetteerVillage]:
    """Return the gazetteer villages that fit the commune, province and district found."""
    kept = list(hits)
    if commune_key:
        kept = [v for v in kept if v.commune_key == commune_key]
    if province_text is not None:
        allowed = province_keys | {_short_key(province_text)}
        kept = [v for v in kept if v.province_key in allowed]
    if district:
        kept = [v for v in kept if v.district_key in ("", district)]
    return kept


def _resolve(
    mentions: Mapping[str, _Mention],
    gaz: Gazetteer,
    nat: _National | None,
    from_text: bool = False,
) -> tuple[str | None, str | None, str | None, bool]:
    """Return (village, commune, province) displays and whether every level was confirmed.

    ``from_text`` marks mentions read from running text, where a gazetteer village outranks a
    commune name that no gazetteer confirms or that only the national data knows.
    """
    village_m = mentions.get(_VILLAGE)
    commune_m = mentions.get(_COMMUNE)
    district_m = mentions.get(_DISTRICT)
    province_m = mentions.get(_PROVINCE)
    district = district_m.key if district_m else ""

    province: _Province | None = None
    province_text: str | None = None
    if province_m is not None:
        if nat is not None and province_m.key in nat.provinces:
            province = nat.provinces[province_m.key]
            province_text = province.display
        else:
            province_text = _display(province_m.unit, _title(province_m.written), "tỉnh")
    elif district and nat is not None:
        owners = nat.old_districts.get(district, frozenset())
        if len(owners) == 1:
            province = nat.provinces[next(iter(owners))]
            province_text = province.display
    province_keys = (
        {province.key, province.written_key}
        if province
        else {province_m.key}
        if province_m
        else set()
    )

    commune_text: str | None = None
    commune_key = ""
    confirmed = True
    commune_local = False  # the commune was confirmed by the local gazetteer
    if commune_m is not None:
        local = list(gaz._communes.get(commune_m.key, ()))
        if province_keys:
            local = [c for c in local if c.province_key in province_keys]
        if district:
            local = _narrow(local, lambda c: c.district_key == district)
        picked = _single((c.commune, c.province) for c in local)
        commune_local = picked is not None
        if picked is None and nat is not None:
            unit = commune_m.unit.folded if commune_m.unit and not commune_m.unit.abbrev else ""
            picked = _national_commune(nat, commune_m.key, unit, province, district)
        if picked is not None:
            commune_text, province_text = picked
            commune_key = _short_key(commune_text)
        else:
            commune_text = _display(commune_m.unit, _title(commune_m.written), "xã")
            commune_key = commune_m.key
            confirmed = False

    village_text: str | None = None
    if village_m is not None:
        local_hits = list(_village_hits(gaz, village_m.key, village_m.unit))
        if from_text and commune_m is not None and not confirmed and local_hits:
            # An unconfirmed commune name in text does not move a gazetteer village: the
            # village keeps its gazetteer commune when it is the only one it can be.
            own = _filter_hits(local_hits, "", province_text, province_keys, district)
            if _distinct(own) == 1:
                commune_text, commune_key = None, ""
        hits = _filter_hits(local_hits, commune_key, province_text, province_keys, district)
        if _distinct(hits) == 1:
            hit = hits[0]
            village_text = hit.village
            commune_text = commune_text or hit.commune
            province_text = province_text or hit.province
        elif from_text and commune_key and not commune_local and local_hits:
            # A commune known only nationally is not paired with a village that the local
            # gazetteer puts in another commune: "thôn 12, xã Kim Bôi" would be a made-up place.
            confirmed = False
        else:
            village_text = _display(village_m.unit, _title(village_m.written))
            confirmed = False
    if province_m is not None and province is None:
        confirmed = False
    if commune_text is None or province_text is None:
        confirmed = False
    return village_text, commune_text, province_text, confirmed


def resolve_place(
    area: str | None,
    text: str,
    gazetteer: Gazetteer | None = None,
    *,
    use_ner: bool = False,
) -> PlaceMatch:
    """Return the normalised place of a petition from its metadata area, else from its text.

    ``use_ner`` adds underthesea's NER locations when the rules find no village in the text; it
    costs several milliseconds per text, so it is off by default.
    """
    gaz = gazetteer if gazetteer is not None else _EMPTY_GAZETTEER
    nat = _national()
    source = "none"
    mentions: Mapping[str, _Mention] = {}
    if area and area.strip():
        mentions = _area_mentions(unicodedata.normalize("NFC", area), gaz, nat)
        source = "metadata" if mentions else "none"
    if not mentions and text:
        mentions, from_bare = _text_mentions(text, gaz, nat)
        if mentions:
            source = "gazetteer" if from_bare else "text"
        if use_ner and _VILLAGE not in mentions:
            extra = _ner_mentions(text, gaz, nat)
            if any(kind not in mentions for kind in extra):
                mentions = {**extra, **mentions}
                source = "ner"
    if not mentions:
        return PlaceMatch(UNKNOWN_AREA, None, None, None, PlaceStatus.NOT_FOUND, "none")
    village, commune, province, confirmed = _resolve(mentions, gaz, nat, source != "metadata")
    parts = [p for p in (village, commune, province) if p]
    if not parts:
        return PlaceMatch(UNKNOWN_AREA, None, None, None, PlaceStatus.NOT_FOUND, source)
    status = PlaceStatus.SUCCESS if confirmed else PlaceStatus.PARTIAL
    return PlaceMatch(", ".join(parts), village, commune, province, status, source)
