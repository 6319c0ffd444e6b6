"""Generate realistic monthly batches of citizen texts for one commune: xã Vĩnh Giang, Quảng Trị.

Importable by path (benchmarks use importlib.util.spec_from_file_location) and runnable:

    .venv/bin/python data/samples/generate.py --out data/samples/out --per-month 1500

The phrase banks live in ``phrases.yaml`` next to this file and the villages in
``data/gazetteer/quang-tri-vinh-giang.csv``. Everything is deterministic for a given seed.
Baseline volume follows per-village Poisson rates with seasonal and weekday effects; a few
hot spots (:class:`Spike`) are injected on top and written out as ground truth.
"""

import argparse
import csv
import json
import math
import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
PHRASES_PATH = HERE / "phrases.yaml"
GAZETTEER_PATH = HERE.parent / "gazetteer" / "quang-tri-vinh-giang.csv"

COMMUNE = "xã Vĩnh Giang"
PROVINCE = "tỉnh Quảng Trị"
FORMER_DISTRICT = "huyện Vĩnh Linh"

TOPICS: tuple[str, ...] = (
    "land", "environment", "religion", "policy", "infrastructure", "security", "governance",
    "other",
)
CSV_COLUMNS: tuple[str, ...] = (
    "text", "received_at", "area", "source_type", "external_id", "sender_name",
    "sender_contact", "channel",
)
XLSX_TITLE = "SỔ THEO DÕI ĐƠN THƯ, PHẢN ÁNH THÁNG {month}/{year}"
XLSX_HEADERS: tuple[str, ...] = (
    "STT", "Ngày tiếp nhận", "Họ tên", "Số điện thoại", "Địa chỉ", "Loại đơn", "Nội dung đơn",
    "Kênh tiếp nhận",
)
SOURCE_TYPE_LABELS: dict[str, str] = {
    "petition": "Đơn kiến nghị",
    "complaint": "Đơn khiếu nại",
    "denunciation": "Đơn tố cáo",
    "feedback": "Phản ánh",
    "social": "Mạng xã hội",
    "minutes": "Biên bản",
}
XLSX_MONTH = 6  # June is delivered as an office spreadsheet instead of a CSV.

# Share of each source type, and the channels each one arrives through.
SOURCE_MIX: dict[str, float] = {
    "feedback": 0.40, "petition": 0.25, "complaint": 0.15, "social": 0.12,
    "denunciation": 0.05, "minutes": 0.03,
}
CHANNELS: dict[str, dict[str, float]] = {
    "feedback": {"Đường dây nóng": 0.45, "Trực tiếp": 0.25, "Hòm thư góp ý": 0.15, "Zalo": 0.15},
    "petition": {"Trực tiếp": 0.55, "Bưu điện": 0.30, "Hòm thư góp ý": 0.15},
    "complaint": {"Trực tiếp": 0.60, "Bưu điện": 0.40},
    "denunciation": {"Trực tiếp": 0.35, "Bưu điện": 0.35, "Hòm thư góp ý": 0.30},
    "social": {"Facebook": 0.70, "Zalo": 0.30},
    "minutes": {"Trực tiếp": 1.0},
}
SPIKE_SOURCE_MIX: dict[str, float] = {
    "petition": 0.35, "feedback": 0.30, "social": 0.20, "complaint": 0.15,
}
FORMAL_STYLES = frozenset({"petition", "complaint", "denunciation", "box"})

# Baseline topic shares and month multipliers (Central Vietnam: dry hot summer, floods in
# Oct-Nov, land business before Tết, policy payouts in January and around 27/7).
TOPIC_SHARE: dict[str, float] = {
    "land": 0.22, "environment": 0.13, "religion": 0.025, "policy": 0.18,
    "infrastructure": 0.17, "security": 0.10, "governance": 0.10, "other": 0.075,
}
SEASON: dict[str, dict[int, float]] = {
    "land": {1: 1.4, 2: 1.1, 11: 1.25, 12: 1.5},
    "environment": {1: 0.8, 4: 1.2, 5: 1.5, 6: 1.7, 7: 1.8, 8: 1.5, 9: 1.1, 11: 0.8, 12: 0.7},
    "infrastructure": {6: 0.85, 7: 0.85, 9: 1.2, 10: 1.9, 11: 1.9, 12: 1.3},
    "policy": {1: 1.8, 2: 1.2, 7: 1.8},
    "security": {1: 1.3, 2: 1.4, 12: 1.2},
}
WEEKDAY_FACTOR: tuple[float, ...] = (1.15, 1.0, 1.0, 1.0, 1.0, 0.6, 0.25)  # Monday .. Sunday
# Local character: river villages near sand mining, coastal villages, parishes, busy hamlets.
VILLAGE_BIAS: dict[tuple[str, str], float] = {
    ("Tân Mỹ", "environment"): 1.7, ("Bến Đò", "environment"): 1.8,
    ("Thủy Ba", "environment"): 1.4, ("Diêm Hải", "environment"): 1.4,
    ("Cát Sơn", "environment"): 1.3, ("Diêm Hải", "security"): 1.3,
    ("Quảng Xá", "land"): 1.3, ("Cổ Mỹ", "religion"): 2.5, ("Tùng Luật", "religion"): 2.2,
    ("Hà Lợi Trung", "governance"): 1.5, ("Thủy Ba Đông", "infrastructure"): 1.3,
}

