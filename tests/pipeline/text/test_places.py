"""Places: metadata areas, district-era addresses, gazetteer villages and mentions in text."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.text.places import (
    UNKNOWN_AREA,
    Gazetteer,
    GazetteerError,
    PlaceMatch,
    PlaceStatus,
    load_gazetteer,
    resolve_place,
)

HEADER = "province,commune,village,aliases,former_district\n"

# A small gazetteer written for these tests; the shipped data/gazetteer files may change.
VINH_GIANG = HEADER + (
    "Quảng Trị,Vĩnh Giang,Tân Mỹ,thôn Tân Mỹ|Tan My,huyện Vĩnh Linh\n"
    "Quảng Trị,Vĩnh Giang,Hà Lợi Trung,thôn Hà Lợi Trung|Ha Loi Trung,huyện Vĩnh Linh\n"
    "Quảng Trị,Vĩnh Giang,Thôn 5,thôn Năm|thon 5,huyện Vĩnh Linh\n"
    "Quảng Trị,Vĩnh Giang,Thôn 12,thôn Mười Hai,huyện Vĩnh Linh\n"
    "Quảng Trị,Vĩnh Giang,Bình An,thôn Bình An|Binh An,huyện Vĩnh Linh\n"
    "Quảng Trị,Vĩnh Giang,Rào,thôn Rào,huyện Vĩnh Linh\n"
    "Quảng Trị,Vĩnh Giang,Đông Hòa,xóm Đông Hòa|Dong Hoa,huyện Vĩnh Linh\n"
)
# A second commune sharing one village name, so that a bare "Đông Hòa" is ambiguous.
VINH_THUY = HEADER + (
    "Quảng Trị,Vĩnh Thủy,Đông Hòa,thôn Đông Hòa|Dong Hoa,huyện Vĩnh Linh\n"
    "Quảng Trị,Vĩnh Thủy,Tổ 5,tổ Năm,\n"
)

TAN_MY = "thôn Tân Mỹ, xã Vĩnh Giang, tỉnh Quảng Trị"
THON_5 = "thôn 5, xã Vĩnh Giang, tỉnh Quảng Trị"


@pytest.fixture
def gazetteer_dir(tmp_path: Path) -> Path:
    """A folder with two gazetteer files, one per commune."""
    folder = tmp_path / "gazetteer"
    folder.mkdir()
    (folder / "quang-tri-vinh-giang.csv").write_text(VINH_GIANG, encoding="utf-8")
    (folder / "quang-tri-vinh-thuy.csv").write_text(VINH_THUY, encoding="utf-8")
    return folder


@pytest.fixture
def gazetteer(gazetteer_dir: Path) -> Gazetteer:
    """The loaded test gazetteer."""
    return load_gazetteer(gazetteer_dir)


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ("thôn Tân Mỹ, xã Vĩnh Giang, tỉnh Quảng Trị", TAN_MY),
        ("Thôn Tân Mỹ - Xã Vĩnh Giang - Tỉnh Quảng Trị", TAN_MY),
        ("Thôn 5", THON_5),
        ("tan my", TAN_MY),
        ("Tân Mỹ, Vĩnh Giang", TAN_MY),
        ("thôn Tân Mỹ xã Vĩnh Giang tỉnh Quảng Trị", TAN_MY),
        ("X.Vĩnh Giang, T.Quảng Trị", "xã Vĩnh Giang, tỉnh Quảng Trị"),
        ("xã Vĩnh Giang", "xã Vĩnh Giang, tỉnh Quảng Trị"),
        ("Quảng Trị", "tỉnh Quảng Trị"),
        # Ambiguous bare village: two communes have a "Đông Hòa", so nothing is added.
        ("Đông Hòa", "Đông Hòa"),
        # The unit comes from the first alias written with one: "xóm" here.
        ("thôn Đông Hòa, xã Vĩnh Giang", "xóm Đông Hòa, xã Vĩnh Giang, tỉnh Quảng Trị"),
        # A street address keeps only the administrative levels.
        ("số 12 đường Lê Lợi, xã Vĩnh Giang", "xã Vĩnh Giang, tỉnh Quảng Trị"),
        # A village no gazetteer knows stays as written, unit word in lower case.
        ("Thôn Đồng Bào, xã Vĩnh Giang", "thôn Đồng Bào, xã Vĩnh Giang, tỉnh Quảng Trị"),
    ],
)
def test_metadata_area_forms(gazetteer: Gazetteer, area: str, expected: str) -> None:
    match = resolve_place(area, "Nội dung đơn không nêu địa chỉ.", gazetteer)
    assert match.area == expected
    assert match.source == "metadata"


def test_metadata_wins_over_text(gazetteer: Gazetteer) -> None:
    match = resolve_place("thôn 5", "Tôi ở thôn Hà Lợi Trung, xã Vĩnh Giang.", gazetteer)
    assert match.area == THON_5


def test_bare_village_is_completed_with_commune_and_province(gazetteer: Gazetteer) -> None:
    match = resolve_place("Thôn 5", "", gazetteer)
    assert match == PlaceMatch(
        THON_5, "thôn 5", "xã Vĩnh Giang", "tỉnh Quảng Trị", PlaceStatus.SUCCESS, "metadata"
    )


def test_village_in_another_commune_is_not_moved(gazetteer: Gazetteer) -> None:
    # The gazetteer puts Tân Mỹ in Vĩnh Giang; the stated commune is kept and the match is partial.
    match = resolve_place("thôn Tân Mỹ, xã Vĩnh Thủy", "", gazetteer)
    assert match.area == "thôn Tân Mỹ, xã Vĩnh Thủy, tỉnh Quảng Trị"
    assert match.status is PlaceStatus.PARTIAL


# --------------------------------------------------------------------------- 2025 structure


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        # The local gazetteer is the users' word and wins over the national mapping.
        ("thôn Tân Mỹ, xã Vĩnh Giang, huyện Vĩnh Linh, tỉnh Quảng Trị", TAN_MY),
        ("Tân Mỹ, Vĩnh Linh, Quảng Trị", TAN_MY),
        # Communes merged on 1 July 2025, from the national old → new mapping.
        ("xã Vĩnh Thái, huyện Vĩnh Linh, tỉnh Quảng Trị", "xã Vĩnh Hoàng, tỉnh Quảng Trị"),
        ("Xã Vĩnh Thái, H. Vĩnh Linh, Quảng Trị", "xã Vĩnh Hoàng, tỉnh Quảng Trị"),
        ("Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội", "phường Hồng Hà, thành phố Hà Nội"),
        # Old province merged into a new one.
        ("xã Quảng Hòa, thị xã Ba Đồn, tỉnh Quảng Bình", "xã Nam Gianh, tỉnh Quảng Trị"),
        ("P.Đông Lương, TP.Đông Hà, Quảng Trị", "phường Nam Đông Hà, tỉnh Quảng Trị"),
        # A district alone still tells the province, and is dropped.
        ("huyện Vĩnh Linh, tỉnh Quảng Trị", "tỉnh Quảng Trị"),
        ("huyện Vĩnh Linh", "tỉnh Quảng Trị"),
    ],
)
def test_district_era_addresses_are_converted(
    gazetteer: Gazetteer, area: str, expected: str
) -> None:
    match = resolve_place(area, "", gazetteer)
    assert match.area == expected
    assert "huyện" not in match.area and "quận" not in match.area


def test_converted_commune_is_confirmed() -> None:
    match = resolve_place("xã Vĩnh Thái, huyện Vĩnh Linh, tỉnh Quảng Trị", "")
    assert (match.commune, match.province) == ("xã Vĩnh Hoàng", "tỉnh Quảng Trị")
    assert match.status is PlaceStatus.SUCCESS


# --------------------------------------------------------------------------- folding


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ("thon tan my, xa vinh giang, tinh quang tri", TAN_MY),
        ("THÔN TÂN MỸ", TAN_MY),
        ("Ha Loi Trung", "thôn Hà Lợi Trung, xã Vĩnh Giang, tỉnh Quảng Trị"),
        ("xa vinh thai, huyen vinh linh, tinh quang tri", "xã Vĩnh Hoàng, tỉnh Quảng Trị"),
    ],
)
def test_unaccented_input_gets_gazetteer_spelling(
    gazetteer: Gazetteer, area: str, expected: str
) -> None:
    assert resolve_place(area, "", gazetteer).area == expected


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ("thôn Năm", THON_5),
        ("thon nam", THON_5),
        ("Thôn 05", THON_5),
        ("thôn 5, xã Vĩnh Giang", THON_5),
        ("thôn Mười Hai", "thôn 12, xã Vĩnh Giang, tỉnh Quảng Trị"),
        ("thôn 12", "thôn 12, xã Vĩnh Giang, tỉnh Quảng Trị"),
        # A "tổ" is not a "thôn": the number alone does not make them the same place.
        ("tổ 5, xã Vĩnh Thủy", "tổ 5, xã Vĩnh Thủy, tỉnh Quảng Trị"),
        ("tổ Năm", "tổ 5, xã Vĩnh Thủy, tỉnh Quảng Trị"),
    ],
)
def test_number_words_match_digits(gazetteer: Gazetteer, area: str, expected: str) -> None:
    assert resolve_place(area, "", gazetteer).area == expected


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("text", "expected", "source"),
    [
        ("Tôi ở thôn Tân Mỹ, xin phản ánh việc lấn chiếm đất.", TAN_MY, "text"),
        ("toi o thon tan my xa vinh giang, de nghi giai quyet", TAN_MY, "text"),
        (
            "Gia đình tôi ở Hà Lợi Trung, đề nghị xem xét.",
            "thôn Hà Lợi Trung, xã Vĩnh Giang, tỉnh Quảng Trị",
            "gazetteer",
        ),
        ("Bà con ở Tan My phản ánh mùi hôi.", TAN_MY, "gazetteer"),
        ("Tôi ở thôn Năm, xã Vĩnh Giang, đường bị sạt lở.", THON_5, "text"),
        (
            "Nhà tôi ở xã Vĩnh Thái, huyện Vĩnh Linh, tỉnh Quảng Trị.",
            "xã Vĩnh Hoàng, tỉnh Quảng Trị",
            "text",
        ),
        (
            "Khu vực xóm Đồng Bào, xã Vĩnh Giang bị ngập.",
            "xóm Đồng Bào, xã Vĩnh Giang, tỉnh Quảng Trị",
            "text",
        ),
        # "Năm Căn" is a name, not the number five.
        (
            "Tôi ở thôn Năm Căn, xã Vĩnh Giang.",
            "thôn Năm Căn, xã Vĩnh Giang, tỉnh Quảng Trị",
            "text",
        ),
    ],
)
def test_text_mentions(gazetteer: Gazetteer, text: str, expected: str, source: str) -> None:
    match = resolve_place(None, text, gazetteer)
    assert (match.area, match.source) == (expected, source)


@pytest.mark.parametrize(
    "text",
    [
        "Mong mọi người được bình an.",  # a wish, not the village Bình An
        "mong moi nguoi duoc binh an va khoe manh",
        "Rất mong được quan tâm, tình hình rất bức xúc.",  # "quan tâm" is no "quận Tám"
        "Chủ tịch xã Nguyễn Văn A không tiếp dân.",  # a person, not a commune
        "Gia đình tôi ở Rào bị ngập.",  # one-syllable names need a unit word (or NER)
        "Hôm nay trời đẹp.",
        "",
    ],
)
def test_unknown_places_are_kept_as_unknown(gazetteer: Gazetteer, text: str) -> None:
    match = resolve_place(None, text, gazetteer)
    assert match == PlaceMatch(UNKNOWN_AREA, None, None, None, PlaceStatus.NOT_FOUND, "none")


@pytest.mark.parametrize(
    "text",
    [
        # Ordinary words after "xã" fold like far-away communes (Bo, Chờ, Cô Tô, phường 2).
        "Tôi ở thôn 12. Đề nghị xã bố trí người trực cả buổi chiều.",
        "Tôi ở thôn Mười Hai. Xin xã cho biết hồ sơ đang vướng ở đâu.",
        "Tôi ở thôn 12 bên này. Năm nay xã có tổ chức lễ hội không?",
        "Nhà tôi ở thôn 12. Tôi đã lên xã 2 lần mà chưa được trả lời.",
        "toi o thon 12, de nghi xa bo tri nguoi truc",
    ],
)
def test_words_after_xa_do_not_move_a_gazetteer_village(gazetteer: Gazetteer, text: str) -> None:
    match = resolve_place(None, text, gazetteer)
    assert (match.village, match.commune, match.province) == (
        "thôn 12",
        "xã Vĩnh Giang",
        "tỉnh Quảng Trị",
    )
    assert match.status is PlaceStatus.SUCCESS


@pytest.mark.parametrize(
    "text",
    [
        "Đề nghị xã bố trí người trực.",
        "Xin xã cho biết kết quả.",
        "Năm nay xã có tổ chức lễ hội không?",
        "Tôi đã lên xã 3 lần.",
    ],
)
def test_lower_case_words_after_xa_are_no_commune(gazetteer: Gazetteer, text: str) -> None:
    assert resolve_place(None, text, gazetteer).status is PlaceStatus.NOT_FOUND


def test_confirmed_commune_elsewhere_is_not_paired_with_a_gazetteer_village(
    gazetteer: Gazetteer,
) -> None:
    # The text names another commune explicitly and the national data knows it: the commune
    # wins, but "thôn Tân Mỹ" of Vĩnh Giang is not glued onto it.
    match = resolve_place(None, "Tôi ở thôn Tân Mỹ, xã Kim Bôi, tỉnh Phú Thọ.", gazetteer)
    assert (match.village, match.commune, match.province) == (
        None,
        "xã Kim Bôi",
        "tỉnh Phú Thọ",
    )
    assert match.status is PlaceStatus.PARTIAL


def test_commune_of_the_gazetteer_village_confirms_it(gazetteer: Gazetteer) -> None:
    match = resolve_place(None, "Nhà tôi ở thôn 12, xã Vĩnh Giang, đường hỏng.", gazetteer)
    assert match.area == "thôn 12, xã Vĩnh Giang, tỉnh Quảng Trị"
    assert match.status is PlaceStatus.SUCCESS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A capitalised name without accents is still read, folded.
        ("Tôi ở xã Vinh Giang.", "xã Vĩnh Giang, tỉnh Quảng Trị"),
        # Numbered units exist only as "phường" and "quận".
        ("Nhà tôi ở phường 2, quận 3, TP Hồ Chí Minh.", "phường Bàn Cờ, thành phố Hồ Chí Minh"),
    ],
)
def test_explicit_units_in_text_are_still_read(
    gazetteer: Gazetteer, text: str, expected: str
) -> None:
    assert resolve_place(None, text, gazetteer).area == expected


@pytest.mark.parametrize("area", [None, "", "   ", "???", "số 12"])
def test_empty_metadata_falls_back_to_text(gazetteer: Gazetteer, area: str | None) -> None:
    assert resolve_place(area, "Tôi ở thôn Tân Mỹ.", gazetteer).area == TAN_MY


def test_no_gazetteer_keeps_written_names() -> None:
    match = resolve_place(None, "Nhà tôi ở thôn Tân Mỹ, xã Vĩnh Giang có nhiều rác.")
    assert match.village == "thôn Tân Mỹ"
    assert match.status is PlaceStatus.PARTIAL


def test_ner_is_opt_in(gazetteer: Gazetteer) -> None:
    text = "Gia đình tôi ở Rào bị ngập nặng."
    assert resolve_place(None, text, gazetteer).status is PlaceStatus.NOT_FOUND
    match = resolve_place(None, text, gazetteer, use_ner=True)
    assert (match.area, match.source) == ("thôn Rào, xã Vĩnh Giang, tỉnh Quảng Trị", "ner")


# --------------------------------------------------------------------------- gazetteer files


def test_load_gazetteer_indexes_every_file(gazetteer: Gazetteer) -> None:
    assert len(gazetteer) == 9
    assert gazetteer.files == ("quang-tri-vinh-giang.csv", "quang-tri-vinh-thuy.csv")
    tan_my = next(v for v in gazetteer.villages if v.village == "thôn Tân Mỹ")
    assert (tan_my.commune, tan_my.province, tan_my.former_district) == (
        "xã Vĩnh Giang",
        "tỉnh Quảng Trị",
        "huyện Vĩnh Linh",
    )


def test_load_gazetteer_is_cached_until_a_file_changes(gazetteer_dir: Path) -> None:
    first = load_gazetteer(gazetteer_dir)
    assert load_gazetteer(gazetteer_dir) is first
    path = gazetteer_dir / "quang-tri-vinh-thuy.csv"
    path.write_text(VINH_THUY + "Quảng Trị,Vĩnh Thủy,Lâm Cao,thôn Lâm Cao,\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    reloaded = load_gazetteer(gazetteer_dir)
    assert reloaded is not first
    assert (
        resolve_place("Lâm Cao", "", reloaded).area == "thôn Lâm Cao, xã Vĩnh Thủy, tỉnh Quảng Trị"
    )


def test_gazetteer_file_with_bom_and_windows_lines(tmp_path: Path) -> None:
    (tmp_path / "excel.csv").write_bytes(("\ufeff" + VINH_GIANG).replace("\n", "\r\n").encode())
    assert resolve_place("tan my", "", load_gazetteer(tmp_path)).area == TAN_MY


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("tinh,xa,thon\nQuảng Trị,Vĩnh Giang,Tân Mỹ\n", "thiếu cột province, commune, village"),
        (HEADER + "Quảng Trị,,Tân Mỹ,,\n", r"bad\.csv, dòng 2: cần đủ tỉnh"),
    ],
)
def test_malformed_gazetteer_is_reported(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "bad.csv").write_text(content, encoding="utf-8")
    with pytest.raises(GazetteerError, match=message):
        load_gazetteer(tmp_path)


def test_missing_gazetteer_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(GazetteerError, match="không tìm thấy thư mục"):
        load_gazetteer(tmp_path / "missing")


def test_place_match_is_frozen(gazetteer: Gazetteer) -> None:
    match = resolve_place("Thôn 5", "", gazetteer)
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.area = "khác"  # type: ignore[misc]


# --------------------------------------------------------------------------- properties

_PLACE_WORDS = st.sampled_from(
    [
        "thôn",
        "xã",
        "huyện",
        "tỉnh",
        "tổ",
        "Tân",
        "Mỹ",
        "Năm",
        "5",
        "Vĩnh",
        "Giang",
        "tan",
        "my",
        "Quảng",
        "Trị",
        ",",
        "-",
        ".",
        "ở",
        "bản",
        "TP.",
        "x.",
        "thanh pho",
        "mười",
        "  ",
        "\n",
    ]
)
_PLACE_TEXT = st.lists(st.one_of(_PLACE_WORDS, st.text(max_size=6)), max_size=14).map(" ".join)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(area=st.one_of(st.none(), _PLACE_TEXT), text=_PLACE_TEXT)
def test_resolve_place_never_raises_and_always_gives_an_area(
    gazetteer: Gazetteer, area: str | None, text: str
) -> None:
    match = resolve_place(area, text, gazetteer)
    assert match.area.strip()
    assert (match.area == UNKNOWN_AREA) == (match.status is PlaceStatus.NOT_FOUND)
    assert match.source in {"metadata", "text", "gazetteer", "ner", "none"}
    levels = [p for p in (match.village, match.commune, match.province) if p]
    assert match.area == (", ".join(levels) or UNKNOWN_AREA)
