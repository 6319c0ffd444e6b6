"""The `tamtu` command: each error becomes one clear Vietnamese line and an exit code."""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from api.cli_progress import IngestTracker, ingest_bar, step_bar
from api.cli_text import VietnameseTyper
from pipeline.config import Settings, get_settings
from pipeline.records import SOURCE_TYPE_NAMES, SOURCE_TYPES

if TYPE_CHECKING:  # the store, readers and places load on first use: faster start-up
    from pipeline.run import IngestReport
    from pipeline.store import PetitionStore

app = VietnameseTyper(
    help="Tâm tư: đọc đơn thư, phản ánh của Nhân dân; thống kê theo lĩnh vực và địa bàn.",
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


DAILY_COMMANDS: tuple[tuple[str, str], ...] = (
    ("tamtu ingest so-theo-doi-don-thu.xlsx", "Nhập sổ theo dõi, tệp đơn (CSV, XLSX, DOCX, …)"),
    ("tamtu hotspots", "Điểm nóng theo dữ liệu mới nhất, kèm giải thích"),
    ("tamtu alerts run", "Xét điểm nóng, mở cảnh báo và gửi thông báo"),
    ("tamtu alerts list --status open", "Cảnh báo chưa ai nhận xử lý"),
    ("tamtu trends --area \"Phúc Lâm\" --from 01/06/2025", "Số đơn theo tháng của một địa bàn"),
    ("tamtu report --month 06/2025 --pdf", "Báo cáo tháng để trình ký (DOCX, PDF)"),
    ("tamtu serve", "Mở trang theo dõi trên trình duyệt"),
)


@app.callback()
def overview(ctx: typer.Context) -> None:
    """Tâm tư: đọc đơn thư, phản ánh của Nhân dân; thống kê theo lĩnh vực và địa bàn."""
    if ctx.invoked_subcommand is not None:
        return
    view = Table.grid(padding=(0, 3))
    view.add_column(style="bold cyan", no_wrap=True)
    view.add_column()
    for command, purpose in DAILY_COMMANDS:
        view.add_row(command, purpose)
    console.print("[bold]Tâm tư[/] — đơn thư, phản ánh, kiến nghị của Nhân dân.\n"
                  "Việc hằng ngày:", highlight=False)
    console.print(view)
    console.print("Ngày viết dd/mm/yyyy (ví dụ 05/06/2025), tháng mm/yyyy (06/2025).\n"
                  "Mọi lệnh: tamtu --help · hướng dẫn một lệnh: tamtu report --help",
                  highlight=False)


class UserError(Exception):
    """A problem the user can fix; printed as one line without a traceback."""


def fail(message: str, code: int = 1) -> None:
    """Print one line to stderr and exit with the code."""
    err_console.print(f"[bold red]Lỗi:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def open_store(settings: Settings, *, for_writing: bool = False) -> PetitionStore:
    """Return a store on the configured database, migrated to the newest schema.

    A read-only database serves reads; `for_writing` refuses it with one clear line.
    """
    from pipeline.store import PetitionStore, StoreError, create_db_engine, migrate
    from pipeline.store.database import READ_ONLY_MESSAGE, is_read_only

    engine = create_db_engine(settings.database_url)
    migrate(engine)
    if for_writing and is_read_only(engine):
        raise StoreError(READ_ONLY_MESSAGE)
    return PetitionStore(engine)


def settings_and_store() -> tuple[Settings, PetitionStore]:
    """Return the settings and a migrated store, or exit with one clear line."""
    from pipeline.store import StoreError

    settings = get_settings()
    try:
        return settings, open_store(settings)
    except StoreError as error:
        fail(str(error))
    raise AssertionError("unreachable")


STATUS_NAMES = {"open": "mới", "acknowledged": "đã nắm", "resolved": "đã giải quyết",
                "closed": "tự kết thúc"}
SEVERITY_NAMES = {"high": "cao", "medium": "trung bình", "low": "thấp"}


def audit_cli(store: PetitionStore, action: str, record_ids: list[int] | None = None,
              user: str | None = None) -> None:
    """Append a command-line action to the audit log (who ran it, on which machine)."""
    import getpass
    import socket

    from pipeline.store import SecurityStore

    SecurityStore(store.engine).append_audit({
        "user_name": user or f"{getpass.getuser()} (dòng lệnh)", "role": "cli",
        "method": "CLI", "endpoint": action, "status": 0, "record_ids": record_ids or [],
        "client": socket.gethostname(),
    })


def load_default_classifier(settings: Settings, model: Path | None = None):  # type: ignore[no-untyped-def]
    """Return the topic classifier, or None when no model artefact exists yet."""
    try:
        from pipeline.text.compact import load_runtime_classifier
    except ImportError:
        return None
    path = model or settings.model_path
    if not path.exists():
        if model is not None:
            raise UserError(f"không tìm thấy tệp mô hình '{path}'")
        return None
    return load_runtime_classifier(path)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Tệp hoặc thư mục cần đọc")],
    source_type: Annotated[
        str | None,
        typer.Option("--source-type", help=f"Loại mặc định: {', '.join(SOURCE_TYPES)}"),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="Gán cột cho trường, ví dụ --map \"Ý kiến cử tri=text\""),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In kết quả dạng JSON")] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="Số tiến trình xử lý song song (mặc định: mọi lõi CPU; 1: không tách)",
    )] = None,
    dask: Annotated[str | None, typer.Option(
        "--dask", help="Xử lý trên cụm Dask, ví dụ tcp://10.0.0.5:8786 (hoặc TAMTU_DASK_ADDRESS)",
    )] = None,
) -> None:
    """Đọc tệp (CSV, XLSX, JSONL, DOCX, TXT hoặc thư mục) và lưu vào cơ sở dữ liệu."""
    from concurrent.futures.process import BrokenProcessPool

    from pipeline.executors import ChunkExecutor, InProcess, ProcessPool, default_workers
    from pipeline.intake.readers import Ingestor, MappingError, ReadLimits, parse_mapping
    from pipeline.process import ResourceError, Resources, resource_spec, worker_resources
    from pipeline.run import IngestRun
    from pipeline.store import StoreError
    from pipeline.text.places import GazetteerError

    settings = get_settings()
    if source_type is not None and source_type not in SOURCE_TYPES:
        fail(f"loại '{source_type}' không có; chọn một trong: {', '.join(SOURCE_TYPES)}", 2)
    try:
        column_map = parse_mapping(mapping or [])
    except MappingError as error:
        fail(str(error), 2)
    missing = [str(p) for p in paths if not p.exists()]
    if missing and len(missing) == len(paths):
        fail(f"không tìm thấy: {', '.join(missing)}", 2)
    processes = workers if workers is not None else settings.ingest_workers or default_workers()
    if processes < 1:
        fail(f"--workers phải từ 1 trở lên, nhận được {processes}", 2)
    address = dask or settings.dask_address
    spec = resource_spec(settings.model_path, settings.gazetteer_dir)
    try:
        store = open_store(settings, for_writing=True)
        # Loaded here once (not for Dask: its workers load their own): worker processes forked
        # from this one share it, and a bad file is one clear line before any work starts.
        resources = Resources() if address else worker_resources(spec)
    except (StoreError, ResourceError, GazetteerError) as error:
        fail(str(error))
    with contextlib.ExitStack() as stack:
        executor: ChunkExecutor = InProcess(resources)
        if address:
            from pipeline.cluster import DaskCluster, DaskClusterError

            try:
                executor = stack.enter_context(
                    DaskCluster(address, spec, timeout=settings.dask_connect_timeout))
            except DaskClusterError as error:
                fail(str(error))
        elif processes > 1:
            executor = ProcessPool(spec, processes)
        runner = IngestRun(
            store, batch_size=settings.batch_size, runs_dir=settings.runs_dir, executor=executor,
        )
        ingestor = Ingestor(source_type=source_type, mapping=column_map,
                            limits=ReadLimits.from_settings(settings))
        show_progress = not as_json and sys.stderr.isatty()
        with ingest_bar(err_console, disable=not show_progress) as bar:
            tracker = IngestTracker(bar, paths)
            skipped: list[Any] = []
            try:
                report = runner.ingest_items(
                    tracker.watch(ingestor.read_paths(paths, skipped)),
                    label=[str(p) for p in paths], progress=tracker.advance, skipped=skipped,
                )
                tracker.finish()
            except BrokenProcessPool:
                fail("một tiến trình xử lý dừng đột ngột (có thể do thiếu bộ nhớ); chạy lại với "
                     "--workers 1 — các bản ghi đã lưu không bị nhập hai lần")
    alert_run = _alerts_after_ingest(settings, store, report) if report.stored else None
    if as_json:
        payload = report.as_dict()
        if alert_run is not None:
            payload["alerts"] = {"as_of": alert_run.as_of.isoformat(),
                                 "hotspots": alert_run.hotspots,
                                 "changes": len(alert_run.changes)}
        console.print_json(json.dumps(payload, ensure_ascii=False))
    else:
        print_report(report, spec.model_path is not None)
        if alert_run is not None:
            print_alert_run(alert_run)
    if report.read == 0 or report.read == report.quarantined:
        fail("không đọc được bản ghi nào từ các tệp đã cho"
             + (f"; xem lý do trong {report.quarantine_csv}" if report.quarantine_csv else ""))


