"""The same batch gives the same stored rows in process, in a process pool and on Dask."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pipeline.config import Settings
from pipeline.executors import ChunkExecutor, InProcess, ProcessPool, in_order
from pipeline.process import (
    RecordError,
    ResourceError,
    ResourceSpec,
    load_resources,
    process_records,
    resource_spec,
)
from pipeline.records import Record
from pipeline.run import IngestReport, IngestRun
from pipeline.store import PetitionStore, create_db_engine, metadata, migrate

HEADER = ("Ngày nhận", "Người gửi", "Địa chỉ", "Nội dung")
# Written for these tests: varied topics and places, duplicates, and rows that must be quarantined.
ROWS = [
    ("02/03/2025", "Hồ Văn Tám", "thôn Tân Mỹ",
     "Nước thải từ trại heo chảy thẳng ra mương, cá chết nổi trắng"),
    ("02/03/2025", "", "thôn Hà Lợi",
     "Cầu tràn qua suối bị lũ cuốn mất một nhịp, học sinh phải lội nước"),
    ("03/03/2025", "Lê Thị Nga", "", "Xin hỏi thủ tục cấp lại sổ đỏ bị mất thì nộp hồ sơ ở đâu"),
    ("03/03/2025", "", "thôn 3", "Đèn đường đoạn trước chợ tắt cả tháng nay, tối đi lại rất sợ"),
    ("04/03/2025", "Hồ Văn Tám", "thôn Tân Mỹ",
     "Nước thải từ trại heo chảy thẳng ra mương, cá chết nổi trắng"),
    ("04/03/2025", "", "thôn 2",
     "Nhiều hộ dân kéo đến trụ sở xã phản đối việc thu hồi đất làm bãi rác"),
    ("31/02/2025", "", "thôn 2", "Ngày không có thật trên lịch"),
    ("05/03/2025", "", "thôn 4", ""),
    ("05/03/2025", "Trần Văn Bảy", "xã Cửa Tùng",
     "Tiền hỗ trợ hộ nghèo năm nay chưa được chi trả đủ"),
    ("06/03/2025", "", "thôn Tân Mỹ",
     "Trường mầm non thiếu cô giáo, các cháu phải học ghép hai lớp"),
    ("06/03/2025", "", "thôn 5", "Trạm y tế xã không có thuốc hạ sốt cho trẻ em"),
    ("07/03/2025", "", "thôn 1", "Cát tặc hút cát ban đêm làm sạt lở bờ sông sát nhà dân"),
    ("07/03/2025", "", "thôn 1", "Cát tặc hút cát ban đêm làm sạt lở bờ sông sát nhà dân"),
    ("08/03/2025", "Phan Thị Mai", "thôn 6",
     "Hàng xóm lấn chiếm lối đi chung, hòa giải thôn chưa xong"),
    ("08/03/2025", "", "", "Đề nghị nâng cấp đường vào khu sản xuất để xe chở lúa vào được"),
]
COLUMNS_LEFT_OUT = {"created_at", "started_at", "finished_at", "report_dir"}
TABLES = ("ingest_runs", "petitions", "petition_topics", "petition_signals", "duplicates",
          "quarantine")


@pytest.fixture(scope="module")
def spec() -> ResourceSpec:
    """The shipped model and place list, as workers would load them."""
    settings = Settings()
    return resource_spec(settings.model_path, settings.gazetteer_dir)


@pytest.fixture(scope="module")
def petitions_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "thang3.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *ROWS])
    return path


def stored_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Return every ingest table's rows in id order, without the wall-clock columns."""
    engine = create_db_engine(url)
    dump: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name in TABLES:
            table = metadata.tables[name]
            order = [c for c in table.primary_key.columns]
            rows = conn.execute(sa.select(table).order_by(*order)).mappings()
            dump[name] = [{k: v for k, v in row.items() if k not in COLUMNS_LEFT_OUT}
                          for row in rows]
    engine.dispose()
    return dump


def ingest_twice(url: str, csv_path: Path, executor: ChunkExecutor, runs: Path) -> list[Any]:
    """Ingest the file twice (the second run must store nothing); return both accountings."""
    engine = create_db_engine(url)
    migrate(engine)
    reports: list[IngestReport] = []
    for _ in range(2):
        runner = IngestRun(PetitionStore(engine), batch_size=4, runs_dir=runs, executor=executor)
        reports.append(runner.ingest_paths([csv_path]))
    engine.dispose()
    return [(r.read, r.stored, r.duplicates, r.quarantined, r.already_ingested, r.by_topic,
             r.by_area) for r in reports]


@pytest.fixture(scope="module")
def local_run(spec: ResourceSpec, petitions_csv: Path,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], dict[str, Any]]:
    """The reference: every text processed in this process."""
    folder = tmp_path_factory.mktemp("local")
    url = f"sqlite:///{folder / 'local.db'}"
    reports = ingest_twice(url, petitions_csv, InProcess(load_resources(spec)), folder / "runs")
    return reports, stored_rows(url)


