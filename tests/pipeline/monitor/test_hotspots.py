"""Hot spots on small hand-built petition frames."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipeline.monitor.common import SEVERITIES, HotspotError, format_number
from pipeline.monitor.hotspots import Hotspot, detect_hotspots
from pipeline.monitor.trends import petitions_frame

AS_OF = date(2025, 3, 16)  # a Sunday: the window is Monday 10/3 to Sunday 16/3
VILLAGES = ("Gio Mỹ", "Tân Mỹ", "Lai Phước", "Cổ Mỹ", "Phúc Lâm", "Bến Đò", "Cát Sơn",
            "Thủy Ba", "An Đức", "Mỹ Hội")
QUIET = "Hòa Lý"  # a village that never wrote before


class Rows:
    """Petition rows with increasing ids."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, day: date, village: str, topics: list[str], *, signals: tuple[str, ...] = (),
            sender: str | None = None, text: str = "Đường vào thôn bị hư hỏng.") -> int:
        pid = len(self.rows) + 1
        self.rows.append({
            "id": pid, "received_at": day, "area": f"thôn {village}, xã Vĩnh Giang",
            "village": f"thôn {village}", "commune": "xã Vĩnh Giang",
            "province": "tỉnh Quảng Trị", "source_type": "petition", "topics": topics,
            "signals": list(signals), "sender_name": sender or f"Người dân {pid}", "text": text,
        })
        return pid

    def frame(self) -> pd.DataFrame:
        return petitions_frame(self.rows)


def flat_history(days: int = 182) -> Rows:
    """Return one land and one policy petition a week in each village, plus weekly religion."""
    rows = Rows()
    start = AS_OF - timedelta(days=days)
    for offset in range(days + 1):
        day = start + timedelta(days=offset)
        for index, village in enumerate(VILLAGES):
            if (offset + index) % 7 == 0:
                rows.add(day, village, ["land"])
            if (offset + index) % 7 == 3:
                rows.add(day, village, ["policy"])
            if (offset + index) % 28 == 5:
                rows.add(day, village, ["religion"])
    return rows


def spike(rows: Rows, village: str, topic: str, count: int,
          signals: tuple[str, ...] = ()) -> list[int]:
    return [rows.add(AS_OF - timedelta(days=i % 7), village, [topic], signals=signals)
            for i in range(count)]


def test_clear_spike_is_found_with_its_evidence() -> None:
    rows = flat_history()
    ids = spike(rows, "Gio Mỹ", "land", 8, signals=("mass",))
    found = detect_hotspots(rows.frame(), AS_OF)
    assert found, "a spike of 8 on a weekly baseline of 1 must be found"
    top = found[0]
    assert isinstance(top, Hotspot)
    assert (top.kind, top.level, top.area, top.topic) == (
        "spike", "village", "thôn Gio Mỹ, xã Vĩnh Giang", "land")
    assert (top.window_start, top.window_end) == (date(2025, 3, 10), AS_OF)
    assert top.count == 9  # 8 new petitions and the usual weekly one
    assert set(ids) <= set(top.petition_ids)
    assert 0.5 < top.expected < 2.5
    assert top.score < 1e-4
    assert top.signals == {"mass": 8, "repeat": 0}
    assert top.severity == "high"
    assert top.explanation.startswith(
        "9 đơn về Đất đai tại thôn Gio Mỹ, xã Vĩnh Giang trong 7 ngày qua (10/03–16/03/2025)")
    assert "lần mức bình thường" in top.explanation and "/tuần)" in top.explanation
    assert "8 đơn tập thể, đông người" in top.explanation
    # The village carries it: no second entry for the commune on the same topic.
    assert not [h for h in found if h.level == "commune" and h.topic == "land"]


def test_flat_series_gives_no_hotspot() -> None:
    assert detect_hotspots(flat_history().frame(), AS_OF) == []


@pytest.mark.parametrize("count", [1, 2])
@pytest.mark.parametrize("topic", ["land", "policy", "security"])
def test_small_numbers_in_a_quiet_village_do_not_fire(topic: str, count: int) -> None:
    rows = flat_history()
    spike(rows, QUIET, topic, count)
    assert detect_hotspots(rows.frame(), AS_OF) == []