def _alerts_after_ingest(settings: Settings, store: PetitionStore, report: IngestReport) -> Any:
    # Stored petitions are safe whatever happens here: a failing alert step only warns.
    from datetime import date

    from pipeline.monitor.engine import run_alerts

    try:
        return run_alerts(settings, store, days=[date.fromisoformat(d) for d in report.days])
    except Exception as error:  # noqa: BLE001 - reported, never fatal to the ingest
        # The kind only: a database error repeats its statement's parameters.
        err_console.print("[yellow]Cảnh báo:[/] chưa xét được điểm nóng sau khi nhập "
                          f"({type(error).__name__}); chạy lại: tamtu alerts run",
                          highlight=False)
        return None


def print_report(report: IngestReport, classified: bool) -> None:
    """Print the run's accounting and counts per source type, topic and area."""
    summary = Table(title="Kết quả đọc tệp", show_header=False)
    summary.add_row("Đã đọc", str(report.read))
    summary.add_row("Lưu mới", str(report.stored))
    summary.add_row("  trong đó trùng gần đúng", str(report.near_duplicates))
    summary.add_row(
        "Trùng lặp (đã gắn với bản đầu)",
        f"{report.duplicates}" + (
            f" (trong đó {report.already_ingested} đã nhập trước đây)"
            if report.already_ingested else ""
        ),
    )
    summary.add_row("Cách ly (lỗi)", str(report.quarantined))
    console.print(summary)
    _print_counts("Theo loại đơn", {SOURCE_TYPE_NAMES.get(k, k): v
                                     for k, v in report.by_source_type.items()})
    if classified:
        from pipeline.taxonomy import topic_names

        names = topic_names()
        _print_counts("Theo lĩnh vực", {names.get(k, k): v for k, v in report.by_topic.items()})
    else:
        console.print("Chưa có mô hình phân loại: chưa thống kê theo lĩnh vực.")
    areas = dict(list(report.by_area.items())[:15])
    if len(report.by_area) > 15:
        areas["(các địa bàn khác)"] = sum(list(report.by_area.values())[15:])
    _print_counts("Theo địa bàn (15 nơi nhiều nhất)", areas)
    if report.extra_columns:
        _print_counts("Cột khác được giữ lại (số dòng có giá trị)", report.extra_columns)
    for skipped in report.skipped_files:
        console.print(f"Bỏ qua {skipped['path']}: {skipped['reason']}", highlight=False,
                      markup=False, soft_wrap=True)
    if report.quarantine_csv:
        console.print(f"Các dòng bị cách ly và lý do: {report.quarantine_csv}")
    console.print(
        f"Kiểm đếm: {report.read} đã đọc = {report.stored} lưu mới (trong đó "
        f"{report.near_duplicates} trùng gần đúng) + {report.duplicates} trùng lặp"
        f" + {report.quarantined} cách ly", highlight=False, soft_wrap=True,
    )


def _print_counts(title: str, counts: dict[str, int]) -> None:
    from pipeline.text.signals import UNKNOWN_AREA

    if not counts:
        return
    table = Table(title=title)
    table.add_column("Nhóm")
    table.add_column("Số bản ghi", justify="right")
    for key, value in counts.items():
        table.add_row(key or UNKNOWN_AREA, str(value))
    console.print(table)