RESUBMISSION_RATE = 0.03
PHONE_PREFIXES: tuple[str, ...] = (
    "091", "094", "088", "098", "097", "096", "086", "035", "036", "037", "038", "039", "032",
    "033", "034", "070", "076", "077", "078", "079", "081", "082", "083", "084", "085", "090",
    "093", "089",
)
# Phrases that only make sense in some months (by a word they contain).
SEASONAL_WORDS: dict[str, frozenset[int]] = {
    "Tết": frozenset({11, 12, 1, 2}),
    "27/7": frozenset({7, 8, 9, 10, 11, 12}),
    "hè năm nay": frozenset({3, 4, 5, 6, 7}),
    "trước mùa hè": frozenset({2, 3, 4, 5}),
    "nắng nóng": frozenset({4, 5, 6, 7, 8, 9}),
    "giáp hạt": frozenset({3, 4, 8, 9}),
    "Phật đản": frozenset({4, 5}),
    "đông xuân": frozenset({11, 12, 1, 2}),
    "sau lũ": frozenset({10, 11, 12, 1, 2}),
    "Sau mùa lũ": frozenset({10, 11, 12, 1, 2}),
    "chạy bão": frozenset({8, 9, 10, 11}),
    "vụ hè thu": frozenset({4, 5, 6, 7}),
    "sáu tháng đầu năm": frozenset({6, 7}),
}
# Addressees that only fit some topics, and phrases only one sex would say.
ADDRESSEES: dict[str, frozenset[str]] = {
    "Công an xã": frozenset({"security", "land", "environment", "religion"}),
    "Ủy ban kiểm tra": frozenset({"governance"}),
}
GENDERED: dict[str, bool] = {"vợ tôi": True, "chồng tôi": False}
_STOP_SYLLABLES = frozenset(
    "của và để cho ở các những được không đã xã thôn tôi có là với trong từ một người dân nhà"
    " bị rất nhiều mà thì này đến nay ra vào lại cũng gia đình bà con".split()
)
_SLOT = re.compile(r"\{(\w+)\}")
_ALTERNATIVE = re.compile(r"\[([^\[\]]*)\]")


@dataclass(frozen=True)
class Spike:
    """An injected hot spot: ``count`` records on ``topic`` from ``village`` in ``days`` days.

    ``campaign`` names a company or project every spike text mentions in near-identical
    wording from different senders (an emerging issue).
    """

    village: str
    topic: str
    start: date
    days: int
    count: int
    signals: tuple[str, ...] = ()
    campaign: str | None = None

    @property
    def end(self) -> date:
        """Last day of the spike window (inclusive)."""
        return self.start + timedelta(days=self.days - 1)


DEFAULT_SPIKES: tuple[Spike, ...] = (
    Spike("Lai Phước", "environment", date(2025, 3, 10), 5, 14, ("mass",),
          "Công ty TNHH Chăn nuôi Hưng Phát"),
    Spike("Phúc Lâm", "religion", date(2025, 6, 16), 6, 9),
    Spike("Quảng Xá", "land", date(2025, 9, 8), 7, 16, ("mass", "repeat")),
    Spike("Thủy Ba Đông", "infrastructure", date(2025, 10, 27), 4, 18, ("urgent",)),
    Spike("Hà Lợi Thượng", "security", date(2025, 11, 12), 7, 11, ("urgent", "repeat")),
)


# --------------------------------------------------------------------------------------------
# Loading


@lru_cache(maxsize=4)
def load_phrases(path: Path = PHRASES_PATH) -> dict[str, Any]:
    """Return the phrase banks (NFC-normalised)."""
    text = unicodedata.normalize("NFC", Path(path).read_text(encoding="utf-8"))
    return yaml.safe_load(text)


@lru_cache(maxsize=4)
def load_gazetteer(path: Path = GAZETTEER_PATH) -> tuple[dict[str, Any], ...]:
    """Return the gazetteer rows: province, commune, village, aliases (tuple), former_district."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        rows = []
        for row in csv.DictReader(handle):
            aliases = tuple(a.strip() for a in row["aliases"].split("|") if a.strip())
            rows.append({**row, "aliases": aliases})
    return tuple(rows)


# --------------------------------------------------------------------------------------------
# Small text helpers


def strip_diacritics(text: str) -> str:
    """Return text typed without Vietnamese diacritics."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def village_phrase(village: str) -> str:
    """How a village is named inside a sentence: "thôn Tân Mỹ", "thôn 5"."""
    if village.lower().startswith("thôn "):
        return "thôn " + village[5:]
    return "thôn " + village