def test_spike_without_own_history_quotes_no_ratio() -> None:
    rows = flat_history(188)  # 182 days before the window
    spike(rows, QUIET, "land", 8)
    found = [h for h in detect_hotspots(rows.frame(), AS_OF) if h.area.startswith(f"thôn {QUIET}")]
    assert len(found) == 1
    assert "gấp" not in found[0].explanation
    assert "lần đầu tiên có đơn về chủ đề này tại đây trong 182 ngày" in found[0].explanation


def test_spike_with_few_past_petitions_gives_their_number_not_a_ratio() -> None:
    rows = flat_history(188)
    rows.add(AS_OF - timedelta(days=60), QUIET, ["land"])
    rows.add(AS_OF - timedelta(days=100), QUIET, ["land"])
    spike(rows, QUIET, "land", 8)
    found = [h for h in detect_hotspots(rows.frame(), AS_OF) if h.area.startswith(f"thôn {QUIET}")]
    assert len(found) == 1
    assert "gấp" not in found[0].explanation
    assert "182 ngày trước đó chỉ có 2 đơn về chủ đề này tại đây" in found[0].explanation


def test_first_religion_petition_in_a_village_is_always_a_hotspot() -> None:
    rows = flat_history()
    pid = rows.add(AS_OF - timedelta(days=2), QUIET, ["religion"])
    found = detect_hotspots(rows.frame(), AS_OF)
    assert len(found) == 1
    first = found[0]
    assert (first.kind, first.topic, first.area, first.count) == (
        "first_religion", "religion", f"thôn {QUIET}, xã Vĩnh Giang", 1)
    assert first.petition_ids == [pid]
    assert first.severity == "low"
    assert first.explanation.startswith(
        f"Lần đầu tiên có đơn về Tôn giáo, tín ngưỡng tại thôn {QUIET}")


def test_religion_in_a_village_that_had_it_before_is_not_first() -> None:
    rows = flat_history()
    rows.add(AS_OF - timedelta(days=1), "Gio Mỹ", ["religion"])
    assert not [h for h in detect_hotspots(rows.frame(), AS_OF) if h.kind == "first_religion"]


@pytest.mark.parametrize(
    ("signals", "expected"),
    [((), "low"), (("mass",), "medium"), (("repeat",), "medium"), (("mass", "repeat"), "medium")],
)
def test_first_religion_severity_rises_with_signals(signals: tuple[str, ...],
                                                     expected: str) -> None:
    rows = flat_history()
    rows.add(AS_OF, QUIET, ["religion"], signals=signals)
    assert detect_hotspots(rows.frame(), AS_OF)[0].severity == expected


@pytest.mark.parametrize("signals", [("mass",), ("repeat",), ("mass", "repeat")])
def test_mass_and_repeat_raise_spike_severity(signals: tuple[str, ...]) -> None:
    plain, flagged = flat_history(), flat_history()
    spike(plain, "Gio Mỹ", "policy", 6)
    spike(flagged, "Gio Mỹ", "policy", 6, signals=signals)
    base = detect_hotspots(plain.frame(), AS_OF)
    raised = detect_hotspots(flagged.frame(), AS_OF)
    assert [h.kind for h in base] == ["spike"] and [h.kind for h in raised] == ["spike"]
    assert base[0].severity == "low"  # the spike is real but modest
    assert SEVERITIES.index(raised[0].severity) == len(signals)


def test_replay_is_identical_and_ignores_later_petitions() -> None:
    rows = flat_history()
    spike(rows, "Gio Mỹ", "land", 8)
    before = detect_hotspots(rows.frame(), AS_OF)
    assert before == detect_hotspots(rows.frame(), AS_OF)
    for offset in range(1, 6):  # a second spike after as_of must not change the past
        rows.add(AS_OF + timedelta(days=offset), "Tân Mỹ", ["policy"])
        rows.add(AS_OF + timedelta(days=offset), QUIET, ["religion"])
    after = detect_hotspots(rows.frame(), AS_OF)
    assert after == before
    assert [(h.area, h.petition_ids) for h in after] == [(h.area, h.petition_ids) for h in before]


def test_results_are_sorted_most_severe_first() -> None:
    rows = flat_history()
    spike(rows, "Gio Mỹ", "land", 10, signals=("mass",))
    rows.add(AS_OF, QUIET, ["religion"])
    found = detect_hotspots(rows.frame(), AS_OF)
    ranks = [SEVERITIES.index(h.severity) for h in found]
    assert ranks == sorted(ranks, reverse=True) and len(found) == 2