def main() -> None:
    """Run the CLI; unexpected errors become one line instead of a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("Đã dừng theo yêu cầu.")
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the edge: one line, no personal data
        from api.cli_errors import report_unexpected

        err_console.print(f"[bold red]Lỗi:[/] {report_unexpected(error)}", highlight=False,
                          soft_wrap=True)
        sys.exit(1)


# ---------------------------------------------------------------------- models
def _progress_line(message: str) -> None:
    err_console.print(f"[dim]… {message}[/]", highlight=False)


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", help="Nơi ghi tệp mô hình")],
    data: Annotated[Path | None, typer.Option(
        "--data", help="Tệp CSV/JSONL có nhãn (mặc định với --with-corrections: bộ văn bản "
        "của hệ thống)")] = None,
    text_col: Annotated[str, typer.Option("--text-col", help="Tên cột nội dung")] = "text",
    label_col: Annotated[str, typer.Option("--label-col", help="Tên cột nhãn")] = "topics",
    sep: Annotated[str, typer.Option("--sep", help="Ký tự ngăn cách nhiều nhãn")] = "|",
    with_corrections: Annotated[bool, typer.Option(
        "--with-corrections", help="Thêm các đơn cán bộ đã kiểm tra, sửa nhãn trong cơ sở dữ "
        "liệu")] = False,
    weight: Annotated[int, typer.Option(
        "--weight", min=1, max=20, help="Mỗi đơn đã kiểm tra được tính bằng chừng này văn bản")]
    = 3,
    as_json: Annotated[bool, typer.Option("--json", help="In kết quả dạng JSON")] = False,
) -> None:
    """Huấn luyện mô hình phân loại trên tệp có nhãn của đơn vị (một hoặc nhiều nhãn)."""
    import time

    from models.data import LabelledDataError, read_corpus, read_labelled
    from models.train import describe, train_classifier
    from pipeline.text.classify import save_classifier

    if data is None and not with_corrections:
        fail("thiếu --data (tệp có nhãn) hoặc --with-corrections", 2)
    settings = get_settings()
    try:
        if data is not None:
            labelled = read_labelled(data, text_col=text_col, label_col=label_col, sep=sep)
            labelled.signals = None  # an office's own file rarely carries our signal labels
        else:
            labelled = read_corpus(settings.data_dir / "corpus")
    except LabelledDataError as error:
        fail(str(error), 2)
    reviewed = None
    if with_corrections:
        from models.corrections import read_reviewed
        from models.corrections import with_corrections as merge
        from pipeline.store import StoreError

        try:
            reviewed = read_reviewed(open_store(settings).engine)
        except StoreError as error:
            fail(str(error), 2)
        if not reviewed.ids:
            fail("chưa có đơn nào được kiểm tra trong cơ sở dữ liệu (xem hàng đợi kiểm tra "
                 "trên trang theo dõi)", 1)
        labelled = merge(labelled, reviewed.data, weight=weight)
    started = time.perf_counter()
    if not as_json:
        extra = f", trong đó {len(reviewed.ids)} đơn đã kiểm tra" if reviewed else ""
        _progress_line(f"huấn luyện trên {len(labelled.texts)} văn bản{extra}")
    try:
        model = train_classifier(labelled, with_signals=labelled.signals is not None)
    except ValueError as error:
        fail(f"không huấn luyện được: {error}", 2)
    seconds = time.perf_counter() - started
    digest = save_classifier(model, out)
    summary = {
        **describe(labelled), "skipped_rows": labelled.skipped,
        "multi_label": model.topic_model.multilabel_, "labels": model.topic_model.labels_,
        "train_seconds": round(seconds, 2), "model": str(out), "sha256": digest,
        "selection": getattr(model.topic_model, "selection_", None),
    }
    if reviewed is not None:
        from models.corrections import record_corrections

        summary["corrections"] = len(reviewed.ids)
        summary["corrections_file"] = str(record_corrections(out, reviewed, weight))
    if as_json:
        console.print_json(json.dumps(summary, ensure_ascii=False))
        return
    kind = "nhiều nhãn" if summary["multi_label"] else "một nhãn"
    console.print(
        f"Đã huấn luyện mô hình {kind} trên {summary['texts']} văn bản "
        f"({len(summary['labels'])} nhãn) trong {seconds:.1f} giây; bỏ qua "
        f"{labelled.skipped} dòng thiếu nội dung, nhãn hoặc trùng đơn đã kiểm tra.\n"
        f"Đã ghi: {out}", highlight=False,
    )
    if summary["selection"]:
        chosen = summary["selection"]
        console.print(
            f"Tham số chọn bằng kiểm định chéo trên chính tệp huấn luyện: C = {chosen['c']}, "
            f"{'có' if chosen['chars'] else 'không'} dùng n-gram ký tự.", highlight=False,
        )
    if reviewed is not None:
        console.print(f"Các đơn đã kiểm tra dùng để huấn luyện ghi trong: "
                      f"{summary['corrections_file']}", highlight=False)


@app.command()
def evaluate(
    data: Annotated[Path | None, typer.Option("--data", help="Tệp CSV/JSONL có nhãn")] = None,
    model: Annotated[Path | None, typer.Option("--model", help="Tệp mô hình")] = None,
    text_col: Annotated[str, typer.Option("--text-col")] = "text",
    label_col: Annotated[str, typer.Option("--label-col")] = "topics",
    sep: Annotated[str, typer.Option("--sep")] = "|",
    on_reviewed: Annotated[bool, typer.Option(
        "--on-reviewed", help="Đánh giá trên các đơn cán bộ đã kiểm tra (mặc định: trong tháng "
        "này)")] = False,
    start: Annotated[str | None, typer.Option("--from", metavar="NGÀY",
                                               help=f"Kiểm tra từ ngày, {DAY_HELP}")] = None,
    end: Annotated[str | None, typer.Option("--to", metavar="NGÀY",
                                             help="Kiểm tra đến ngày")] = None,
    include_trained: Annotated[bool, typer.Option(
        "--include-trained", help="Với --on-reviewed: tính cả các đơn mô hình đã học (xem mô "
        "hình đã học được các đơn sửa chưa)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="In kết quả dạng JSON")] = False,
) -> None:
    """Đánh giá mô hình trên tệp có nhãn: độ chính xác, F1, từng nhãn, bảng nhầm lẫn."""
    from models.data import LabelledDataError, read_labelled
    from models.evaluate import label_metrics
    from pipeline.text.features import ModelLoadError

    settings = get_settings()
    if (data is None) == (not on_reviewed):
        fail("chọn một trong hai: --data (tệp có nhãn) hoặc --on-reviewed", 2)
    try:
        classifier = load_default_classifier(settings, model)
        if on_reviewed:
            _evaluate_reviewed(settings, classifier, _parse_day(start, "--from"),
                               _parse_day(end, "--to"), as_json,
                               None if include_trained else model or settings.model_path)
            return
        assert data is not None
        labelled = read_labelled(data, text_col=text_col, label_col=label_col, sep=sep)
    except (LabelledDataError, ModelLoadError, UserError) as error:
        fail(str(error), 2)
    if classifier is None:
        fail("chưa có mô hình mặc định; dùng --model hoặc chạy lệnh train", 2)
    predicted = []
    for start in range(0, len(labelled.texts), 1000):
        chunk = labelled.texts[start:start + 1000]
        predicted += [p.topics for p in classifier.predict_batch(chunk)]
    metrics = label_metrics(labelled.labels, predicted, bootstrap=200)
    if as_json:
        console.print_json(json.dumps(metrics, ensure_ascii=False))
        return
    print_metrics(metrics)


def _evaluate_reviewed(settings: Settings, classifier: Any, first: date | None,
                       last: date | None, as_json: bool, model: Path | None) -> None:
    """Print the model's agreement with the petitions reviewed between two days, leaving out
    those the `model` file was trained on (listed beside it by train --with-corrections);
    None keeps them all."""
    from models.corrections import agreement, read_reviewed, trained_on, without
    from pipeline.store import StoreError

    if classifier is None:
        fail("chưa có mô hình mặc định; dùng --model hoặc chạy lệnh train", 2)
    if first is None and last is None:
        first = _today().replace(day=1)
    try:
        reviewed = read_reviewed(open_store(settings).engine, start=first, end=last)
    except StoreError as error:
        fail(str(error), 2)
    seen = trained_on(model) if model is not None else set()
    reviewed, left_out = without(reviewed, seen)
    if not reviewed.ids:
        fail("không có đơn nào được kiểm tra trong khoảng này"
             + (f" (từ {first:%d/%m/%Y})" if first else "")
             + (f"; {left_out} đơn đã dùng để huấn luyện mô hình này nên không tính"
                if left_out else ""), 1)
    result = agreement(classifier, reviewed) | {"left_out_trained_on": left_out}
    if as_json:
        console.print_json(json.dumps(result, ensure_ascii=False))
        return
    table = Table(title=f"Mô hình so với {result['n']} đơn đã kiểm tra "
                  f"({result['corrected']} đơn có sửa nhãn)", show_header=False)
    table.add_row("Khớp cả bộ lĩnh vực (mô hình này)", f"{result['agreement']:.1%}")
    table.add_row("Khớp cả bộ lĩnh vực (nhãn lúc nhập đơn)", f"{result['agreement_at_ingest']:.1%}")
    table.add_row("F1 macro / micro", f"{result['macro_f1']:.3f} / {result['micro_f1']:.3f}")
    if left_out:
        table.add_row("Không tính (mô hình đã học các đơn này)", str(left_out))
    console.print(table)
    if result["wrong_ids"]:
        shown = ", ".join(str(i) for i in result["wrong_ids"][:20])
        console.print(f"Đơn mô hình vẫn gán khác cán bộ: {shown}"
                      + (" …" if len(result["wrong_ids"]) > 20 else ""), highlight=False)


def print_metrics(metrics: dict) -> None:  # type: ignore[type-arg]
    """Print overall scores, per-label scores and the confusion table."""
    overall = Table(title=f"Kết quả trên {metrics['n']} văn bản", show_header=False)
    ci = metrics.get("ci95", {})
    for key, label in (("accuracy", "Độ chính xác (accuracy)"), ("micro_f1", "F1 micro"),
                       ("macro_f1", "F1 macro"), ("weighted_f1", "F1 có trọng số")):
        interval = f"  (KTC 95%: {ci[key][0]:.3f}–{ci[key][1]:.3f})" if key in ci else ""
        overall.add_row(label, f"{metrics[key]:.3f}{interval}")
    if "labels_per_text" in metrics:
        per_text = metrics["labels_per_text"]
        overall.add_row("Số nhãn mỗi văn bản (dự đoán / đúng)",
                        f"{per_text['predicted']:.2f} / {per_text['gold']:.2f}"
                        f"  (tỉ lệ {per_text['ratio']:.2f})")
    console.print(overall)
    per = Table(title="Theo từng nhãn")
    for column in ("Nhãn", "Precision", "Recall", "F1", "Số mẫu"):
        per.add_column(column, justify="left" if column == "Nhãn" else "right")
    for label, row in metrics["per_label"].items():
        per.add_row(label, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
                    str(row["support"]))
    console.print(per)
    confusion = metrics["confusion"]
    table = Table(title="Bảng nhầm lẫn (hàng: nhãn đúng, cột: dự đoán)")
    if "matrix" in confusion:
        table.add_column("")
        for label in confusion["labels"]:
            table.add_column(label, justify="right")
        for label, row in zip(confusion["labels"], confusion["matrix"], strict=True):
            table.add_row(label, *(str(v) for v in row))
    else:
        table.title = "Đúng / sai theo nhãn"
        for column in ("Nhãn", "Đúng (TP)", "Thừa (FP)", "Sót (FN)"):
            table.add_column(column)
        for label, row in confusion.items():
            table.add_row(label, str(row["tp"]), str(row["fp"]), str(row["fn"]))
    console.print(table)


@app.command()
def classify(
    text: Annotated[str | None, typer.Argument(help="Văn bản cần phân loại")] = None,
    input_path: Annotated[Path | None, typer.Option("--input", help="Tệp JSONL/CSV có cột text")]
    = None,
    output: Annotated[Path | None, typer.Option("--output", help="Tệp JSONL kết quả")] = None,
    model: Annotated[Path | None, typer.Option("--model", help="Tệp mô hình")] = None,
) -> None:
    """Phân loại một văn bản, hoặc cả tệp (--input) thành JSONL có topics, scores, signals."""
    from pipeline.intake.normalize import normalize_text
    from pipeline.text.features import ModelLoadError
    from pipeline.text.stream import StreamError, classify_stream

    settings = get_settings()
    if (text is None) == (input_path is None):
        fail("cần đúng một trong hai: một văn bản, hoặc --input TỆP", 2)
    try:
        classifier = load_default_classifier(settings, model)
    except (ModelLoadError, UserError) as error:
        fail(str(error), 2)
    if classifier is None:
        fail("chưa có mô hình mặc định; dùng --model hoặc chạy lệnh train", 2)
    if text is not None:
        cleaned = normalize_text(text).text
        if not cleaned:
            fail("văn bản trống: không có gì để phân loại", 2)
        (prediction,) = classifier.predict_batch([cleaned])
        from pipeline.taxonomy import topic_names

        names = topic_names()
        console.print("Lĩnh vực: " + ", ".join(f"{names.get(t, t)} ({t})"
                                                for t in prediction.topics), highlight=False)
        if prediction.signals:
            console.print("Dấu hiệu: " + ", ".join(f"{names.get(s, s)} ({s})"
                                                    for s in prediction.signals), highlight=False)
        table = Table(title="Xác suất theo lĩnh vực")
        table.add_column("Mã")
        table.add_column("Lĩnh vực")
        table.add_column("Xác suất", justify="right")
        for code, score in sorted(prediction.scores.items(), key=lambda kv: -kv[1]):
            table.add_row(code, names.get(code, code), f"{score:.3f}")
        console.print(table)
        console.print(f"Độ tin cậy của kết luận: {prediction.confidence:.0%}", highlight=False)
        return
    assert input_path is not None
    show = sys.stderr.isatty()
    with Progress(TextColumn("[bold]Đang phân loại[/]"), MofNCompleteColumn(), TextColumn("dòng"),
                  TimeElapsedColumn(), console=err_console, disable=not show,
                  transient=True) as bar:
        task = bar.add_task("classify", total=None)
        try:
            counts = classify_stream(input_path, output, classifier,
                                     progress=lambda n: bar.advance(task, n))
        except StreamError as error:
            fail(str(error), 2)
    err_console.print(
        f"Đã phân loại {counts.written} dòng"
        + (f"; {counts.skipped} dòng không có nội dung được giữ nguyên kèm lỗi" if counts.skipped
           else "")
        + (f"; kết quả: {output}" if output else ""), highlight=False,
    )


# ---------------------------------------------------------------------- server
@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Địa chỉ lắng nghe")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Cổng")] = 8000,
    workers: Annotated[int, typer.Option(
        "--workers", help="Số tiến trình máy chủ (mỗi tiến trình một lõi CPU; giới hạn số yêu cầu "
        "tính chung cho mọi tiến trình)")] = 1,
) -> None:
    """Chạy máy chủ API (và trang theo dõi) tại http://HOST:PORT."""
    import uvicorn

    from api.app import create_app
    from pipeline.store import StoreError
    from pipeline.store.database import READ_ONLY_MESSAGE, is_read_only

    settings = get_settings()
    try:
        store = open_store(settings)
    except StoreError as error:
        fail(str(error))
    if is_read_only(store.engine):
        err_console.print(f"Lưu ý: {READ_ONLY_MESSAGE}; nhật ký truy cập được in ra đây.",
                          highlight=False)
    console.print(
        f"Tâm tư đang chạy tại http://{host}:{port} — tài liệu API: "
        f"http://{host}:{port}/api/v1/docs (Ctrl+C để dừng)", highlight=False,
    )
    if workers < 1:
        fail(f"--workers phải từ 1 trở lên, nhận được {workers}", 2)
    # No access log: query strings may hold search words from petitions.
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning",
                    access_log=False)
        return
    # Several processes: each builds its app from the same settings (the environment it
    # inherits); the monitoring cache follows the database's data version in each of them.
    uvicorn.run("api.app:create_app", factory=True, workers=workers, host=host, port=port,
                log_level="warning", access_log=False)


