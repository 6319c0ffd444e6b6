"""Text normalization for petitions: decoding files, legacy Vietnamese encodings, tone marks.

Everything here works on plain strings and bytes with the standard library only. The common
path (text that is already proper Unicode) is kept cheap: a few precompiled regex scans decide
that nothing needs doing before any per-word work happens.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "DecodedText",
    "NormalizedText",
    "UndecodableError",
    "decode_as",
    "decode_bytes",
    "fix_legacy_encoding",
    "fold_diacritics",
    "has_diacritics",
    "looks_unaccented",
    "normalize_text",
    "normalize_tone_marks",
    "strip_invisible",
]


class UndecodableError(ValueError):
    """Bytes that are not text in any encoding we know."""


@dataclass(frozen=True)
class DecodedText:
    """Text decoded from a file's bytes, with the encoding it was read as."""

    text: str
    encoding: str


@dataclass(frozen=True)
class NormalizedText:
    """Text after normalize_text, with what was noticed on the way."""

    text: str
    no_diacritics: bool
    legacy_encoding: str | None


# --------------------------------------------------------------------------- Vietnamese letters

# Tone numbering used by every table below; 0 means "no tone".
_NO_TONE, _GRAVE, _ACUTE, _HOOK, _TILDE, _DOT = range(6)
_TONE_COMBINING = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
_PLAIN_VOWELS = "aăâeêioôơuưy"
# Vowels carrying a diacritic of their own; they attract the tone mark.
_HAT_VOWELS = frozenset("ăâêôơư")
_STOP_FINALS = frozenset(("c", "ch", "p", "t"))


def _build_vowel_tables() -> tuple[dict[str, tuple[str, int]], dict[tuple[str, int], str]]:
    info: dict[str, tuple[str, int]] = {}
    compose: dict[tuple[str, int], str] = {}
    for base in _PLAIN_VOWELS + _PLAIN_VOWELS.upper():
        for tone, mark in enumerate(_TONE_COMBINING):
            char = unicodedata.normalize("NFC", base + mark)
            info[char] = (base.lower(), tone)
            compose[base, tone] = char
    return info, compose


# Every (upper/lower) vowel with or without tone -> (lower-case toneless vowel, tone), and back.
_VOWEL_INFO, _COMPOSE = _build_vowel_tables()

_DIACRITIC_LETTERS = (
    "".join(char for char, (base, tone) in _VOWEL_INFO.items() if tone or base in _HAT_VOWELS)
    + "đĐ"
)
_VIETNAMESE_LETTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" + "".join(_VOWEL_INFO) + "đĐ"
)
# Combining marks Vietnamese uses: five tones plus circumflex, breve and horn.
_VIETNAMESE_COMBINING = "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"
_DIACRITIC_RE = re.compile(f"[{_DIACRITIC_LETTERS}{_VIETNAMESE_COMBINING}]")
_ALPHA_WORD_RE = re.compile(r"[^\W\d_]+")
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

_VOWEL_CLASS = "".join(_VOWEL_INFO)
_TONED_CLASS = "".join(char for char, (_, tone) in _VOWEL_INFO.items() if tone)
# Only words where a toned vowel touches another vowel can have the tone in the wrong place;
# a word glued to a combining mark is left alone because NFC would reshape it afterwards.
_TONE_CANDIDATE_RE = re.compile(
    rf"\b[^\W\d_]*?(?:[{_TONED_CLASS}][{_VOWEL_CLASS}]|[{_VOWEL_CLASS}][{_TONED_CLASS}])"
    r"[^\W\d_]*(?![^\W\d_]|[\u0300-\u036f])"
)