def test_no_history_means_no_spike_but_first_religion_still_applies() -> None:
    rows = Rows()
    for i in range(10):
        rows.add(AS_OF - timedelta(days=i % 3), "Gio Mỹ", ["land"])
    rows.add(AS_OF, "Gio Mỹ", ["religion"])
    assert [h.kind for h in detect_hotspots(rows.frame(), AS_OF)] == ["first_religion"]
    assert detect_hotspots(petitions_frame([]), AS_OF) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window_days": 0}, "window_days phải là số nguyên"),
        ({"history_days": 3}, "history_days phải là số nguyên"),
        ({"budget": 0}, "budget phải > 0"),
        ({"sensitive_share": 0.7, "text_share": 0.4}, "tổng nhỏ hơn 1"),
        ({"min_ratio": 0.5}, "min_ratio phải"),
        ({"sensitive": ("weather",)}, "không có trong danh mục"),
        ({"levels": ("district",)}, "levels chỉ nhận"),
    ],
)
def test_bad_arguments_raise(options: dict[str, Any], message: str) -> None:
    with pytest.raises(HotspotError, match=message):
        detect_hotspots(flat_history(30).frame(), AS_OF, **options)


def test_as_of_must_be_a_date() -> None:
    with pytest.raises(HotspotError, match="as_of phải là một ngày"):
        detect_hotspots(flat_history(30).frame(), "2025-03-16")  # type: ignore[arg-type]


def test_scan_windows_report_a_short_burst_with_its_own_window() -> None:
    rows = flat_history()
    ids = [rows.add(AS_OF - timedelta(days=i % 2), "Tân Mỹ", ["policy"]) for i in range(6)]
    found = detect_hotspots(rows.frame(), AS_OF, scan_windows=(2, 7))
    burst = [h for h in found if h.area == "thôn Tân Mỹ, xã Vĩnh Giang" and h.topic == "policy"]
    assert len(burst) == 1
    top = burst[0]
    assert (top.window_start, top.window_end) == (AS_OF - timedelta(days=1), AS_OF)
    assert set(ids) <= set(top.petition_ids)
    assert all(pid in ids or rows.rows[pid - 1]["received_at"] >= AS_OF - timedelta(days=1)
               for pid in top.petition_ids)
    assert top.count == len(top.petition_ids) >= 6
    assert top.expected < 0.6  # two days of a one-a-week rate
    assert " trong 2 ngày qua (15/03–16/03/2025), gấp " in top.explanation
    assert " lần mức bình thường của 2 ngày (" in top.explanation  # a ratio of like with like
    assert "/tuần)" in top.explanation  # and the usual rate is still quoted per week


def test_scan_windows_without_the_whole_window_count_only_their_days() -> None:
    rows = flat_history()
    recent = [rows.add(AS_OF - timedelta(days=i % 3), "Tân Mỹ", ["policy"]) for i in range(7)]
    early = rows.add(AS_OF - timedelta(days=6), "Tân Mỹ", ["policy"])
    found = detect_hotspots(rows.frame(), AS_OF, scan_windows=(3,))
    top = next(h for h in found if h.area.startswith("thôn Tân Mỹ") and h.topic == "policy")
    assert top.window_start == AS_OF - timedelta(days=2)
    assert set(recent) <= set(top.petition_ids) and early not in top.petition_ids
    assert " trong 3 ngày qua (14/03–16/03/2025)" in top.explanation


@pytest.mark.parametrize("count", [1, 2])
def test_scan_windows_keep_small_numbers_quiet(count: int) -> None:
    rows = flat_history()
    spike(rows, QUIET, "security", count)
    assert detect_hotspots(rows.frame(), AS_OF, scan_windows=range(1, 8)) == []


def test_windows_of_3_and_7_days_are_scanned_by_default() -> None:
    rows = flat_history()
    spike(rows, "Gio Mỹ", "land", 8)
    frame = rows.frame()
    assert detect_hotspots(frame, AS_OF) == detect_hotspots(frame, AS_OF, scan_windows=(3, 7))
    assert detect_hotspots(frame, AS_OF) != detect_hotspots(frame, AS_OF, scan_windows=(7,))