# ---------------------------------------------------------------------- monitoring
DAY_HELP = "dd/mm/yyyy, ví dụ 05/06/2025 (hoặc 2025-06-05)"


def _parse_day(value: str | None, option: str = "ngày") -> date | None:
    """Return the day written dd/mm/yyyy (or ISO) in an option, or exit with one line."""
    from pipeline.intake.dates import DateError, parse_day

    if value is None:
        return None
    try:
        return parse_day(value)
    except DateError as error:
        fail(f"{option}: {error}", 2)
    return None


def _today() -> date:
    from datetime import UTC, datetime

    return datetime.now(UTC).date()


def _refuse_future(day: date | None, option: str) -> None:
    if day is not None and day > _today():
        fail(f"{option}: ngày {day:%d/%m/%Y} chưa đến (hôm nay là {_today():%d/%m/%Y})")


def _data_span(store: PetitionStore) -> tuple[date, date] | None:
    """Return the first and last day of the stored petitions, or None when there are none."""
    import sqlalchemy as sa

    from pipeline.store import petitions

    received = petitions.c.received_at
    with store.engine.connect() as conn:
        first, last = conn.execute(sa.select(sa.func.min(received), sa.func.max(received))).one()
    return (first, last) if first is not None else None


def _span_text(span: tuple[date, date] | None) -> str:
    if span is None:
        return "cơ sở dữ liệu chưa có đơn nào (nhập bằng: tamtu ingest TỆP)"
    return f"dữ liệu hiện có từ {span[0]:%d/%m/%Y} đến {span[1]:%d/%m/%Y}"