# Syllable = onset? nucleus final?, matched on the lower-case toneless form. "gi" and "qu" are
# onsets when a vowel follows, so "giá" and "quả" carry the tone on the next vowel.
_SYLLABLE_RE = re.compile(
    "(ngh|ng|nh|ch|gh|gi(?=[aăâeêioôơuưy])|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    "([aăâeêioôơuưy]+)"
    "(ch|ng|nh|[cmnpt])?"
)
_NUCLEI = frozenset(
    (
        "a ă â e ê i o ô ơ u ư y "
        "ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi oo ua uâ uê ui uô uơ uy ưa ưi ươ "
        "ưu yê iêu yêu oai oay oao oeo uây uôi uya uyê uyu ươi ươu"
    ).split()
)
# Nuclei that may be followed by a final consonant; the rest already end in a glide.
_CLOSABLE_NUCLEI = frozenset("a ă â e ê i o ô ơ u ư y iê yê uô ươ oa oă oe uâ uê uy uyê oo".split())

# Words seen in almost every petition; they break ties between candidate decodings.
_COMMON_WORDS = frozenset(
    (
        "của và là không được người đã có cho các những với này đơn việc tôi chúng đến theo "
        "về trong một đề nghị xã huyện tỉnh nhà đất ông bà năm ngày tháng khiếu nại tố cáo giải "
        "quyết cơ quan ủy ban nhân dân thôn phường đường nước tại đình gia"
    ).split()
)

# --------------------------------------------------------------------------- legacy encodings

# TCVN3 (ABC, the .VnTime fonts): byte value where a run starts, and the letters of that run.
# Tones inside each vowel run come in the order grave, hook, tilde, acute, dot below.
_TCVN3_LAYOUT = (
    (0xA1, "ĂÂÊÔƠƯĐăâêôơưđ"),
    (0xB5, "àảãáạ"),
    (0xBB, "ằẳẵắ"),
    (0xC6, "ặầẩẫấậè"),
    (0xCE, "ẻẽéẹềểễếệìỉ"),
    (0xDC, "ĩíịò"),
    (0xE1, "ỏõóọồổỗốộờởỡớợù"),
    (0xF1, "ủũúụừửữứựỳỷỹýỵ"),
)


def _build_tcvn3() -> dict[str, str]:
    table: dict[str, str] = {}
    for start, letters in _TCVN3_LAYOUT:
        for offset, letter in enumerate(letters):
            # Seen through Windows-1252 these bytes are the Latin-1 characters of equal value.
            table[chr(start + offset)] = letter
    return table


_TCVN3_TO_UNICODE = _build_tcvn3()
_TCVN3_TRANS = str.maketrans(_TCVN3_TO_UNICODE)
_TCVN3_MARKERS = frozenset(c for c in _TCVN3_TO_UNICODE if c not in _VIETNAMESE_LETTERS)
_TCVN3_MARKER_RE = re.compile("[" + "".join(map(re.escape, sorted(_TCVN3_MARKERS))) + "]")
_TCVN3_WORD_RE = re.compile("[A-Za-z" + "".join(map(re.escape, sorted(_TCVN3_TO_UNICODE))) + "]+")

# VNI-Windows: a base letter followed by a byte for the mark, plus a few single-byte letters.
_VNI_TONE = {_GRAVE: "ø", _ACUTE: "ù", _HOOK: "û", _TILDE: "õ", _DOT: "ï"}
_VNI_HAT = {_NO_TONE: "â", _GRAVE: "à", _ACUTE: "á", _HOOK: "å", _TILDE: "ã", _DOT: "ä"}
_VNI_BREVE = {_NO_TONE: "ê", _GRAVE: "è", _ACUTE: "é", _HOOK: "ú", _TILDE: "ü", _DOT: "ë"}
_VNI_I = {_GRAVE: "ì", _ACUTE: "í", _HOOK: "æ", _TILDE: "ó", _DOT: "ò"}