@pytest.mark.parametrize("windows", [(), (0, 7), (8,), (2.5,)])
def test_bad_scan_windows_raise(windows: tuple[Any, ...]) -> None:
    with pytest.raises(HotspotError, match="scan_windows phải là các số nguyên từ 1 đến"):
        detect_hotspots(flat_history(30).frame(), AS_OF, scan_windows=windows)


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [(0.8, 1, "0,8"), (9.0, 1, "9"), (1234.5, 1, "1.234,5"), (0.05, 2, "0,05"), (12, 0, "12")],
)
def test_vietnamese_number_format(value: float, decimals: int, text: str) -> None:
    assert format_number(value, decimals) == text


# ----------------------------------------------------------------------------------------------
# Counts input, budget calibration and text evidence


def _daily_run(scenario: Any, days: int, **options: Any) -> list[tuple[date, Hotspot]]:
    from pipeline.monitor.counts import first_seen_from_counts
    from pipeline.monitor.hotspots import detect_from_counts

    first_seen = first_seen_from_counts(scenario.counts)
    last = scenario.start + timedelta(days=int(scenario.mean.shape[2]) - 1)
    found = []
    for back in range(days - 1, -1, -1):
        day = last - timedelta(days=back)
        found.extend((day, h) for h in detect_from_counts(
            scenario.counts, day, first_seen=first_seen, evidence=scenario.evidence,
            **options))
    return found


def _episodes(found: list[tuple[date, Hotspot]]) -> int:
    days: dict[tuple[str, str, str], list[date]] = {}
    for day, h in found:
        if h.kind == "spike":
            days.setdefault((h.level, h.area, h.topic), []).append(day)
    return sum(1 + sum((b - a).days > 1 for a, b in zip(d, d[1:], strict=False))
               for d in days.values())


@pytest.mark.parametrize("cv", [0.41, 0.0])
def test_spike_free_replay_stays_within_the_budget(cv: float) -> None:
    from pipeline.monitor.scenario import generate

    scenario = generate(7, start=date(2024, 1, 1), days=182 + 7 + 60, villages=30,
                        communes=3, cv=cv)
    found = _daily_run(scenario, 60)
    per_commune_month = _episodes(found) / (3 * 60 / 30)
    assert per_commune_month <= 1.0
    # and a tighter budget gives fewer false hot spots, not more
    strict = _daily_run(scenario, 60, budget=0.25)
    assert _episodes(strict) <= _episodes(found)


def test_calibration_tightens_thresholds_when_the_replay_would_overspend() -> None:
    from pipeline.monitor import hotspot_model as model

    rng = np.random.default_rng(3)
    history = rng.poisson(0.3, (20, 4, 182)).astype(float)
    base = model.fit_baseline(history, 0)
    minimum = np.full(4, 1.0)
    replayed = model.replay(history, base, (3, 7), 0, minimum, 1.0, 56)
    assert replayed is not None and replayed.days == 56
    columns = np.ones(4, dtype=bool)
    generous = np.full(4, 0.2)
    assert model.calibrate([replayed], [generous], columns, 1.0) < 1.0
    assert model.calibrate([replayed], [np.full(4, 1e-9)], columns, 1.0) == 4.0


def test_nb2_variance_gives_quiet_cells_light_tails_and_busy_cells_heavy_ones() -> None:
    from pipeline.monitor import hotspot_model as model

    size = model.nb_size(np.ones(2), np.array([0.2, 0.2]), np.array([1e9, 1e9]))
    quiet, busy = model.upper_tail(np.array([5, 20]), np.array([0.25, 10.0]), size)
    poisson_busy = model.upper_tail(np.array([20]), np.array([10.0]), np.array([1e12]))[0]
    assert quiet < 1e-4  # 5 against 0.25: clearly unusual
    assert busy > 3 * poisson_busy  # 20 against 10: far less surprising than Poisson says


def test_near_duplicate_group_lowers_the_count_needed_and_says_so() -> None:
    rows = flat_history()
    # Three different people about the same matter, in a village whose usual week has one
    # land petition: too few for the count alone.
    ids = [rows.add(AS_OF - timedelta(days=i), "Gio Mỹ", ["land"], sender=f"Hộ {i}",
                    text="Trại heo xả thải ra mương gây hôi thối, đề nghị xã kiểm tra.")
           for i in range(3)]
    plain = rows.frame()
    assert not [h for h in detect_hotspots(plain, AS_OF) if h.topic == "land"]
    grouped = plain.assign(cluster=plain["id"].map(lambda i: 99 if i in ids else -i))
    found = [h for h in detect_hotspots(grouped, AS_OF) if h.topic == "land"]
    assert len(found) == 1
    spot = found[0]
    assert spot.evidence == ("cluster",) and spot.coherent == 3
    assert set(ids) <= set(spot.petition_ids)
    assert spot.count < spot.threshold  # the count alone would not have made it
    assert f"chưa tới ngưỡng bất thường ({spot.threshold} đơn)" in spot.explanation
    assert "3 đơn gần trùng nội dung (cùng một vụ việc)" in spot.explanation


