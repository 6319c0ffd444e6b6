"""Near-duplicate clusters and day term counts kept by write_batch, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.store import PetitionStore, get_petition
from pipeline.store.clusters import StoredEmergingHistory
from pipeline.store.schema import near_duplicate_bands, near_duplicate_clusters, term_days
from tests.conftest import _reset
from tests.pipeline.store.rows import petition_row

TEMPLATES = (
    "Trại heo của Công ty TNHH Chăn nuôi Hưng Phát xả nước thải ra mương chung của thôn, mùi "
    "hôi thối {w}, ruồi muỗi nhiều, trẻ nhỏ bị ho, đề nghị xã kiểm tra và xử lý {v}.",
    "Đề nghị xã xem xét cấp giấy chứng nhận quyền sử dụng đất cho gia đình {w}, hồ sơ đã nộp từ "
    "năm 2022 tại bộ phận một cửa mà đến nay vẫn chưa có kết quả, mong được trả lời {v}.",
    "Đoạn đường bê tông từ cầu {w} vào trường tiểu học bị nứt vỡ nhiều chỗ, mùa mưa ngập sâu, "
    "học sinh đi lại rất khó khăn, kính mong xã sửa chữa {v}.",
)
WORDS = ("nồng nặc", "ông Ba", "Bến Đò", "rất nặng", "bà Tư", "Cát Sơn", "không chịu nổi")
ENDINGS = ("sớm", "ngay", "dứt điểm", "trong tháng này")


def _partition(store: PetitionStore) -> set[frozenset[str]]:
    """Return the clusters as sets of texts (ids differ between databases and runs)."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT c.cluster_id, p.text FROM near_duplicate_clusters c "
            "JOIN petitions p ON p.id = c.petition_id"))
        groups: dict[int, set[str]] = {}
        for cluster_id, text in rows:
            groups.setdefault(cluster_id, set()).add(text)
    return {frozenset(g) for g in groups.values()}


def test_copies_share_a_cluster_and_show_each_other(store: PetitionStore) -> None:
    letter = TEMPLATES[0].format(w="nồng nặc", v="ngay")
    ids = store.write_batch([
        petition_row(letter, sender="Nguyễn Văn Hòa"),
        petition_row(TEMPLATES[1].format(w="tôi", v="sớm"), sender="Lê Thị Lan"),
    ], [], [])
    more = store.write_batch([
        petition_row(TEMPLATES[0].format(w="rất nặng", v="dứt điểm"), sender="Trần Văn Nam",
                     day=date(2025, 3, 12), village="thôn Tân Mỹ"),
        petition_row(letter, sender="Ủy ban trả lời", is_response=True),
    ], [], [])
    first = ids[petition_row(letter, sender="Nguyễn Văn Hòa")["content_hash"]]
    (copy,) = [v for k, v in more.items()
               if k == petition_row(TEMPLATES[0].format(w="rất nặng", v="dứt điểm"),
                                    sender="Trần Văn Nam", day=date(2025, 3, 12))["content_hash"]]
    shown = get_petition(store.engine, copy)
    assert shown is not None and shown["cluster_id"] == first
    assert shown["near_duplicates"] == [
        {"id": first, "received_at": date(2025, 3, 10), "area": "thôn Gio Mỹ, xã Vĩnh Giang"}]
    lone = get_petition(store.engine, max(ids.values()))
    assert lone is not None and lone["cluster_id"] == max(ids.values())
    assert lone["near_duplicates"] == []
    # An official's answer quoting the letter is neither clustered nor counted.
    answer = max(more.values())
    assert get_petition(store.engine, answer)["cluster_id"] is None  # type: ignore[index]
    with store.engine.connect() as conn:
        matched = conn.execute(sa.select(near_duplicate_clusters.c.matched_id).where(
            near_duplicate_clusters.c.petition_id == copy)).scalar_one()
        buckets = conn.execute(sa.select(sa.func.count()).select_from(near_duplicate_bands)
                               .where(near_duplicate_bands.c.petition_id == copy)).scalar_one()
        heo = conn.execute(sa.select(term_days.c.day, term_days.c.petitions)
                           .where(term_days.c.term == "trại heo")
                           .order_by(term_days.c.day)).all()
    assert matched == first and buckets < 32
    assert [tuple(r) for r in heo] == [(date(2025, 3, 10), 1), (date(2025, 3, 12), 1)]
    history = StoredEmergingHistory(store.engine)
    assert history.first_day() == date(2025, 3, 10)
    assert history.petitions_between(date(2025, 3, 10), date(2025, 3, 11)) == 2
    assert history.cluster_members_between([first], date(2025, 3, 1), date(2025, 3, 31)) == {
        first: 2}
    assert history.term_petitions_between(["trại heo", "hưng phát", "không có"],
                                          date(2025, 3, 11), date(2025, 3, 31)) == {
        "trại heo": 1, "hưng phát": 1}