def _build_vni() -> dict[str, str]:
    table: dict[str, str] = {}

    def add(sequence: str, letter: str, tone: int) -> None:
        table[sequence] = _COMPOSE[letter, tone]
        table[sequence.upper()] = _COMPOSE[letter.upper(), tone]

    for base in "aeouy":
        for tone, mark in _VNI_TONE.items():
            add(base + mark, base, tone)
    for base, letter in (("a", "â"), ("e", "ê"), ("o", "ô")):
        for tone, mark in _VNI_HAT.items():
            add(base + mark, letter, tone)
    for tone, mark in _VNI_BREVE.items():
        add("a" + mark, "ă", tone)
    for byte, letter in (("ô", "ơ"), ("ö", "ư")):
        add(byte, letter, _NO_TONE)
        for tone, mark in _VNI_TONE.items():
            add(byte + mark, letter, tone)
    for tone, mark in _VNI_I.items():
        add(mark, "i", tone)
    add("î", "y", _DOT)
    table["ñ"] = "đ"
    table["Ñ"] = "Đ"
    return table


def _vni_pattern(table: dict[str, str]) -> re.Pattern[str]:
    by_base: dict[str, set[str]] = {}
    singles: set[str] = set()
    for sequence in table:
        if len(sequence) == 2:
            by_base.setdefault(sequence[0], set()).add(sequence[1])
        else:
            singles.add(sequence)
    # Pairs come first so that "ôù" is read as one letter rather than "ơ" then "ù".
    parts = [
        re.escape(base) + "[" + "".join(map(re.escape, sorted(marks))) + "]"
        for base, marks in sorted(by_base.items())
    ]
    parts.append("[" + "".join(map(re.escape, sorted(singles))) + "]")
    return re.compile("|".join(parts))


_VNI_TO_UNICODE = _build_vni()
_VNI_RE = _vni_pattern(_VNI_TO_UNICODE)
_VNI_ODD = frozenset(
    c for sequence in _VNI_TO_UNICODE for c in sequence if c not in _VIETNAMESE_LETTERS
)

# Any of these characters is required before legacy detection spends time on a string; proper
# Unicode Vietnamese never contains them.
_LEGACY_HINT_RE = re.compile("[" + "".join(map(re.escape, sorted(_TCVN3_MARKERS | _VNI_ODD))) + "]")


def _build_cp1252_fix() -> dict[int, str]:
    # Latin-1 decoding never fails; this patches 0x80-0x9F to what Windows shows there.
    table: dict[int, str] = {}
    for code in range(0x80, 0xA0):
        try:
            table[code] = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            continue
    return table


_CP1252_FIX = _build_cp1252_fix()

# --------------------------------------------------------------------------- invisible characters


def _build_invisible_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {code: None for code in range(0x20)}
    table.update({code: None for code in range(0x7F, 0xA0)})
    del table[0x0A]
    table[0x09] = " "
    # Line and page separators end a line; dropping them would glue two words together.
    for code in (0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029):
        table[code] = "\n"
    for code in (0x00AD, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF):
        table[code] = None
    for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)):
        table[code] = None
    for code in (0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000):
        table[code] = " "
    return table


_INVISIBLE_TABLE = _build_invisible_table()
_INVISIBLE_RE = re.compile(
    "[" + "".join(re.escape(chr(code)) for code in sorted(_INVISIBLE_TABLE)) + "]"
)
# Legacy detection looks through invisible characters but keeps the soft hyphen: in TCVN3 it
# is the letter "ư".
_ANALYSIS_DROP = {
    code: None for code, value in _INVISIBLE_TABLE.items() if value is None and code != 0x00AD
}
_SPACE_RUN_RE = re.compile(" {2,}")
_LINE_EDGE_RE = re.compile(" ?\n ?")
_BLANK_LINES_RE = re.compile("\n{3,}")

# --------------------------------------------------------------------------- byte-level checks

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Control bytes no text file needs; tab, newlines, form feed, SUB and ESC are tolerated.
_CONTROL_BYTES = bytes([*range(0x01, 0x09), *range(0x0E, 0x1A), *range(0x1C, 0x20), 0x7F])
_CONTROL_CHAR_RE = re.compile("[\x00-\x08\x0e-\x19\x1c-\x1f\x7f]")
_ODD_CHAR_RE = re.compile(r"[^\w\s.,;:!?'\"()\[\]{}\-/\\%&*+=<>@#$|~^`…“”‘’«»•·°–—]")
_SCORE_SAMPLE = 200_000
_TOKEN_SPLIT_RE = re.compile(r"[\s\-/–—]+")
_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’…–—"
_ASCII_UPPER_RE = re.compile("[A-Z]")
_ASCII_LOWER_RE = re.compile("[a-z]")