def test_one_sender_writing_the_same_letter_three_times_is_not_a_group() -> None:
    rows = flat_history()
    ids = [rows.add(AS_OF - timedelta(days=i), "Gio Mỹ", ["land"], sender="Lê Văn Ba",
                    text="Trại heo xả thải ra mương gây hôi thối.") for i in range(3)]
    frame = rows.frame()
    grouped = frame.assign(cluster=frame["id"].map(lambda i: 99 if i in ids else -i))
    assert not [h for h in detect_hotspots(grouped, AS_OF) if h.topic == "land"]


def test_explanation_gives_the_trigger_count_and_the_smallest_spike() -> None:
    rows = flat_history()
    spike(rows, "Gio Mỹ", "land", 8)
    top = detect_hotspots(rows.frame(), AS_OF)[0]
    assert top.evidence == ("count",)
    assert 4 <= top.threshold <= top.count
    assert f"ngưỡng bất thường ở nơi này: từ {top.threshold} đơn" in top.explanation
    assert 1 <= top.min_spike <= top.threshold
    assert f"nhận ra được đợt tăng từ {top.min_spike} đơn/tuần trở lên" in top.explanation


def test_ratios_in_explanations_rest_on_the_cells_own_history() -> None:
    from pipeline.monitor.hotspots import FEW_PAST_PETITIONS
    from pipeline.monitor.scenario import Event, generate

    start = date(2024, 1, 1)
    events = [Event(v, "land", start + timedelta(days=190), 5, 9, False) for v in range(0, 30, 3)]
    scenario = generate(11, start=start, days=182 + 7 + 14, villages=30, communes=3,
                        events=events)
    counts = scenario.counts.assign(day=pd.to_datetime(scenario.counts["day"]))
    found = [h for _, h in _daily_run(scenario, 14) if h.kind == "spike"]
    assert found
    for h in found:
        window_start = h.window_end - timedelta(days=6)
        area = counts["area"] if h.level == "village" else counts[h.level]
        past = counts[(area == h.area) & (counts["topic"] == h.topic)
                      & (counts["day"] < pd.Timestamp(window_start))
                      & (counts["day"] >= pd.Timestamp(window_start - timedelta(days=182)))]
        own = int(past["count"].sum())
        assert ("gấp" in h.explanation) == (own >= FEW_PAST_PETITIONS), (own, h.explanation)


def test_counts_input_gives_what_the_petition_frame_gives() -> None:
    from pipeline.monitor.counts import counts_from_petitions, first_seen_from_counts
    from pipeline.monitor.hotspots import detect_from_counts, evidence_rows

    rows = flat_history()
    spike(rows, "Gio Mỹ", "land", 8, signals=("mass",))
    rows.add(AS_OF, QUIET, ["religion"])
    frame = rows.frame()
    counts = counts_from_petitions(frame)
    found = detect_from_counts(counts, AS_OF, first_seen=first_seen_from_counts(counts),
                               evidence=evidence_rows(frame))
    assert found == detect_hotspots(frame, AS_OF)
    assert {h.kind for h in found} == {"spike", "first_religion"}


WORDS = ("đường", "mương", "lúa", "hộ nghèo", "trâu bò", "đèn", "cống", "ruộng", "chợ",
         "trường", "nước sạch", "điện", "cầu", "rác", "giấy tờ", "thuế", "đất ở", "sổ đỏ",
         "bảo hiểm", "trợ cấp", "karaoke", "bụi", "khói", "ao", "vườn", "ngõ", "nhà văn hóa")


def _varied_text(pid: int) -> str:
    """Return a short letter unlike the others (so that it has no near duplicate)."""
    import random

    rng = random.Random(pid)
    return "Xin phản ánh " + ", ".join(rng.sample(WORDS, 6)) + f" ở xóm {pid}."