def _refuse_unknown_area(store: PetitionStore, area: str | None) -> None:
    """Exit with one line when no stored petition lies in `area` (part of a name)."""
    from pipeline.intake.normalize import fold_diacritics

    if area is None:
        return
    wanted = fold_diacritics(area.strip())
    if not wanted:
        fail("--area: tên địa bàn trống", 2)
    if not any(wanted in fold_diacritics(name or "") for name in store.counts_by("area")):
        fail(f"không có đơn nào ở địa bàn '{area.strip()}' (xem tên các thôn, xã: "
             "tamtu trends --level village)")


def _refuse_outside_data(store: PetitionStore, start: date | None, end: date | None) -> None:
    """Exit with one line when the days asked lie wholly outside the stored data."""
    span = _data_span(store)
    if span is None:
        fail(_span_text(span))
    assert span is not None
    if (start is not None and start > span[1]) or (end is not None and end < span[0]):
        asked = " ".join(filter(None, (start and f"từ {start:%d/%m/%Y}",
                                       end and f"đến {end:%d/%m/%Y}")))
        fail(f"không có đơn nào {asked}; {_span_text(span)}")


def warn(message: str) -> None:
    """Print one warning line to stderr (an empty answer that is a real answer, and why)."""
    err_console.print(f"[yellow]Lưu ý:[/] {message}", highlight=False, soft_wrap=True)


@app.command()
def trends(
    period: Annotated[str, typer.Option("--period", help="day, week hoặc month")] = "month",
    level: Annotated[str, typer.Option("--level", help="village, commune, province, all")]
    = "all",
    topic: Annotated[str | None, typer.Option("--topic", help="Mã lĩnh vực, ví dụ land")] = None,
    area: Annotated[str | None, typer.Option("--area", help="Một phần tên địa bàn")] = None,
    start: Annotated[str | None, typer.Option("--from", metavar="NGÀY",
                                               help=f"Từ ngày, {DAY_HELP}")] = None,
    end: Annotated[str | None, typer.Option("--to", metavar="NGÀY", help="Đến ngày")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Ghi ra tệp CSV")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In kết quả dạng JSON")] = False,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, help="Chỉ lấy chừng này dòng (mặc định: tất cả khi ghi tệp, "
        "40 dòng cuối khi in ra màn hình)")] = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Bỏ qua chừng này dòng đầu")]
    = 0,
) -> None:
    """Số đơn theo kỳ (ngày, tuần, tháng) × địa bàn × lĩnh vực, so với kỳ trước và cùng kỳ."""
    from pipeline.monitor.engine import trends_table
    from pipeline.monitor.trends import TrendsError

    first, last = _parse_day(start, "--from"), _parse_day(end, "--to")
    if first and last and first > last:
        fail(f"--from {first:%d/%m/%Y} sau --to {last:%d/%m/%Y}", 2)
    _refuse_future(first, "--from")
    settings, store = settings_and_store()
    _refuse_unknown_area(store, area)
    _refuse_outside_data(store, first, last)
    try:
        table = trends_table(store, period=period, level=level,  # type: ignore[arg-type]
                             topic=topic, area=area, start=first, end=last)
    except TrendsError as error:
        fail(str(error), 2)
    total = len(table)
    if total == 0:
        asked = ", ".join(filter(None, (topic and f"lĩnh vực {topic}", area and f"địa bàn {area}",
                                        first and f"từ {first:%d/%m/%Y}",
                                        last and f"đến {last:%d/%m/%Y}")))
        warn(f"không có đơn nào khớp ({asked or 'mọi đơn'}); {_span_text(_data_span(store))}")
        if output is None and not as_json:
            return
    if limit is not None or offset:
        table = table.iloc[offset:offset + limit if limit is not None else None]
        err_console.print(f"Dòng {offset + 1}–{offset + len(table)} trong {total} dòng",
                          highlight=False)
    if output is not None:
        table.to_csv(output, index=False, encoding="utf-8-sig")
        console.print(f"Đã ghi {len(table)} dòng vào {output}", highlight=False)
        return
    if as_json:
        console.print_json(table.to_json(orient="records", date_format="iso", force_ascii=False))
        return
    _print_trends(table.tail(40))