_TONE_CACHE: dict[str, str] = {}
_TONE_CACHE_LIMIT = 50_000


# --------------------------------------------------------------------------- syllables


def _analyse(word: str) -> tuple[str, int, int] | None:
    # Lower-case toneless spelling, the tone and where it sits; None when two tones clash.
    bases: list[str] = []
    tone = _NO_TONE
    position = -1
    for index, char in enumerate(word):
        info = _VOWEL_INFO.get(char)
        if info is None:
            bases.append(char.lower())
            continue
        bases.append(info[0])
        if info[1]:
            if tone:
                return None
            tone, position = info[1], index
    return "".join(bases), tone, position


def _parse_syllable(bases: str) -> re.Match[str] | None:
    # Onset, nucleus and final of a lower-case toneless spelling, if it is a Vietnamese syllable.
    match = _SYLLABLE_RE.fullmatch(bases)
    if match is None or match.group(2) not in _NUCLEI:
        return None
    if match.group(3) is not None and match.group(2) not in _CLOSABLE_NUCLEI:
        return None
    return match


def _tone_index(nucleus: str, has_final: bool, new_style: bool = False) -> int:
    for index in range(len(nucleus) - 1, -1, -1):
        if nucleus[index] in _HAT_VOWELS:
            return index
    if has_final:
        return len(nucleus) - 1
    if len(nucleus) == 3:
        return 1
    if new_style and nucleus in ("oa", "oe", "uy"):
        return 1
    return 0


def _set_tone(char: str, tone: int) -> str:
    base = _VOWEL_INFO[char][0]
    return _COMPOSE[base.upper() if char.isupper() else base, tone]


def _retone(word: str) -> str:
    analysed = _analyse(word)
    if analysed is None or not analysed[1]:
        return word
    bases, tone, position = analysed
    match = _parse_syllable(bases)
    if match is None or len(bases) != len(word):
        return word
    target = match.start(2) + _tone_index(match.group(2), match.group(3) is not None)
    if target == position:
        return word
    chars = list(word)
    chars[position] = _set_tone(chars[position], _NO_TONE)
    chars[target] = _set_tone(chars[target], tone)
    return "".join(chars)


def _retone_match(match: re.Match[str]) -> str:
    word = match.group()
    fixed = _TONE_CACHE.get(word)
    if fixed is None:
        fixed = _retone(word)
        if len(_TONE_CACHE) >= _TONE_CACHE_LIMIT:
            _TONE_CACHE.clear()
        _TONE_CACHE[word] = fixed
    return fixed


def _syllable_ok(token: str) -> bool:
    # True for a well-formed Vietnamese syllable, accepting old- and new-style tone placement.
    analysed = _analyse(token)
    if analysed is None:
        return False
    bases, tone, position = analysed
    match = _parse_syllable(bases)
    if match is None:
        return False
    final = match.group(3)
    if not tone:
        return True
    if final in _STOP_FINALS and tone not in (_ACUTE, _DOT):
        return False
    nucleus, start = match.group(2), match.start(2)
    return position in (
        start + _tone_index(nucleus, final is not None),
        start + _tone_index(nucleus, final is not None, new_style=True),
    )


def _vietnamese_score(text: str) -> float:
    # Share of non-ASCII words that are Vietnamese syllables; ASCII words read the same in
    # every candidate decoding, so only the others can tell candidates apart.
    considered = 0
    points = 0.0
    for raw in _TOKEN_SPLIT_RE.split(text[:_SCORE_SAMPLE]):
        token = raw.strip(_PUNCT)
        if not token or token.isascii():
            continue
        considered += 1
        if _syllable_ok(token):
            points += 1.0
            if token.lower() in _COMMON_WORDS:
                points += 0.25
    return points / considered if considered else 0.0