def test_store_counts_and_window_rows_give_what_all_rows_give(store: Any) -> None:
    from pipeline.monitor.engine import hotspots_on
    from pipeline.store.clusters import cluster_ids, clustered_rows_between
    from tests.pipeline.store.rows import petition_row

    rows = flat_history()
    for row in rows.rows:
        row["text"] = _varied_text(row["id"])
    for pid in spike(rows, "Gio Mỹ", "land", 8):
        rows.rows[pid - 1]["text"] = _varied_text(pid)
    for i in range(3):
        rows.add(AS_OF - timedelta(days=i), "Lai Phước", ["land"], sender=f"Hộ {i}",
                 text="Trại heo của ông Tư xả thải ra mương gây hôi thối, đề nghị xã kiểm tra.")
    rows.add(AS_OF, QUIET, ["religion"], text="Có người lạ đến vận động bỏ thờ cúng tổ tiên.")
    new = []
    for r in rows.rows:
        row = petition_row(r["text"], day=r["received_at"], sender=r["sender_name"],
                           village=r["village"], key=str(r["id"]))
        new.append({**row, "topics": r["topics"], "signals": r["signals"],
                    "scores": {t: 1.0 for t in r["topics"]}})
    for start in range(0, len(new), 200):
        store.write_batch(new[start:start + 200], [], [])

    stored = hotspots_on(store, AS_OF)
    everything = petitions_frame(store.petition_frame_rows())
    clusters = cluster_ids(store.engine, [int(i) for i in everything["id"]])
    whole = everything.assign(cluster=everything["id"].map(lambda i: clusters.get(int(i), -i)))
    assert stored == detect_hotspots(whole, AS_OF)
    kinds = {(h.area.split(",")[0], h.topic): h for h in stored}
    assert set(kinds) == {("thôn Gio Mỹ", "land"), ("thôn Lai Phước", "land"),
                          (f"thôn {QUIET}", "religion")}
    assert kinds[("thôn Gio Mỹ", "land")].evidence == ("count",)
    assert kinds[("thôn Lai Phước", "land")].evidence == ("cluster",)
    assert kinds[(f"thôn {QUIET}", "religion")].kind == "first_religion"
    window = clustered_rows_between(store.engine, AS_OF - timedelta(days=6), AS_OF)
    assert window and all("text" not in r for r in window)
    assert {r["received_at"] for r in window} <= {AS_OF - timedelta(days=i) for i in range(7)}


def test_detection_limits_give_the_hot_spots_smallest_spike_and_grow_with_the_usual_level(
) -> None:
    from pipeline.monitor.counts import counts_from_petitions
    from pipeline.monitor.hotspots import LIMIT_COLUMNS, detection_limits

    rows = flat_history()
    start = AS_OF - timedelta(days=182)
    for offset in range(0, 182, 2):  # Tân Mỹ writes on land about four times as often
        for _ in range(2):
            rows.add(start + timedelta(days=offset), "Tân Mỹ", ["land"])
    spike(rows, "Gio Mỹ", "land", 8)
    frame = rows.frame()
    limits = detection_limits(counts_from_petitions(frame), AS_OF)
    assert tuple(limits.columns) == LIMIT_COLUMNS
    land = limits[(limits["level"] == "village") & (limits["topic"] == "land")
                  ].set_index("area")
    top = detect_hotspots(frame, AS_OF)[0]
    assert (top.area, top.topic) == ("thôn Gio Mỹ, xã Vĩnh Giang", "land")
    assert land.loc[top.area, "min_spike"] == top.min_spike
    busy, usual = land.loc["thôn Tân Mỹ, xã Vĩnh Giang"], land.loc["thôn Cổ Mỹ, xã Vĩnh Giang"]
    assert busy["expected"] > 3 * usual["expected"]
    assert busy["min_spike"] > usual["min_spike"] >= 1
    assert (limits["threshold"] >= limits["expected"]).all()


def test_detection_limits_need_history_and_known_options() -> None:
    from pipeline.monitor.counts import counts_from_petitions
    from pipeline.monitor.hotspots import detection_limits

    short = counts_from_petitions(flat_history(14).frame())
    assert detection_limits(short, AS_OF).empty
    with pytest.raises(HotspotError, match="tùy chọn không có: alpha"):
        detection_limits(short, AS_OF, alpha=0.1)