def _print_trends(table: Any) -> None:
    from pipeline.taxonomy import topic_names

    names = topic_names()
    view = Table(title="Xu hướng (40 dòng cuối; dùng --output để lấy đủ)")
    for column in ("Kỳ", "Địa bàn", "Lĩnh vực", "Số đơn", "Kỳ trước", "So kỳ trước",
                   "Cùng kỳ năm trước"):
        view.add_column(column)
    for row in table.itertuples():
        change = row.change_vs_previous
        view.add_row(
            str(row.period_start), str(row.area), names.get(row.topic, row.topic), str(row.count),
            "" if _missing(row.previous_count) else str(row.previous_count),
            # change_vs_previous is a ratio (count / previous count): show the change in percent.
            "" if _missing(change) else f"{change - 1:+.0%}".replace(".", ","),
            "" if _missing(row.last_year_count) else str(row.last_year_count),
        )
    console.print(view)


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


@app.command()
def hotspots(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="NGÀY",
        help=f"Ngày xét, {DAY_HELP}; mặc định: ngày của dữ liệu mới nhất")] = None,
    area: Annotated[str | None, typer.Option("--area", help="Chỉ một địa bàn (một phần tên)")]
    = None,
    emerging: Annotated[bool, typer.Option("--emerging", help="Cả vấn đề mới nổi")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="In danh sách JSON")] = False,
) -> None:
    """Điểm nóng (và vấn đề mới nổi) tại một ngày, kèm giải thích và số hiệu đơn."""
    from pipeline.intake.normalize import fold_diacritics
    from pipeline.monitor.engine import WINDOW_DAYS, default_as_of, emerging_on, hotspots_on
    from pipeline.monitor.engine import as_json as item_json

    asked = _parse_day(as_of, "--as-of")
    _refuse_future(asked, "--as-of")
    settings, store = settings_and_store()
    _refuse_unknown_area(store, area)
    span = _data_span(store)
    day = asked or default_as_of(store)
    if span is None or day < span[0] or day - span[1] >= timedelta(days=WINDOW_DAYS):
        fail(f"không có đơn nào trong {WINDOW_DAYS} ngày đến hết ngày {day:%d/%m/%Y}; "
             f"{_span_text(span)}")
    wanted = fold_diacritics(area.strip()) if area else ""
    spots = [s for s in hotspots_on(store, day) if wanted in fold_diacritics(s.area)]
    issues = ([i for i in emerging_on(store, day) if wanted in fold_diacritics(i.area)]
              if emerging else [])
    if as_json:
        payload: Any = [item_json(s) for s in spots]
        if emerging:
            payload = {"as_of": day.isoformat(), "hotspots": payload,
                       "emerging": [item_json(i) for i in issues]}
        console.print_json(json.dumps(payload, ensure_ascii=False))
        return
    where = f" ở {area.strip()}" if area else ""
    if not spots:
        warn(f"không có điểm nóng nào{where} tính đến ngày {day:%d/%m/%Y}: số đơn {WINDOW_DAYS} "
             "ngày qua không nơi nào vượt mức bình thường của nơi đó")
    severity_names = {"high": "CAO", "medium": "TRUNG BÌNH", "low": "THẤP"}
    console.print(f"Điểm nóng{where} tính đến ngày {day:%d/%m/%Y}: {len(spots)}",
                  highlight=False)
    for spot in spots:
        console.print(f"• [{severity_names.get(spot.severity, spot.severity)}] {spot.explanation}"
                      f" (đơn số: {', '.join(map(str, spot.petition_ids[:12]))}"
                      f"{'…' if len(spot.petition_ids) > 12 else ''})", highlight=False)
    if emerging:
        console.print(f"Vấn đề mới nổi{where}: {len(issues)}", highlight=False)
        for issue in issues:
            console.print(f"• {issue.explanation}", highlight=False)


def _month_count(store: PetitionStore, year: int, month: int, area: str | None) -> int:
    import calendar

    from pipeline.store import PetitionFilter, list_petitions

    last = calendar.monthrange(year, month)[1]
    _, total = list_petitions(store.engine, PetitionFilter(
        area=area, start=date(year, month, 1), end=date(year, month, last)), limit=1)
    return total