# --------------------------------------------------------------------------- legacy conversion


def _tcvn3_to_unicode(text: str) -> str:
    converted = text.translate(_TCVN3_TRANS)
    if converted == text or _ASCII_UPPER_RE.search(text) is None:
        return converted
    # The capital fonts (.VnTimeH) reuse the lower-case codes, so capitals come from context.
    if _ASCII_LOWER_RE.search(text) is None and len(_ASCII_UPPER_RE.findall(text)) >= 4:
        return converted.upper()
    return _TCVN3_WORD_RE.sub(_tcvn3_word, text)


def _tcvn3_word(match: re.Match[str]) -> str:
    word = match.group()
    converted = word.translate(_TCVN3_TRANS)
    ascii_letters = [c for c in word if c.isascii()]
    if len(ascii_letters) >= 2 and all(c.isupper() for c in ascii_letters):
        return converted.upper()
    return converted


def _vni_to_unicode(text: str) -> str:
    return _VNI_RE.sub(lambda match: _VNI_TO_UNICODE[match.group()], text)


def _in_word(text: str, index: int, extra: frozenset[str] | dict[str, str]) -> bool:
    for neighbour in (index - 1, index + 1):
        if 0 <= neighbour < len(text):
            char = text[neighbour]
            if char.isalpha() or char in extra:
                return True
    return False


def _count_markers(text: str, encoding: str) -> int:
    # Characteristic sequences: characters that this encoding produces and real Vietnamese
    # never contains, inside a word rather than standing alone as a symbol.
    count = 0
    if encoding == "tcvn3":
        for match in _TCVN3_MARKER_RE.finditer(text):
            if _in_word(text, match.start(), _TCVN3_TO_UNICODE):
                count += 1
        return count
    for match in _VNI_RE.finditer(text):
        sequence = match.group()
        if not any(c in _VNI_ODD for c in sequence):
            continue
        if len(sequence) == 2 or _in_word(text, match.start(), _VNI_ODD):
            count += 1
    return count


def _conversion_gain(source: str, converted: str) -> int | None:
    # How many more words become Vietnamese syllables; None when the conversion is not better.
    before = _TOKEN_SPLIT_RE.split(source)
    after = _TOKEN_SPLIT_RE.split(converted)
    if len(before) != len(after):
        return None
    changed = valid_before = valid_after = 0
    for old, new in zip(before, after, strict=True):
        if old == new:
            continue
        changed += 1
        valid_before += _syllable_ok(old.strip(_PUNCT))
        valid_after += _syllable_ok(new.strip(_PUNCT))
    if valid_after <= valid_before or valid_after * 5 < changed * 3:
        return None
    return valid_after - valid_before


def _convert(text: str, encoding: str) -> str:
    return _tcvn3_to_unicode(text) if encoding == "tcvn3" else _vni_to_unicode(text)


# --------------------------------------------------------------------------- public API


def fix_legacy_encoding(text: str) -> tuple[str, str | None]:
    """Return the text converted from TCVN3 or VNI mojibake, and which one ("tcvn3"/"vni"/None).

    Text is converted only on evidence: at least two characteristic legacy sequences and a
    result in which more words are Vietnamese syllables. Anything else comes back unchanged.
    """
    if _LEGACY_HINT_RE.search(text) is None:
        return text, None
    view = unicodedata.normalize("NFC", text).translate(_ANALYSIS_DROP)
    best: tuple[int, str, str] | None = None
    for encoding in ("tcvn3", "vni"):
        # Outside TCVN3 a soft hyphen is only an invisible hint and would split words.
        source = view if encoding == "tcvn3" else view.replace("\xad", "")
        if _count_markers(source, encoding) < 2:
            continue
        converted = _convert(source, encoding)
        gain = _conversion_gain(source, converted)
        if gain is not None and (best is None or gain > best[0]):
            best = (gain, converted, encoding)
    if best is None:
        return text, None
    return unicodedata.normalize("NFC", best[1]), best[2]