letters = st.lists(
    st.tuples(st.sampled_from(range(len(TEMPLATES))), st.sampled_from(WORDS),
              st.sampled_from(ENDINGS), st.integers(1, 28)),
    min_size=2, max_size=24, unique=True,
)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(letters=letters, cuts=st.lists(st.integers(1, 23), max_size=6))
def test_clusters_do_not_depend_on_the_batch_split(
    store: PetitionStore, letters: list[tuple[int, str, str, int]], cuts: list[int]
) -> None:
    rows = [petition_row(TEMPLATES[t].format(w=w, v=v) + f" Ngày {d} tháng 3.",
                         day=date(2025, 3, d), sender=f"Người {i}")
            for i, (t, w, v, d) in enumerate(letters)]
    _reset(store.engine)
    store.write_batch(rows, [], [])
    whole = _partition(store)
    with store.engine.connect() as conn:
        terms = set(conn.execute(sa.select(term_days.c.term, term_days.c.day,
                                           term_days.c.petitions)))
    _reset(store.engine)
    bounds = sorted({0, len(rows), *(c for c in cuts if c < len(rows))})
    for start, end in zip(bounds, bounds[1:], strict=False):
        store.write_batch(rows[start:end], [], [])
    assert _partition(store) == whole
    with store.engine.connect() as conn:
        assert set(conn.execute(sa.select(term_days.c.term, term_days.c.day,
                                          term_days.c.petitions))) == terms
    # Letters of one template with small edits end in one cluster, never with another template.
    for group in whole:
        assert len({next(i for i, t in enumerate(TEMPLATES) if t[:20] == text[:20])
                    for text in group}) == 1


def test_rebuild_gives_what_ingest_gave(store: PetitionStore) -> None:
    from pipeline.store.clusters import rebuild_index

    rows = [petition_row(TEMPLATES[i % 3].format(w=WORDS[i % 7], v=ENDINGS[i % 4]),
                         day=date(2025, 3, 1 + i % 20), sender=f"Người {i}") for i in range(30)]
    store.write_batch(rows, [], [])
    whole = _partition(store)
    with store.engine.connect() as conn:
        terms = set(conn.execute(sa.select(term_days)))
    assert rebuild_index(store.engine, batch_size=7) == 30
    assert _partition(store) == whole and len(whole) == 3
    with store.engine.connect() as conn:
        assert set(conn.execute(sa.select(term_days))) == terms


def test_sqlite_upgrade_keeps_buckets_and_term_counts_in_key_order(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from pipeline.store import create_db_engine
    from pipeline.store.database import MIGRATIONS_DIR

    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))

    def tables() -> dict[str, tuple[bool, list[tuple[object, ...]]]]:
        with engine.connect() as conn:
            return {name: (
                "WITHOUT ROWID" in conn.exec_driver_sql(
                    f"SELECT sql FROM sqlite_master WHERE name = '{name}'").scalar_one(),
                sorted(tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {name}")))
                for name in ("near_duplicate_bands", "term_days")}

    def upgrade(target: str, *, down: bool = False) -> None:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(config, target)

    upgrade("0006")
    store = PetitionStore(engine)
    store.write_batch([petition_row(TEMPLATES[0].format(w="ông Ba", v="sớm")),
                       petition_row(TEMPLATES[1].format(w="bà Tư", v="ngay"),
                                    day=date(2025, 3, 12))], [], [])
    before = tables()
    assert [kept for kept, _ in before.values()] == [False, False]
    assert all(rows for _, rows in before.values())
    upgrade("0007")
    after = tables()
    assert {name: rows for name, (_, rows) in after.items()} == {
        name: rows for name, (_, rows) in before.items()}
    assert [kept for kept, _ in after.values()] == [True, True]
    upgrade("0006", down=True)
    assert tables() == before
    engine.dispose()