@app.command()
def report(
    month: Annotated[str, typer.Option(
        "--month", metavar="THÁNG", help="Tháng báo cáo mm/yyyy, ví dụ 06/2025 (hoặc 2025-06)")],
    out: Annotated[Path, typer.Option("--out", help="Tệp DOCX cần ghi")] = Path("bao-cao.docx"),
    area: Annotated[str | None, typer.Option("--area", help="Chỉ một địa bàn (một phần tên)")]
    = None,
    unit: Annotated[str | None, typer.Option(
        "--unit", help="Cơ quan báo cáo, ví dụ \"Ủy ban nhân dân xã Vĩnh Giang\"")] = None,
    signed: Annotated[str | None, typer.Option(
        "--date", metavar="NGÀY", help=f"Ngày ban hành ghi trên báo cáo, {DAY_HELP}; "
        "mặc định để trống cho người ký")] = None,
    template: Annotated[Path | None, typer.Option(
        "--template", help="Mẫu DOCX của đơn vị (thẻ docxtpl, nội dung ở {{p noi_dung }})")]
    = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Xuất thêm PDF nếu có LibreOffice")] = False,
) -> None:
    """Lập báo cáo tháng (DOCX) theo thể thức Nghị định 30/2020: số đơn, giải quyết, điểm nóng,
    cảnh báo, đánh giá, nhiệm vụ tháng tới, phụ lục theo thôn."""
    from api.report import ReportError, build_monthly_report, convert_to_pdf
    from pipeline.intake.dates import DateError, parse_month

    try:
        year, number = parse_month(month)
    except DateError as error:
        fail(f"--month: {error}", 2)
    report_date = _parse_day(signed, "--date")
    settings, store = settings_and_store()
    with step_bar(err_console, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("Đọc dữ liệu", total=None)

        def tell(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        try:
            path = build_monthly_report(store, f"{year}-{number:02d}", area=area, out=out,
                                        unit_name=unit, report_date=report_date,
                                        template=template, progress=tell)
            if pdf:
                tell("Chuyển sang PDF (LibreOffice)", 0, 1)
            pdf_path = convert_to_pdf(path) if pdf else None
        except ReportError as error:
            fail(str(error))
    if _month_count(store, year, number, area) == 0:
        warn(f"tháng {number:02d}/{year} không có đơn nào"
             + (f" ở {area.strip()}" if area else "") + ": báo cáo ghi 0 đơn")
    console.print(f"Đã ghi báo cáo: {path}", highlight=False)
    if pdf:
        console.print(f"Đã ghi PDF: {pdf_path}" if pdf_path else
                      "Không tìm thấy LibreOffice (soffice): chưa xuất được PDF.", highlight=False)


@app.command("rebuild-clusters")
def rebuild_clusters() -> None:
    """Xếp lại mọi đơn đã lưu vào nhóm đơn gần giống nhau và đếm lại cụm từ theo ngày."""
    from pipeline.store.clusters import rebuild_index

    _, store = settings_and_store()
    with Progress(TextColumn("[bold]Đang xếp nhóm[/]"), MofNCompleteColumn(), TextColumn("đơn"),
                  TimeElapsedColumn(), console=err_console, transient=True,
                  disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("rebuild", total=store.count_petitions(include_responses=True))
        done = rebuild_index(store.engine, progress=lambda n: bar.advance(task, n))
    console.print(f"Đã xếp lại {done} đơn vào các nhóm đơn gần giống nhau.", highlight=False)


@app.command("rebuild-aggregates")
def rebuild_aggregates() -> None:
    """Tính lại số liệu tổng hợp (số đơn theo ngày, địa bàn, lĩnh vực) từ các đơn đã lưu."""
    from pipeline.store.aggregates import rebuild

    _, store = settings_and_store()
    with Progress(TextColumn("[bold]Đang tính lại số liệu[/]"), BarColumn(),
                  MofNCompleteColumn(), TextColumn("đơn"), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("rebuild", total=None)
        done = rebuild(store.engine,
                       progress=lambda n, total: bar.update(task, completed=n, total=total))
    console.print(f"Đã tính lại số liệu tổng hợp từ {done} đơn.", highlight=False)


alerts_app = VietnameseTyper(help="Cảnh báo điểm nóng: quy tắc, xét, gửi, xác nhận.",
                         no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("load-rules")
def alerts_load_rules(
    path: Annotated[Path | None, typer.Argument(help="Tệp YAML quy tắc")] = None,
) -> None:
    """Nạp (thay) quy tắc cảnh báo từ tệp YAML vào cơ sở dữ liệu."""
    from pipeline.monitor.alerts import RuleError, install_rules, load_rules_file
    from pipeline.store import AlertStore, StoreError
    from pipeline.taxonomy import default_taxonomy

    settings = get_settings()
    source = path or settings.alert_rules_path
    try:
        store = open_store(settings)
        rules = load_rules_file(source, known_topics=default_taxonomy().codes)
    except (StoreError, RuleError, OSError) as error:
        fail(str(error), 2)
    report = install_rules(AlertStore(store.engine), rules)
    console.print(f"Đã thêm {report.created}, cập nhật {report.updated} quy tắc từ {source}",
                  highlight=False)
    # Hot spots open now are evaluated against the new rules; sending waits for `alerts run`.
    from pipeline.monitor.engine import run_alerts

    result = run_alerts(settings, store, send=False)
    queued = sum(change.deliveries for change in result.changes)
    console.print(f"Xét lại {result.hotspots} điểm nóng đang có: {queued} thông báo chờ gửi "
                  "(gửi khi chạy tamtu alerts run).", highlight=False)


@alerts_app.command("run")
def alerts_run(
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="NGÀY",
                                               help=f"Ngày xét, {DAY_HELP}")] = None,
    every: Annotated[int, typer.Option("--every", help="Lặp lại sau N phút (0: chạy một lần)")]
    = 0,
) -> None:
    """Xét điểm nóng, mở/cập nhật cảnh báo và gửi những thông báo đến hạn."""
    import time

    from pipeline.monitor.engine import run_alerts

    day = _parse_day(as_of, "--as-of")
    _refuse_future(day, "--as-of")
    settings, store = settings_and_store()
    while True:
        result = run_alerts(settings, store, as_of=day)
        print_alert_run(result)
        if every <= 0:
            return
        time.sleep(every * 60)


def print_alert_run(result: Any) -> None:
    """Print what an alert evaluation did."""
    kinds = {"new": "mới", "update": "cập nhật", "notify": "báo thêm cho quy tắc mới",
             "closed": "đã đóng"}
    counts: dict[str, int] = {}
    for change in result.changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    summary = ", ".join(f"{n} {kinds.get(k, k)}" for k, n in counts.items()) or "không thay đổi"
    delivery = result.delivery
    console.print(
        f"Cảnh báo ngày {result.as_of:%d/%m/%Y}: {result.hotspots} điểm nóng; {summary}. "
        f"Gửi: {delivery.sent} đã gửi, {delivery.deferred} hoãn (giờ yên tĩnh), "
        f"{delivery.retrying} sẽ thử lại, {delivery.failed} thất bại.", highlight=False,
    )


@alerts_app.command("list")
def alerts_list(
    status: Annotated[str | None, typer.Option("--status", help="open, acknowledged, resolved, "
                                                "closed")] = None,
) -> None:
    """Liệt kê cảnh báo, mới nhất trước."""
    from pipeline.store import AlertStore

    settings, store = settings_and_store()
    rows = AlertStore(store.engine).list_alerts(status=status, limit=200)
    view = Table(title=f"Cảnh báo ({len(rows)})")
    for column in ("Số", "Trạng thái", "Mức", "Giải thích"):
        view.add_column(column)
    for row in rows:
        view.add_row(str(row["id"]), STATUS_NAMES.get(row["status"], row["status"]),
                     SEVERITY_NAMES.get(row["severity"], row["severity"]), row["explanation"])
    console.print(view)


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[int, typer.Argument(help="Số cảnh báo")],
    user: Annotated[str, typer.Option("--user", help="Người xác nhận")],
    note: Annotated[str | None, typer.Option("--note", help="Ghi chú")] = None,
    resolve: Annotated[bool, typer.Option("--resolve", help="Đánh dấu đã giải quyết")] = False,
) -> None:
    """Xác nhận đã nắm (hoặc đã giải quyết) một cảnh báo."""
    from pipeline.monitor.alerts import AlertNotFound, AlertStateError, ack_alert, resolve_alert
    from pipeline.store import AlertStore, SecurityStore, StoreError

    settings = get_settings()
    try:
        store = open_store(settings)
        account = SecurityStore(store.engine).get_user(user)
        if account is None or account["disabled"]:
            fail(f"không có người dùng '{user}' đang hoạt động (xem: tamtu users list)", 2)
        action = resolve_alert if resolve else ack_alert
        row = action(AlertStore(store.engine), alert_id, user, note)
    except (StoreError, AlertNotFound, AlertStateError) as error:
        fail(str(error), 2)
    audit_cli(store, f"alerts {'resolve' if resolve else 'ack'}", [alert_id], user)
    console.print(f"Cảnh báo số {row['id']}: {STATUS_NAMES.get(row['status'], row['status'])}",
                  highlight=False)


# ---------------------------------------------------------------------- accounts
users_app = VietnameseTyper(help="Người dùng và vai trò (viewer, analyst, officer, admin).",
                        no_args_is_help=True)
tokens_app = VietnameseTyper(help="Mã truy cập (token) của người dùng.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")


def _split_areas(areas: list[str] | None) -> list[str]:
    return [a.strip() for item in areas or [] for a in item.split(";") if a.strip()]


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Tên đăng nhập")],
    role: Annotated[str, typer.Option("--role", help="viewer, analyst, officer hoặc admin")],
    areas: Annotated[list[str] | None, typer.Option(
        "--areas", help="Địa bàn được xem (lặp lại hoặc ngăn bằng ';'); bỏ trống: mọi nơi")] = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="Không báo lỗi nếu đã có")] = False,
) -> None:
    """Thêm người dùng với một vai trò và (tùy chọn) phạm vi địa bàn."""
    from api.security import ROLE_NAMES, SecurityError, create_user
    from pipeline.store import SecurityStore, StoreError
    from pipeline.text.places import GazetteerError

    settings = get_settings()
    try:
        store = open_store(settings)
        if exist_ok and SecurityStore(store.engine).get_user(name) is not None:
            console.print(f"Đã có người dùng '{name}'.", highlight=False)
            return
        create_user(store.engine, name, role, _split_areas(areas),
                    gazetteer=_scope_gazetteer(settings))
    except (StoreError, SecurityError, GazetteerError) as error:
        fail(str(error), 2)
    audit_cli(store, f"users add {name} --role {role}")
    scope = ", ".join(_split_areas(areas)) or "mọi địa bàn"
    console.print(f"Đã thêm '{name}' ({ROLE_NAMES[role]}), phạm vi: {scope}. Tạo mã truy cập: "
                  f"tamtu tokens create --user \"{name}\"", highlight=False)


