"""Emerging issues: from a bare petition frame and from the clusters and counts of a store."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from pipeline.monitor.common import HotspotError
from pipeline.monitor.emerging import EmergingIssue, detect_emerging, emerging_from_store
from pipeline.monitor.engine import emerging_on
from pipeline.monitor.trends import petitions_frame
from pipeline.store import PetitionStore
from pipeline.store.clusters import cluster_ids
from tests.pipeline.monitor.test_hotspots import AS_OF, VILLAGES, Rows, flat_history
from tests.pipeline.store.rows import petition_row

OPENINGS = ("Kính gửi UBND xã.", "Tôi xin phản ánh.", "Thưa cán bộ xã.", "Nhờ xã giúp đỡ.")
MATTERS = (
    "Đèn đường ở ngõ {n} bị hỏng từ lâu",
    "Con mương cạnh nhà số {n} bị tắc nghẽn",
    "Hộ nghèo năm nay có {n} gia đình chưa được xét",
    "Trâu bò thả rông ăn lúa ở cánh đồng số {n}",
    "Tiền hỗ trợ lũ lụt cho {n} hộ chưa được chi",
    "Quán karaoke mở nhạc to đến {n} giờ đêm",
    "Đường bê tông đoạn {n} mét bị nứt vỡ",
    "Cán bộ một cửa hẹn {n} lần vẫn chưa trả hồ sơ",
)
CLOSINGS = ("Mong xã sớm xem xét.", "Xin cảm ơn.", "Đề nghị giải quyết sớm.", "")


def varied_history(rows: Rows, count: int, end: date, seed: int = 7) -> None:
    rng = random.Random(seed)
    for i in range(count):
        text = " ".join(part for part in (
            rng.choice(OPENINGS), rng.choice(MATTERS).format(n=rng.randint(2, 90)) + ".",
            rng.choice(CLOSINGS)) if part)
        rows.add(end - timedelta(days=rng.randint(0, 120)), rng.choice(VILLAGES),
                 ["other"], text=text)
        if i % 10 == 0:
            rows.add(AS_OF - timedelta(days=rng.randint(0, 6)), rng.choice(VILLAGES), ["other"],
                     text=f"{rng.choice(OPENINGS)} {rng.choice(MATTERS).format(n=i)}.")


CAMPAIGN = (
    "Kính gửi UBND xã Vĩnh Giang. Chúng tôi là người dân thôn Lai Phước, sống gần trại heo của "
    "Công ty TNHH Chăn nuôi Hưng Phát. Từ đầu tháng đến nay trại xả nước thải ra mương chung, "
    "mùi hôi thối {x}, ruồi muỗi nhiều, trẻ nhỏ bị ho. Đề nghị xã kiểm tra và xử lý {y}."
)


def test_near_duplicate_campaign_from_different_senders_is_a_cluster() -> None:
    rows = Rows()
    varied_history(rows, 200, AS_OF - timedelta(days=7))
    ids = [
        rows.add(AS_OF - timedelta(days=i), "Lai Phước", ["environment"],
                 sender=name, text=CAMPAIGN.format(x=x, y=y))
        for i, (name, x, y) in enumerate([
            ("Nguyễn Văn Hòa", "nồng nặc", "ngay"), ("Trần Thị Lan", "rất nặng", "gấp"),
            ("Lê Văn Nam", "không chịu nổi", "ngay"), ("Phạm Thị Hoa", "nồng nặc", "dứt điểm"),
        ])
    ]
    issues = detect_emerging(rows.frame(), AS_OF)
    clusters = [i for i in issues if i.kind == "cluster" and set(ids) <= set(i.petition_ids)]
    assert len(clusters) == 1
    cluster = clusters[0]
    assert isinstance(cluster, EmergingIssue)
    assert cluster.senders == 4 and cluster.count == 4
    assert cluster.area == "thôn Lai Phước, xã Vĩnh Giang"
    assert cluster.explanation.startswith(
        "4 đơn có nội dung gần giống nhau từ 4 người gửi khác nhau tại thôn Lai Phước")
    assert "Hưng Phát" in cluster.label
    assert any("Công ty TNHH Chăn nuôi Hưng Phát" in term for term in cluster.terms)


def test_same_text_from_one_sender_is_not_a_campaign() -> None:
    rows = Rows()
    varied_history(rows, 200, AS_OF - timedelta(days=7))
    ids = [rows.add(AS_OF - timedelta(days=i), "Lai Phước", ["environment"],
                    sender="Nguyễn Văn Hòa", text=CAMPAIGN.format(x="nồng nặc", y="ngay"))
           for i in range(5)]
    issues = detect_emerging(rows.frame(), AS_OF)
    assert not [i for i in issues if i.kind == "cluster" and set(ids) & set(i.petition_ids)]


def test_bursting_company_name_is_found() -> None:
    rows = Rows()
    varied_history(rows, 200, AS_OF - timedelta(days=7))
    texts = [
        "Xe tải của Công ty CP Xây lắp Vĩnh An chở vật liệu làm bể mặt đường liên thôn.",
        "Đề nghị xã nhắc Công ty CP Xây lắp Vĩnh An tưới nước, bụi quá nhiều.",
        "Công trình cầu do Công ty CP Xây lắp Vĩnh An làm chậm tiến độ ba tháng rồi.",
        "Công nhân của Công ty CP Xây lắp Vĩnh An đổ đất thải lấp mương của bà con.",
    ]
    ids = [rows.add(AS_OF - timedelta(days=i), VILLAGES[i], ["infrastructure"],
                    sender=f"Người gửi {i}", text=text) for i, text in enumerate(texts)]
    issues = detect_emerging(rows.frame(), AS_OF)
    bursts = [i for i in issues if i.kind == "term_burst"]
    assert bursts, "a company named by four senders this week and never before must burst"
    burst = bursts[0]
    assert burst.label == "Công ty CP Xây lắp Vĩnh An"
    assert set(burst.petition_ids) == set(ids)
    assert burst.count == 4 and burst.senders == 4 and burst.area == "nhiều nơi"
    assert burst.explanation.startswith("Cụm từ «Công ty CP Xây lắp Vĩnh An» xuất hiện trong 4")


def test_emerging_is_replayable_and_ignores_later_petitions() -> None:
    rows = Rows()
    varied_history(rows, 120, AS_OF - timedelta(days=7))
    first = detect_emerging(rows.frame(), AS_OF)
    for i in range(4):
        rows.add(AS_OF + timedelta(days=1), "Gio Mỹ", ["land"], sender=f"Người {i}",
                 text="Công ty TNHH Bất động sản Phú Thành san lấp ruộng của dân.")
    assert detect_emerging(rows.frame(), AS_OF) == first


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_senders": 1}, "min_senders và min_term_count"),
        ({"max_term_length": 20}, "max_term_length"),
        ({"window_days": -1}, "window_days"),
    ],
)
def test_emerging_bad_arguments_raise(options: dict[str, Any], message: str) -> None:
    with pytest.raises(HotspotError, match=message):
        detect_emerging(flat_history(30).frame(), AS_OF, **options)


# ----------------------------------------------------------------------------------------------
# From a store: stored clusters and per-day term counts, only the window's rows read


def _stored(store: PetitionStore, rows: Rows, batch: int = 97) -> None:
    new = [petition_row(r["text"], day=r["received_at"], sender=r["sender_name"],
                        village=r["village"], key=str(r["id"])) for r in rows.rows]
    for start in range(0, len(new), batch):
        store.write_batch(new[start:start + batch], [], [])


def _campaign() -> Rows:
    rows = Rows()
    varied_history(rows, 200, AS_OF - timedelta(days=7))
    for i, (name, x, y) in enumerate([
        ("Nguyễn Văn Hòa", "nồng nặc", "ngay"), ("Trần Thị Lan", "rất nặng", "gấp"),
        ("Lê Văn Nam", "không chịu nổi", "ngay"), ("Phạm Thị Hoa", "nồng nặc", "dứt điểm"),
    ]):
        rows.add(AS_OF - timedelta(days=i), "Lai Phước", ["environment"], sender=name,
                 text=CAMPAIGN.format(x=x, y=y))
    return rows


def _burst() -> Rows:
    rows = Rows()
    varied_history(rows, 200, AS_OF - timedelta(days=7))
    for i, text in enumerate([
        "Xe tải của Công ty CP Xây lắp Vĩnh An chở vật liệu làm bể mặt đường liên thôn.",
        "Đề nghị xã nhắc Công ty CP Xây lắp Vĩnh An tưới nước, bụi quá nhiều.",
        "Công trình cầu do Công ty CP Xây lắp Vĩnh An làm chậm tiến độ ba tháng rồi.",
        "Công nhân của Công ty CP Xây lắp Vĩnh An đổ đất thải lấp mương của bà con.",
    ]):
        rows.add(AS_OF - timedelta(days=i), VILLAGES[i], ["infrastructure"],
                 sender=f"Người gửi {i}", text=text)
    return rows


@pytest.mark.parametrize(("build", "kind", "label"), [
    (_campaign, "cluster", "Hưng Phát"), (_burst, "term_burst", "Công ty CP Xây lắp Vĩnh An"),
])
def test_store_gives_the_same_issues_as_the_whole_frame(
    store: PetitionStore, build: Any, kind: str, label: str
) -> None:
    _stored(store, build())
    from_store = emerging_from_store(store, AS_OF)
    whole = detect_emerging(petitions_frame(store.petition_frame_rows()), AS_OF)
    assert from_store == whole
    found = [i for i in from_store if i.kind == kind and label in i.label]
    assert len(found) == 1 and found[0].count == 4 and found[0].senders == 4


def test_store_campaign_counts_the_clusters_earlier_members(store: PetitionStore) -> None:
    rows = Rows()
    varied_history(rows, 200, AS_OF - timedelta(days=7))
    # The same letter came every week for two months: usual, not an emerging campaign.
    for week in range(1, 9):
        rows.add(AS_OF - timedelta(days=7 * week), "Lai Phước", ["environment"],
                 sender=f"Người cũ {week}", text=CAMPAIGN.format(x="nồng nặc", y="ngay"))
    for i in range(4):
        rows.add(AS_OF - timedelta(days=i), "Lai Phước", ["environment"],
                 sender=f"Người mới {i}", text=CAMPAIGN.format(x="nồng nặc", y="gấp"))
    _stored(store, rows)
    campaign = [r["id"] for r in store.petition_frame_rows() if "Hưng Phát" in r["text"]]
    assert len(set(cluster_ids(store.engine, campaign).values())) == 1
    assert not [i for i in emerging_from_store(store, AS_OF) if i.kind == "cluster"]


def test_engine_reads_emerging_issues_from_the_store(store: PetitionStore) -> None:
    _stored(store, _campaign(), batch=500)
    issues = emerging_on(store, AS_OF)
    assert issues == emerging_from_store(store, AS_OF)
    assert all(isinstance(i, EmergingIssue) for i in issues) and issues


def test_a_campaign_is_named_by_its_matter_not_by_the_hotline_greeting() -> None:
    from pipeline.monitor.emerging import _summary

    text = ("Alo, cán bộ trực đó không, tôi báo việc này. Xe tải chở cát chạy ban đêm làm "
            "nứt mặt đường bê tông liên thôn.")
    assert _summary(text) == ("Xe tải chở cát chạy ban đêm làm nứt mặt đường bê tông liên "
                              "thôn.")