def test_the_reference_run_covers_duplicates_quarantine_and_topics(
    local_run: tuple[list[Any], dict[str, Any]],
) -> None:
    (first, second), rows = local_run
    assert first[:4] == (15, 11, 2, 2)
    assert second[:5] == (15, 0, 13, 2, 13)
    assert {r["topic"] for r in rows["petition_topics"]} >= {"environment", "infrastructure"}
    assert len(rows["quarantine"]) == 2


def test_two_worker_processes_store_exactly_the_local_rows(
    spec: ResourceSpec, petitions_csv: Path, tmp_path: Path,
    local_run: tuple[list[Any], dict[str, Any]],
) -> None:
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    reports = ingest_twice(url, petitions_csv, ProcessPool(spec, workers=2), tmp_path / "runs")
    assert reports == local_run[0]
    assert stored_rows(url) == local_run[1]


def test_one_worker_process_stores_exactly_the_local_rows(
    spec: ResourceSpec, petitions_csv: Path, tmp_path: Path,
    local_run: tuple[list[Any], dict[str, Any]],
) -> None:
    url = f"sqlite:///{tmp_path / 'pool1.db'}"
    reports = ingest_twice(url, petitions_csv, ProcessPool(spec, workers=1), tmp_path / "runs")
    assert reports == local_run[0]
    assert stored_rows(url) == local_run[1]


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    """A real 2-worker Dask cluster of processes on this machine."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      scheduler_port=0, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_a_dask_cluster_stores_exactly_the_local_rows(
    spec: ResourceSpec, petitions_csv: Path, tmp_path: Path, dask_address: str,
    local_run: tuple[list[Any], dict[str, Any]],
) -> None:
    from pipeline.cluster import DaskCluster

    url = f"sqlite:///{tmp_path / 'dask.db'}"
    with DaskCluster(dask_address, spec) as cluster:
        assert cluster.workers() == 2
        reports = ingest_twice(url, petitions_csv, cluster, tmp_path / "runs")
    assert reports == local_run[0]
    assert stored_rows(url) == local_run[1]


def test_dask_into_postgresql_stores_the_local_rows(
    spec: ResourceSpec, petitions_csv: Path, tmp_path: Path, dask_address: str,
    postgres_url: str, local_run: tuple[list[Any], dict[str, Any]],
) -> None:
    from pipeline.cluster import DaskCluster

    engine = create_db_engine(postgres_url)
    migrate(engine)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        # Fresh ids as in the reference's new SQLite file.
        for name in ("ingest_runs", "petitions", "duplicates", "quarantine"):
            conn.execute(sa.text(f"ALTER SEQUENCE {name}_id_seq RESTART WITH 1"))
    engine.dispose()
    with DaskCluster(dask_address, spec) as cluster:
        reports = ingest_twice(postgres_url, petitions_csv, cluster, tmp_path / "runs")
    assert reports == local_run[0]
    assert stored_rows(postgres_url) == local_run[1]


def test_an_unreachable_scheduler_is_one_clear_error(spec: ResourceSpec) -> None:
    from pipeline.cluster import DaskCluster, DaskClusterError

    with pytest.raises(DaskClusterError, match="không kết nối được bộ điều phối Dask"):
        with DaskCluster("tcp://127.0.0.1:9", spec, timeout=2):
            pass


def test_a_bad_record_becomes_an_error_in_its_place(spec: ResourceSpec) -> None:
    records = [Record(text="Đường làng ngập nước"), Record(text="\u200b \t"),
               Record(text="Xin cấp nước sạch")]
    outcomes = process_records(records, load_resources(ResourceSpec()))
    assert isinstance(outcomes[1], RecordError)
    assert "ký tự trống" in str(outcomes[1])
    assert [o["text"] for o in (outcomes[0], outcomes[2])] == ["Đường làng ngập nước",
                                                              "Xin cấp nước sạch"]


def test_a_worker_refuses_a_model_file_that_differs(tmp_path: Path, spec: ResourceSpec) -> None:
    assert spec.model_path is not None
    copy = tmp_path / "model.skops"
    copy.write_bytes(spec.model_path.read_bytes() + b"\0")
    with pytest.raises(ResourceError, match="khác với tệp của máy nhập dữ liệu"):
        load_resources(ResourceSpec(copy, None, spec.model_sha256))


class _Done:
    def __init__(self, value: int):
        self.value = value

    def result(self) -> int:
        return self.value


def test_results_come_back_in_input_order_within_the_window() -> None:
    submitted: list[int] = []

    def submit(item: int) -> _Done:
        submitted.append(item)
        return _Done(item * 10)

    results = in_order(submit, iter(range(7)), window=3)
    assert next(results) == 0
    assert submitted == [0, 1, 2]  # never more than the window ahead
    assert list(results) == [10, 20, 30, 40, 50, 60]