def _scope_gazetteer(settings: Settings) -> Any:
    # Scopes are resolved with the gazetteer petitions are placed with, as the server does.
    from pipeline.text.places import load_gazetteer

    directory = settings.gazetteer_dir
    return load_gazetteer(directory) if directory.exists() else None


@users_app.command("list")
def users_list() -> None:
    """Liệt kê người dùng."""
    from api.security import ROLE_NAMES
    from pipeline.store import SecurityStore

    settings, store = settings_and_store()
    view = Table(title="Người dùng")
    for column in ("Tên", "Vai trò", "Địa bàn", "Trạng thái"):
        view.add_column(column)
    for user in SecurityStore(store.engine).list_users():
        view.add_row(user["name"], f"{user['role']} ({ROLE_NAMES[user['role']]})",
                     ", ".join(user["areas"]) or "mọi địa bàn",
                     "khóa" if user["disabled"] else "hoạt động")
    console.print(view)


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="Tên đăng nhập")],
    enable: Annotated[bool, typer.Option("--enable", help="Mở khóa lại")] = False,
) -> None:
    """Khóa (hoặc mở khóa) người dùng: mọi mã truy cập của họ ngừng có hiệu lực."""
    from pipeline.store import SecurityStore

    settings, store = settings_and_store()
    if not SecurityStore(store.engine).set_user_disabled(name, not enable):
        fail(f"không có người dùng '{name}'", 2)
    audit_cli(store, f"users {'enable' if enable else 'disable'} {name}")
    console.print(f"Đã {'mở khóa' if enable else 'khóa'} '{name}'", highlight=False)


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="Tên người dùng")],
    areas: Annotated[list[str] | None, typer.Option(
        "--areas", help="Giới hạn mã này trong các địa bàn (mặc định: như người dùng)")] = None,
) -> None:
    """Tạo mã truy cập; mã chỉ in ra một lần, ở dòng cuối cùng."""
    from api.security import SecurityError, create_token
    from pipeline.store import StoreError
    from pipeline.text.places import GazetteerError

    settings = get_settings()
    try:
        store = open_store(settings)
        token = create_token(store.engine, user, _split_areas(areas) or None,
                             gazetteer=_scope_gazetteer(settings))
    except (StoreError, SecurityError, GazetteerError) as error:
        fail(str(error), 2)
    audit_cli(store, f"tokens create --user {user}")
    err_console.print(f"Mã truy cập mới của '{user}' (chỉ hiện một lần, hãy lưu lại):",
                      highlight=False)
    print(token)


@tokens_app.command("list")
def tokens_list(
    user: Annotated[str | None, typer.Option("--user", help="Chỉ của một người")] = None,
) -> None:
    """Liệt kê mã truy cập (chỉ phần đầu của mã)."""
    from pipeline.store import SecurityStore

    settings, store = settings_and_store()
    security = SecurityStore(store.engine)
    user_row = security.get_user(user) if user else None
    if user and user_row is None:
        fail(f"không có người dùng '{user}'", 2)
    view = Table(title="Mã truy cập")
    for column in ("Số", "Người dùng", "Đầu mã", "Địa bàn", "Tạo lúc", "Trạng thái"):
        view.add_column(column)
    for row in security.list_tokens(user_row["id"] if user_row else None):
        scope = ", ".join(row["areas"]) if row["areas"] else "như người dùng"
        view.add_row(str(row["id"]), row["name"], row["prefix"] + "…", scope,
                     f"{row['created_at']:%d/%m/%Y %H:%M}",
                     "đã thu hồi" if row["revoked_at"] else "còn hiệu lực")
    console.print(view)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="Số của mã (xem tokens list)")]
                  ) -> None:
    """Thu hồi một mã truy cập (các phiên đăng nhập bằng mã đó cũng kết thúc)."""
    from pipeline.store import SecurityStore

    settings, store = settings_and_store()
    if not SecurityStore(store.engine).revoke_token(token_id):
        fail(f"không có mã số {token_id} còn hiệu lực", 2)
    audit_cli(store, f"tokens revoke {token_id}")
    console.print(f"Đã thu hồi mã số {token_id}", highlight=False)


@app.command()
def audit(
    user: Annotated[str | None, typer.Option("--user", help="Chỉ của một người")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Số dòng")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="In dạng JSON")] = False,
) -> None:
    """Nhật ký truy cập: ai, lúc nào, chức năng nào, những đơn nào, từ đâu."""
    from pipeline.store import SecurityStore

    settings, store = settings_and_store()
    rows = SecurityStore(store.engine).audit_entries(user_name=user, limit=limit)
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False, default=str))
        return
    view = Table(title="Nhật ký truy cập (mới nhất trước)")
    for column in ("Lúc", "Người", "Vai trò", "Yêu cầu", "Mã KQ", "Đơn", "Từ"):
        view.add_column(column)
    for row in rows:
        ids = row["record_ids"]
        view.add_row(f"{row['at']:%d/%m/%Y %H:%M:%S}", row["user_name"] or "", row["role"] or "",
                     f"{row['method']} {row['endpoint']}", str(row["status"]),
                     ", ".join(map(str, ids[:8])) + ("…" if len(ids) > 8 else ""),
                     row["client"] or "")
    console.print(view)