def village_area(village: str, *, old_form: bool = False) -> str:
    """The canonical area string of a village (optionally with the former district)."""
    head = village if village.lower().startswith("thôn ") else "thôn " + village
    if old_form:
        return f"{head}, {COMMUNE}, {FORMER_DISTRICT}, {PROVINCE}"
    return f"{head}, {COMMUNE}, {PROVINCE}"


def _lower_first(text: str) -> str:
    if len(text) > 1 and (text[1].islower() or text[1] == " "):
        return text[0].lower() + text[1:]
    return text


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _syllables(text: str) -> int:
    return len(text.split())


@lru_cache(maxsize=4096)
def _keys(phrase: str) -> frozenset[tuple[str, str]]:
    """Content syllable pairs of a phrase, to pick a request that fits the problem."""
    words = re.findall(r"[^\W\d_]+", _SLOT.sub(" ", phrase.lower()))
    return frozenset((a, b) for a, b in zip(words, words[1:], strict=False)
                     if not (a in _STOP_SYLLABLES and b in _STOP_SYLLABLES))


def _in_season(phrase: str, month: int) -> bool:
    return all(month in months for word, months in SEASONAL_WORDS.items() if word in phrase)


def _fits(phrase: str, month: int, topic: str, male: bool | None) -> bool:
    """Whether a phrase suits the month, the topic (for addressees) and the sender's sex."""
    if not _in_season(phrase, month):
        return False
    if any(word in phrase and topic not in topics for word, topics in ADDRESSEES.items()):
        return False
    if male is not None:
        lowered = phrase.lower()
        return not any(word in lowered and male != for_men for word, for_men in GENDERED.items())
    return True