def normalize_tone_marks(text: str) -> str:
    """Return the text with every syllable's tone mark in the traditional ("old") position."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return _TONE_CANDIDATE_RE.sub(_retone_match, text)


def strip_invisible(text: str) -> str:
    """Return the text without invisible characters and with tidy spaces and line breaks."""
    if _INVISIBLE_RE.search(text) is not None:
        if "\r\n" in text:
            text = text.replace("\r\n", "\n")
        text = text.translate(_INVISIBLE_TABLE)
    if "  " in text:
        text = _SPACE_RUN_RE.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _LINE_EDGE_RE.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES_RE.sub("\n\n", text)
    return text.strip(" \n")


def has_diacritics(text: str) -> bool:
    """Return True when the text contains at least one Vietnamese diacritic letter or mark."""
    return _DIACRITIC_RE.search(text) is not None


def looks_unaccented(text: str) -> bool:
    """Return True for text of four or more words typed entirely without Vietnamese diacritics."""
    if has_diacritics(text):
        return False
    count = 0
    for _ in _ALPHA_WORD_RE.finditer(text):
        count += 1
        if count >= 4:
            return True
    return False


def fold_diacritics(text: str) -> str:
    """Return the text lower-cased with every diacritic removed and "đ" as "d", for matching."""
    text = text.lower().replace("đ", "d")
    if text.isascii():
        return text
    stripped = _COMBINING_RE.sub("", unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFC", stripped)


def _normalize_once(text: str) -> tuple[str, str | None]:
    text = unicodedata.normalize("NFC", text)
    text, legacy = fix_legacy_encoding(text)
    text = strip_invisible(text)
    # Removing an invisible character can bring a combining mark next to its letter.
    text = unicodedata.normalize("NFC", text)
    text = normalize_tone_marks(text)
    return unicodedata.normalize("NFC", text), legacy


def normalize_text(text: str) -> NormalizedText:
    """Return the text as clean NFC Unicode with traditional tone marks, plus what was found.

    Steps: NFC, legacy TCVN3/VNI repair, invisible characters, tone marks, NFC. Accents are
    never removed, and normalizing the result again changes nothing.
    """
    result, legacy = _normalize_once(text)
    # One pass can expose more legacy evidence (say, once invisible characters are gone);
    # repeating while legacy characters remain makes the function idempotent.
    for _ in range(3):
        if _LEGACY_HINT_RE.search(result) is None:
            break
        again, found = _normalize_once(result)
        if again == result:
            break
        result, legacy = again, legacy or found
    return NormalizedText(result, looks_unaccented(result), legacy)


# --------------------------------------------------------------------------- decoding bytes


def _reject_binary(data: bytes) -> None:
    if b"\x00" in data:
        raise UndecodableError(
            "the file looks binary: it contains NUL bytes that no text encoding explains"
        )
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if controls > max(2, len(data) // 200):
        raise UndecodableError(
            f"the file looks binary: it contains {controls} control bytes that text never has"
        )


def _reject_binary_text(text: str) -> None:
    if "\x00" in text:
        raise UndecodableError(
            "the file looks binary: it contains NUL characters that no text encoding explains"
        )
    controls = len(_CONTROL_CHAR_RE.findall(text[:_SCORE_SAMPLE]))
    if controls > max(2, min(len(text), _SCORE_SAMPLE) // 200):
        raise UndecodableError(f"the file looks binary: it contains {controls} control characters")


def _looks_like_text(text: str) -> bool:
    sample = text[:_SCORE_SAMPLE]
    if not sample:
        return True
    if len(sample) > 64 and not any(c.isspace() for c in sample):
        return False
    return len(_ODD_CHAR_RE.findall(sample)) * 5 <= len(sample)


def _utf16_without_bom(data: bytes) -> str | None:
    if len(data) < 4 or len(data) % 2:
        return None
    pairs = len(data) // 2
    even_nuls = data[0::2].count(0)
    odd_nuls = data[1::2].count(0)
    # ASCII characters in UTF-16 leave a NUL in every other byte, and only there.
    if odd_nuls * 10 >= pairs * 3 and even_nuls * 20 <= pairs:
        codec = "utf-16-le"
    elif even_nuls * 10 >= pairs * 3 and odd_nuls * 20 <= pairs:
        codec = "utf-16-be"
    else:
        return None
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _strict(data: bytes, codec: str, label: str) -> str:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        raise UndecodableError(
            f"the file starts with a {label} byte-order mark but is not valid {label}"
        ) from error
    _reject_binary_text(text)
    return unicodedata.normalize("NFC", text)


def _decode_legacy(data: bytes) -> DecodedText:
    ansi = data.decode("latin-1").translate(_CP1252_FIX)
    candidates: list[tuple[str, str]] = []
    try:
        candidates.append(("cp1258", unicodedata.normalize("NFC", data.decode("cp1258"))))
    except UnicodeDecodeError:
        pass
    candidates.append(("tcvn3", unicodedata.normalize("NFC", _tcvn3_to_unicode(ansi))))
    candidates.append(("vni", unicodedata.normalize("NFC", _vni_to_unicode(ansi))))
    scored = [(_vietnamese_score(text), name, text) for name, text in candidates]
    vietnamese = max(score for score, _, _ in scored) > 0
    # On a tie, Vietnamese text more likely came from the common legacy fonts; text that is
    # not Vietnamese at all reads best as Windows-1258, which is Windows-1252 for Latin text.
    order = ("cp1258", "vni", "tcvn3") if vietnamese else ("tcvn3", "vni", "cp1258")
    _, name, text = max(scored, key=lambda item: (item[0], order.index(item[1])))
    if not _looks_like_text(text):
        raise UndecodableError("the file is not text in UTF-8, UTF-16, Windows-1258, TCVN3 or VNI")
    return DecodedText(text, name)


def decode_bytes(data: bytes) -> DecodedText:
    """Return the file's text as NFC Unicode and the encoding it was read as.

    Tries byte-order marks, UTF-16 without one, strict UTF-8, then picks among Windows-1258,
    TCVN3 and VNI the reading that looks most like Vietnamese. Raises UndecodableError for
    binary data or bytes that read as text in none of them.
    """
    if not data:
        return DecodedText("", "utf-8")
    if data.startswith(_UTF8_BOM):
        return DecodedText(_strict(data[len(_UTF8_BOM) :], "utf-8", "UTF-8"), "utf-8-sig")
    if data.startswith(_UTF16_BOMS):
        return DecodedText(_strict(data, "utf-16", "UTF-16"), "utf-16")
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        _reject_binary_text(utf16)
        return DecodedText(unicodedata.normalize("NFC", utf16), "utf-16")
    _reject_binary(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_legacy(data)
    return DecodedText(unicodedata.normalize("NFC", text), "utf-8")


def decode_as(data: bytes, encoding: str) -> str:
    """Return bytes decoded as NFC text in an encoding decode_bytes names (for one piece of a file).

    ``encoding`` is one of "utf-8", "utf-8-sig", "utf-16", "cp1258", "tcvn3" or "vni". Raises
    UndecodableError when the bytes are not valid in it. NUL bytes are kept, not judged.
    """
    try:
        if encoding in ("utf-8", "utf-8-sig", "utf-16", "cp1258"):
            text = data.decode("utf-8" if encoding == "utf-8-sig" else encoding)
        elif encoding in ("tcvn3", "vni"):
            ansi = data.decode("latin-1").translate(_CP1252_FIX)
            text = _tcvn3_to_unicode(ansi) if encoding == "tcvn3" else _vni_to_unicode(ansi)
        else:
            raise UndecodableError(f"unknown encoding {encoding!r}")
    except UnicodeDecodeError as error:
        raise UndecodableError(f"the bytes are not valid {encoding}") from error
    return unicodedata.normalize("NFC", text)