def _weighted(rng: random.Random, table: dict[str, float]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 400:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _month_days(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return [first + timedelta(days=i) for i in range((nxt - first).days)]


def format_phone(rng: random.Random, digits: str) -> str:
    """Write a 10-digit mobile number the way people do: spaces, dots, +84, or nothing."""
    a, b, c = digits[:4], digits[4:7], digits[7:]
    style = rng.random()
    if style < 0.30:
        return f"{a} {b} {c}"
    if style < 0.50:
        return digits
    if style < 0.65:
        return f"{a}.{b}.{c}"
    if style < 0.78:
        return f"+84 {digits[1:]}"
    if style < 0.88:
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    if style < 0.95:
        return f"{a}-{b}-{c}"
    return f"(+84) {digits[1:4]} {digits[4:7]} {digits[7:]}"


# --------------------------------------------------------------------------------------------
# People


@dataclass(frozen=True)
class _Person:
    name: str
    male: bool
    phone: str | None

    @property
    def honorific(self) -> str:
        return "ông" if self.male else "bà"


class _Slots(dict):
    """Per-text slot values, generated on first use so one text stays consistent."""

    def __init__(self, factory: Callable[[str], str]):
        super().__init__()
        self._factory = factory

    def __missing__(self, key: str) -> str:
        value = self._factory(key)
        self[key] = value
        return value


# --------------------------------------------------------------------------------------------
# The generator


class _Writer:
    """Composes texts and records from the phrase banks with one random stream."""

    def __init__(self, phrases: dict[str, Any], aliases: dict[str, tuple[str, ...]],
                 rng: random.Random):
        self.ph = phrases
        self.aliases = aliases
        self.rng = rng
        self.seen: set[str] = set()
        names = phrases["names"]
        self._family = names["family"]
        self._family_w = [1.0 / (i + 1) ** 0.9 for i in range(len(self._family))]
        self._family_w[0] *= 3.0  # Nguyễn
        self._regulars: dict[str, list[_Person]] = {}
        self._abbrev = [
            (re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE), tuple(repls))
            for word, repls in phrases.get("abbreviations", {}).items()
        ]

    # -- people ------------------------------------------------------------------------------
    def person(self, *, phone_p: float = 0.8, male: bool | None = None) -> _Person:
        rng, names = self.rng, self.ph["names"]
        male = rng.random() < 0.55 if male is None else male
        family = rng.choices(self._family, weights=self._family_w)[0]
        if male:
            middle, given = rng.choice(names["middle_male"]), rng.choice(names["given_male"])
        else:
            middle, given = rng.choice(names["middle_female"]), rng.choice(names["given_female"])
            if middle == "Thị" and rng.random() < 0.2:
                middle = "Thị " + rng.choice(["Thu", "Thanh", "Kim", "Ngọc", "Minh"])
        name = f"{family} {middle} {given}"
        return _Person(name, male, self.phone() if rng.random() < phone_p else None)

    def phone(self) -> str:
        rng = self.rng
        if rng.random() < 0.05:  # a Quảng Trị landline
            digits = "02333" + "".join(rng.choice("0123456789") for _ in range(6))
            return f"0233 {digits[4:8]} {digits[8:]}" if rng.random() < 0.5 else digits
        digits = rng.choice(PHONE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(7))
        return format_phone(rng, digits)

    def sender(self, village: str) -> _Person:
        """A sender from the village; some residents write again and again."""
        pool = self._regulars.setdefault(village, [])
        if len(pool) < 5:
            pool.append(self.person(phone_p=0.9))
        if self.rng.random() < 0.12:
            return self.rng.choice(pool)
        return self.person()

    # -- slots -------------------------------------------------------------------------------
    def slots(self, *, village: str, topic: str, day: date, known: bool,
              sender: _Person | None, campaign: str | None = None,
              households: tuple[int, int] = (8, 60),
              days_back: tuple[int, int] = (6, 150)) -> _Slots:
        rng = self.rng

        def village_text() -> str:
            if not known:
                return rng.choice(["thôn tôi", "thôn mình", "xóm tôi", "xóm mình"])
            alternatives = [a for a in self.aliases.get(village, ()) if a.lower().startswith(
                "thôn ") and a != strip_diacritics(a)]
            if alternatives and rng.random() < 0.12:
                return rng.choice(alternatives)
            return village_phrase(village)

        def past_date() -> str:
            when = day - timedelta(days=rng.randint(*days_back))
            other_year = when.year != day.year
            form = rng.random()
            if form < 0.45:
                return f"ngày {when.day}/{when.month}" + (f"/{when.year}" if other_year else "")
            if form < 0.75:
                part = "đầu" if when.day <= 10 else ("giữa" if when.day <= 20 else "cuối")
                return f"{part} tháng {when.month}" + (f" năm {when.year}" if other_year else "")
            return f"ngày {when.day}/{when.month}/{when.year}"

        def amount() -> str:
            r = rng.random()
            if r < 0.6:
                return f"{rng.randint(3, 90)} triệu đồng"
            if r < 0.85:
                return f"{rng.randint(1, 19)},{rng.randint(1, 9)} triệu đồng"
            return f"{rng.randrange(200, 1000, 50)} nghìn đồng"

        companies = self.ph["companies"]

        def factory(key: str) -> str:
            match key:
                case "village":
                    return village_text()
                case "sender":
                    return sender.name if sender else self.person().name
                case "sender_h":
                    who = sender or self.person()
                    return f"{who.honorific} {who.name}"
                case "name":
                    return self.person(male=True).name
                case "company":
                    return rng.choice(companies.get(topic, companies["default"]))
                case "campaign":
                    return campaign or rng.choice(companies["default"])
                case "amount":
                    return amount()
                case "fee":
                    return f"{rng.randrange(50, 600, 50)} nghìn đồng"
                case "date":
                    return past_date()
                case "households":
                    return str(rng.randint(*households))
                case "members":
                    return str(rng.randint(3, 8))
                case "times":
                    return str(rng.randint(2, 6))
                case "length":
                    return str(rng.randrange(30, 900, 10))
                case "area_m2":
                    return str(rng.randrange(20, 1500, 5))
                case "count_small":
                    return str(rng.randint(2, 6))
                case "year_past":
                    return str(rng.randint(2016, day.year - 1))
                case "voters":
                    return str(rng.randint(45, 120))
            raise KeyError(key)

        return _Slots(factory)

    def fill(self, template: str, slots: _Slots) -> str:
        text = _ALTERNATIVE.sub(lambda m: self.rng.choice(m.group(1).split("|")), template)
        return _SLOT.sub(lambda m: slots[m.group(1)], text)

    # -- composition -------------------------------------------------------------------------
    @staticmethod
    def style_of(source_type: str, channel: str) -> str:
        if source_type == "social":
            return "facebook" if channel == "Facebook" else "zalo"
        if source_type == "feedback":
            return {"Đường dây nóng": "hotline", "Hòm thư góp ý": "box", "Trực tiếp": "direct",
                    "Zalo": "zalo"}.get(channel, "hotline")
        return source_type

    def compose(self, *, topic: str, style: str, slots: _Slots, sender: _Person | None,
                known: bool, name_village: bool, signals: Sequence[str], month: int,
                bank: dict[str, list[str]] | None = None) -> str:
        """Compose one text: opener, intro, problem, details, signals, request, closing."""
        rng, ph = self.rng, self.ph
        topic_bank = ph["topics"][topic]
        bank = bank or topic_bank

        male = sender.male if sender is not None else None

        def pool(name: str, source: dict[str, list[str]] = bank) -> list[str]:
            items = source.get(name) or topic_bank[name]
            return [x for x in items if _fits(x, month, topic, male)] or list(items)

        formal = style in FORMAL_STYLES
        two = formal and topic != "other" and rng.random() < 0.12
        problem_pool = pool("problems")
        # A small theme bank may hold a single sentence: never ask for more than it has.
        problems = rng.sample(problem_pool, min(2 if two else 1, len(problem_pool)))
        detail_pool = pool("details")
        if bank is not topic_bank and rng.random() < 0.4:
            detail_pool += pool("details", topic_bank)
        request = self.pick_request(problems[0], pool("requests"))
        if style == "minutes":
            body = [self.fill(problems[0], slots)]
            if rng.random() < 0.7:
                body.append(self.fill(request, slots))
            opener = self.fill(rng.choice(ph["openers"]["minutes"]), slots)
            return f"{opener} {_lower_first(' '.join(body))}"

        head: list[str] = []
        openers = [o for o in ph["openers"][style] if _fits(o, month, topic, None)]
        opener = self.fill(rng.choice(openers), slots)
        if opener:
            head.append(opener)
        intro_p = 0.85 if formal else 0.3
        if known and sender is not None and rng.random() < intro_p:
            kind = "formal" if formal else "informal"
            head.append(self.fill(rng.choice(ph["intros"][kind]), slots))
        body = [self.fill(p, slots) for p in problems]
        n_details = rng.choice((1, 1, 2)) if formal else int(rng.random() < 0.45)
        details = [self.fill(d, slots)
                   for d in rng.sample(detail_pool, min(n_details, len(detail_pool)))]
        sig = [self.fill(rng.choice(ph["signals"][s]), slots) for s in signals]
        tail: list[str] = []
        if formal or rng.random() < 0.65:
            tail.append(self.fill(request, slots))
        closing_p = 0.8 if formal else 0.4
        if rng.random() < closing_p:
            kind = "formal" if formal else ("social" if style == "facebook" else "informal")
            tail.append(rng.choice(ph["closings"][kind]))

        def joined() -> str:
            parts = [x for x in (*head, *body, *details, *sig, *tail) if x]
            if len(parts) > 1 and parts[0].endswith(","):  # "Mọi người ơi, bãi đất công ..."
                parts[1] = _lower_first(parts[1])
            return " ".join(parts)

        text = joined()
        if name_village and slots["village"] not in text:
            # No area on the record: make sure the village is named in the text.
            intro = self.fill(rng.choice(ph["intros"]["informal"]), slots)
            head.insert(1 if opener else 0, intro)
            text = joined()
        while _syllables(text) > 200 and (details or len(body) > 1):
            if details:
                details.pop()
            else:
                body.pop()
            text = joined()
        if _syllables(text) < 20 and not tail:
            tail.append(self.fill(request, slots))
            text = joined()
        extra = [d for d in detail_pool if d not in details]
        while _syllables(text) < 20 and extra:
            details.append(self.fill(extra.pop(rng.randrange(len(extra))), slots))
            text = joined()
        return text

    def pick_request(self, problem: str, requests: Sequence[str]) -> str:
        """A request that shares words with the problem when there is one, else any."""
        keys = _keys(problem)
        fitting = [r for r in requests if keys & _keys(r)]
        if fitting and self.rng.random() < 0.75:
            return self.rng.choice(fitting)
        return self.rng.choice(requests)

    def roughen(self, text: str, style: str) -> str:
        """Typing habits of messages: abbreviations, sometimes no diacritics at all."""
        rng = self.rng
        abbrev_p = {"facebook": 0.25, "zalo": 0.25, "hotline": 0.08, "direct": 0.03}.get(style, 0)
        plain_p = {"facebook": 0.12, "zalo": 0.12, "hotline": 0.04, "box": 0.03}.get(style, 0)
        if rng.random() < abbrev_p:
            for pattern, replacements in self._abbrev:
                if rng.random() < 0.7:
                    text = pattern.sub(lambda _m, r=replacements: rng.choice(r), text)
        if rng.random() < plain_p:
            text = strip_diacritics(text)
        return text

    def unique(self, make: Callable[[], str], *, tries: int = 12) -> str:
        text = make()
        for _ in range(tries):
            if text not in self.seen:
                break
            text = make()
        self.seen.add(text)
        return text

    # -- records -----------------------------------------------------------------------------
    def record(self, day: date, village: str, topic: str, *, spike: Spike | None = None,
               spike_index: int | None = None) -> dict[str, Any]:
        rng = self.rng
        if spike is None:
            source_type = _weighted(rng, SOURCE_MIX)
            if topic == "other" and source_type == "denunciation":
                source_type = "feedback"
        else:
            source_type = _weighted(rng, SPIKE_SOURCE_MIX)
        channel = _weighted(rng, CHANNELS[source_type])
        style = self.style_of(source_type, channel)

        r = rng.random()
        if spike is not None:
            mode = "new" if r < 0.8 else ("old" if r < 0.9 else "text")
        else:
            mode = ("new" if r < 0.77 else "old" if r < 0.87 else "text" if r < 0.97
                    else "unknown")
        if style == "minutes" and mode == "unknown":
            mode = "text"  # a statement at a meeting always says where the voter lives
        known = mode != "unknown"

        sender: _Person | None = self.sender(village)
        contact = sender.phone
        name: str | None = sender.name
        if source_type == "denunciation" and rng.random() < 0.45:
            sender, name, contact = None, None, None
        elif style == "facebook":
            if rng.random() < 0.5:
                name = rng.choice(self.ph["names"]["handles"])
            contact = contact if rng.random() < 0.1 else None
        elif style == "hotline":
            name = name if rng.random() < 0.8 else None
        elif style == "box":
            name = name if rng.random() < 0.6 else None
            contact = contact if rng.random() < 0.5 else None
        elif style == "minutes":
            contact = None
        if name is None and sender is not None and style != "minutes":
            sender = None

        households = (25, 120) if spike is not None else (8, 60)
        signals: list[str] = []
        if spike is not None:
            signals = [s for s in spike.signals if rng.random() < 0.85] or list(spike.signals[:1])
        else:
            for sig, p in (("repeat", 0.06), ("mass", 0.04), ("escalated", 0.03),
                           ("urgent", 0.05 if topic in ("security", "environment") else 0.015)):
                if rng.random() < p:
                    signals.append(sig)

        def make() -> str:
            slots = self.slots(village=village, topic=topic, day=day, known=known, sender=sender,
                               campaign=spike.campaign if spike else None, households=households,
                               days_back=(4, 25) if spike else (6, 150))
            if spike is not None and spike.campaign:
                text = self.campaign_text(spike, slots, sender, signals)
            else:
                bank = None
                if spike is not None:
                    bank = self.ph.get("spike_themes", {}).get(spike.topic)
                text = self.compose(topic=topic, style=style, slots=slots, sender=sender,
                                    known=known, name_village=mode == "text", signals=signals,
                                    month=day.month, bank=bank)
            return self.roughen(text, style)

        text = self.unique(make)
        if mode in ("new", "old"):
            area: str | None = village_area(village, old_form=mode == "old")
        elif mode == "unknown" and rng.random() < 0.5:
            area = f"{COMMUNE}, {PROVINCE}"
        else:
            area = None
        return {
            "text": text,
            "received_at": day,
            "area": area,
            "source_type": source_type,
            "external_id": None,
            "sender_name": name,
            "sender_contact": contact,
            "channel": channel,
            "topic": topic,
            "spike": spike_index,
            "village": village,
        }

    def campaign_text(self, spike: Spike, slots: _Slots, sender: _Person | None,
                      signals: Sequence[str]) -> str:
        """Near-identical wording shared by every sender of a campaign."""
        rng, ph = self.rng, self.ph
        templates = ph["campaign_templates"]
        onset = spike.start - timedelta(days=12)
        slots["date"] = f"ngày {onset.day}/{onset.month}"
        slots["village"] = village_phrase(spike.village)
        text = self.fill(rng.choice(templates.get(spike.topic, templates["default"])), slots)
        if sender is not None and rng.random() < 0.6:
            first, _, rest = text.partition(". ")
            text = f"{first}. Tôi là {sender.name}. {rest}"
        for sig in signals:
            if rng.random() < 0.7:
                text += " " + self.fill(rng.choice(ph["signals"][sig]), slots)
        return text


def _village_topic_weights(villages: Sequence[str], rng: random.Random) -> dict[str, list[float]]:
    """Each village's own rate per topic: busier villages, local character, random spread."""
    weights: dict[str, list[float]] = {}
    for village in villages:
        busy = rng.lognormvariate(0.0, 0.5)
        weights[village] = [
            busy * TOPIC_SHARE[t] * rng.lognormvariate(0.0, 0.4) * VILLAGE_BIAS.get((village, t), 1)
            for t in TOPICS
        ]
    return weights


def generate_records(
    start: date,
    end: date,
    *,
    per_month: int = 1500,
    spikes: Sequence[Spike] = DEFAULT_SPIKES,
    seed: int = 42,
    villages: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Return canonical records received from ``start`` to ``end`` (inclusive), by date.

    Each record has the canonical keys (text, received_at, area, source_type, external_id,
    sender_name, sender_contact, channel) plus ``topic`` (intended topic code), ``spike``
    (index into ``spikes`` or None) and ``village`` (the intended village), the last three for
    benchmarks only.
    """
    phrases = load_phrases()
    gazetteer = load_gazetteer()
    aliases = {row["village"]: row["aliases"] for row in gazetteer}
    village_list = list(villages) if villages is not None else [r["village"] for r in gazetteer]
    rng = random.Random(seed)
    writer = _Writer(phrases, aliases, rng)
    weights = _village_topic_weights(village_list, random.Random(seed * 7919 + 17))
    # A religion spike is the first religious matter ever seen in its village: no baseline
    # religion there up to the end of the spike's month.
    blocked = {(s.village, s.topic): (s.end.year, s.end.month) for s in spikes
               if s.topic == "religion"}
    cells = [(v, t) for v in village_list for t in TOPICS]
    baseline_target = per_month * (1 - RESUBMISSION_RATE)

    drawn: list[tuple[date, str, str]] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        days = _month_days(year, month)
        cell_w = []
        for village, topic in cells:
            w = weights[village][TOPICS.index(topic)] * SEASON.get(topic, {}).get(month, 1.0)
            stop = blocked.get((village, topic))
            if stop is not None and (year, month) <= stop:
                w = 0.0
            cell_w.append(w)
        cum, total = [], 0.0
        for w in cell_w:
            total += w
            cum.append(total)
        day_w = [WEEKDAY_FACTOR[d.weekday()] for d in days]
        day_total = sum(day_w)
        for d, dw in zip(days, day_w, strict=True):
            if start <= d <= end:
                n = _poisson(rng, baseline_target * dw / day_total)
                for village, topic in rng.choices(cells, cum_weights=cum, k=n):
                    drawn.append((d, village, topic))
        year, month = (year + (month == 12), month % 12 + 1)

    records = [writer.record(d, v, t) for d, v, t in drawn]

    for index, spike in enumerate(spikes):
        offsets = list(range(spike.days))
        offset_w = [1.0 / (1 + 0.35 * i) for i in offsets]  # most arrive in the first days
        for _ in range(spike.count):
            d = spike.start + timedelta(days=rng.choices(offsets, weights=offset_w)[0])
            if start <= d <= end:
                records.append(writer.record(d, spike.village, spike.topic, spike=spike,
                                             spike_index=index))

    resubmissions = []
    for rec in records:
        if rec["spike"] is None and rng.random() < RESUBMISSION_RATE:
            again = rec["received_at"] + timedelta(days=rng.randint(2, 9))
            if again <= end:
                resubmissions.append({**rec, "received_at": again})
    records.extend(resubmissions)

    order = sorted(range(len(records)), key=lambda i: (records[i]["received_at"], i))
    records = [records[i] for i in order]
    counters: dict[tuple[int, int], int] = {}
    for rec in records:
        key = (rec["received_at"].year, rec["received_at"].month)
        counters[key] = counters.get(key, 0) + 1
        rec["external_id"] = f"VG-{key[0]}{key[1]:02d}-{counters[key]:05d}"
    return records


# --------------------------------------------------------------------------------------------
# Writers


def _write_csv(path: Path, records: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for rec in records:
            row = []
            for col in CSV_COLUMNS:
                value = rec[col]
                row.append(value.isoformat() if isinstance(value, date) else (value or ""))
            writer.writerow(row)


def _write_xlsx(path: Path, records: Sequence[dict[str, Any]], year: int, month: int) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = f"Tháng {month}"
    ws.append([XLSX_TITLE.format(month=month, year=year)])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(XLSX_HEADERS))
    ws["A1"].font = Font(bold=True, size=13)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([])
    ws.append(list(XLSX_HEADERS))
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for n, rec in enumerate(records, start=1):
        ws.append([
            n,
            rec["received_at"].strftime("%d/%m/%Y"),
            rec["sender_name"] or "",
            rec["sender_contact"] or "",
            rec["area"] or "",
            SOURCE_TYPE_LABELS[rec["source_type"]],
            rec["text"],
            rec["channel"],
        ])
    for letter, width in zip("ABCDEFGH", (6, 14, 24, 16, 44, 16, 90, 16), strict=True):
        ws.column_dimensions[letter].width = width
    wb.save(path)


def build_minutes(year: int, seed: int, villages: Sequence[str],
                  avoid: Sequence[str] = ()) -> list[str]:
    """Return the paragraphs of a June biên bản tiếp xúc cử tri (no religion statements)."""
    phrases = load_phrases()
    aliases = {row["village"]: row["aliases"] for row in load_gazetteer()}
    rng = random.Random(seed * 31 + 606)
    writer = _Writer(phrases, aliases, rng)
    mp = phrases["minutes"]
    candidates = [v for v in villages if v not in avoid] or list(villages)
    host = rng.choice(candidates)
    days = [d for d in _month_days(year, 6) if 9 <= d.day <= 27 and d.weekday() != 6]
    meeting = rng.choice(days)
    host_slots = writer.slots(village=host, topic="other", day=meeting, known=True, sender=None)
    host_slots["village"] = village_phrase(host)

    lines = [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "BIÊN BẢN",
        rng.choice(mp["titles"]),
        f"Thời gian: 8 giờ 00 ngày {meeting:%d/%m/%Y}",
        f"Địa điểm: Nhà văn hóa {village_phrase(host)}, {COMMUNE}, {PROVINCE}",
        writer.fill(rng.choice(mp["intros"]), host_slots),
        "I. Ý KIẾN, KIẾN NGHỊ CỦA CỬ TRI",
    ]
    topics = [t for t in TOPICS if t != "religion"]
    topic_w = [TOPIC_SHARE[t] for t in topics]
    raised: list[str] = []
    for n in range(1, rng.randint(8, 12) + 1):
        village = host if rng.random() < 0.6 else rng.choice(candidates)
        topic = rng.choices(topics, weights=topic_w)[0]
        raised.append(topic)
        person = writer.person()
        slots = writer.slots(village=village, topic=topic, day=meeting, known=True, sender=person)
        slots["village"] = village_phrase(village)
        bank = phrases["topics"][topic]
        problem = rng.choice([p for p in bank["problems"] if _fits(p, 6, topic, person.male)])
        content = writer.fill(problem, slots)
        if rng.random() < 0.7:
            content += " " + writer.fill(writer.pick_request(problem, bank["requests"]), slots)
        honor = _upper_first(person.honorific)
        verb = rng.choice(mp["verbs"])
        where = slots["village"]
        form = rng.random()
        if form < 0.45:
            verb = rng.choice(mp["inline_verbs"])
            line = f"{n}. {honor} {person.name} ({where}): {verb} {_lower_first(content)}"
        elif form < 0.85:
            line = f"{n}. {honor} {person.name}, {where}, {verb}: {content}"
        else:
            line = f"{n}. Cử tri {person.name} ({where}) {verb}: {content}"
        lines.append(line)
        if rng.random() < 0.3:
            lines.append(rng.choice(mp["continuations"]))

    lines.append("II. Ý KIẾN TRẢ LỜI CỦA LÃNH ĐẠO XÃ")
    answer_topics = list(dict.fromkeys(raised))[: rng.randint(3, 5)]
    while len(answer_topics) < 3:
        answer_topics.append("other")
    for topic in answer_topics:
        officials = [o for o in mp["officials"] if topic in o["topics"]]
        specialists = officials[1:] or officials
        official = rng.choice(specialists if rng.random() < 0.6 else officials)
        answer = f"{rng.choice(mp['acks'])} {rng.choice(mp['answers'][topic])}"
        lines.append(f"{official['speaker']}: {answer}")
    lines += [
        "Hội nghị kết thúc lúc 11 giờ cùng ngày.",
        "THƯ KÝ",
        "CHỦ TỌA",
    ]
    return lines


def _write_docx(path: Path, lines: Sequence[str]) -> None:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = Document()
    centered = {0, 1, 2, 3}
    for i, line in enumerate(lines):
        paragraph = doc.add_paragraph()
        run = paragraph.add_run(line)
        if i in centered or line.isupper():
            run.bold = True
        if i in centered or line in ("THƯ KÝ", "CHỦ TỌA"):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.save(path)


def _spikes_for_year(year: int, spikes: Sequence[Spike] = DEFAULT_SPIKES) -> list[Spike]:
    return [s if s.start.year == year else replace(s, start=s.start.replace(year=year))
            for s in spikes]


def write_samples(out_dir: Path, *, year: int = 2025, per_month: int = 1500,
                  seed: int = 42) -> list[Path]:
    """Write a year of samples: monthly CSVs, June as XLSX, a DOCX biên bản, the ground truth."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spikes = _spikes_for_year(year)
    records = generate_records(date(year, 1, 1), date(year, 12, 31), per_month=per_month,
                               spikes=spikes, seed=seed)
    by_month: dict[int, list[dict[str, Any]]] = {m: [] for m in range(1, 13)}
    for rec in records:
        by_month[rec["received_at"].month].append(rec)

    paths: list[Path] = []
    for month in range(1, 13):
        if month == XLSX_MONTH:
            path = out_dir / f"so-theo-doi-don-thu-{year}-{month:02d}.xlsx"
            _write_xlsx(path, by_month[month], year, month)
        else:
            path = out_dir / f"petitions-{year}-{month:02d}.csv"
            _write_csv(path, by_month[month])
        paths.append(path)

    villages = [row["village"] for row in load_gazetteer()]
    lines = build_minutes(year, seed, villages, avoid=[s.village for s in spikes])
    docx_path = out_dir / f"bien-ban-tiep-xuc-cu-tri-{year}-{XLSX_MONTH:02d}.docx"
    _write_docx(docx_path, lines)
    paths.append(docx_path)

    truth = []
    for index, spike in enumerate(spikes):
        truth.append({
            "index": index,
            "village": spike.village,
            "topic": spike.topic,
            "start": spike.start.isoformat(),
            "end": spike.end.isoformat(),
            "count": sum(1 for r in records if r["spike"] == index),
            "signals": list(spike.signals),
            "campaign": spike.campaign,
        })
    json_path = out_dir / "injected_hotspots.json"
    json_path.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n",
                         encoding="utf-8")
    paths.append(json_path)
    write_samples.last_record_count = len(records)  # type: ignore[attr-defined]
    return paths


def _vn_number(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Tạo dữ liệu mẫu đơn thư, phản ánh của xã Vĩnh Giang, tỉnh Quảng Trị.")
    parser.add_argument("--out", type=Path, default=Path("data/samples/out"),
                        help="thư mục ghi tệp mẫu (mặc định: data/samples/out)")
    parser.add_argument("--per-month", type=int, default=1500,
                        help="số bản ghi trung bình mỗi tháng (mặc định: 1500)")
    parser.add_argument("--seed", type=int, default=42, help="hạt giống ngẫu nhiên")
    parser.add_argument("--year", type=int, default=2025, help="năm của dữ liệu mẫu")
    args = parser.parse_args(argv)
    paths = write_samples(args.out, year=args.year, per_month=args.per_month, seed=args.seed)
    count = getattr(write_samples, "last_record_count", 0)
    print(f"Đã tạo {len(paths)} tệp mẫu, {_vn_number(count)} bản ghi, tại {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
