"""The `tamtu` command: each error becomes one clear Vietnamese line and an exit code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.config import Settings, get_settings
from pipeline.extract import UNKNOWN_AREA
from pipeline.ingest import Ingestor, MappingError, parse_mapping
from pipeline.places import GazetteerError, load_gazetteer
from pipeline.records import SOURCE_TYPES
from pipeline.run import IngestReport, IngestRun
from pipeline.store import PetitionStore, StoreError, create_db_engine, migrate

app = typer.Typer(
    help="Tâm tư: đọc đơn thư, phản ánh của Nhân dân; thống kê theo lĩnh vực và địa bàn.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

SOURCE_TYPE_NAMES = {
    "petition": "Đơn kiến nghị",
    "complaint": "Đơn khiếu nại",
    "denunciation": "Đơn tố cáo",
    "feedback": "Phản ánh",
    "minutes": "Biên bản tiếp xúc",
    "social": "Mạng xã hội",
}


class UserError(Exception):
    """A problem the user can fix; printed as one line without a traceback."""


def fail(message: str, code: int = 1) -> None:
    """Print one line to stderr and exit with the code."""
    err_console.print(f"[bold red]Lỗi:[/] {message}", highlight=False)
    raise typer.Exit(code)


def open_store(settings: Settings) -> PetitionStore:
    """Return a store on the configured database, migrated to the newest schema."""
    engine = create_db_engine(settings.database_url)
    migrate(engine)
    return PetitionStore(engine)


def load_default_classifier(settings: Settings, model: Path | None = None):  # type: ignore[no-untyped-def]
    """Return the topic classifier, or None when no model artefact exists yet."""
    try:
        from pipeline.classify import load_classifier
    except ImportError:
        return None
    path = model or settings.model_path
    if not path.exists():
        if model is not None:
            raise UserError(f"không tìm thấy tệp mô hình '{path}'")
        return None
    return load_classifier(path)


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
) -> None:
    """Đọc tệp (CSV, XLSX, JSONL, DOCX, TXT hoặc thư mục) và lưu vào cơ sở dữ liệu."""
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
    try:
        store = open_store(settings)
        classifier = load_default_classifier(settings)
    except (StoreError, UserError) as error:
        fail(str(error))
    try:
        gazetteer = load_gazetteer(settings.gazetteer_dir) if settings.gazetteer_dir.exists() else None
    except GazetteerError as error:
        fail(str(error))
    runner = IngestRun(
        store, classifier=classifier, batch_size=settings.batch_size, runs_dir=settings.runs_dir,
        gazetteer=gazetteer,
    )
    ingestor = Ingestor(source_type=source_type, mapping=column_map)
    show_progress = not as_json and sys.stderr.isatty()
    with Progress(
        TextColumn("[bold]Đang đọc[/]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("bản ghi"), TimeElapsedColumn(),
        console=err_console, disable=not show_progress, transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=None)
        report = runner.ingest_paths(
            paths, ingestor=ingestor, progress=lambda n: bar.advance(task, n)
        )
    if as_json:
        console.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print_report(report, classifier is not None)
    if report.read == 0 or report.read == report.quarantined:
        fail("không đọc được bản ghi nào từ các tệp đã cho"
             + (f"; xem lý do trong {report.quarantine_csv}" if report.quarantine_csv else ""))


def print_report(report: IngestReport, classified: bool) -> None:
    """Print the run's accounting and counts per source type, topic and area."""
    summary = Table(title="Kết quả đọc tệp", show_header=False)
    summary.add_row("Đã đọc", str(report.read))
    summary.add_row("Lưu mới", str(report.stored))
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
    if report.quarantine_csv:
        console.print(f"Các dòng bị cách ly và lý do: {report.quarantine_csv}")
    console.print(
        f"Kiểm đếm: {report.read} đã đọc = {report.stored} lưu mới + {report.duplicates} trùng lặp"
        f" + {report.quarantined} cách ly", highlight=False,
    )


def _print_counts(title: str, counts: dict[str, int]) -> None:
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


# ---------------------------------------------------------------------- models
def _progress_line(message: str) -> None:
    err_console.print(f"[dim]… {message}[/]", highlight=False)


@app.command()
def train(
    data: Annotated[Path, typer.Option("--data", help="Tệp CSV/JSONL có nhãn")],
    out: Annotated[Path, typer.Option("--out", help="Nơi ghi tệp mô hình")],
    text_col: Annotated[str, typer.Option("--text-col", help="Tên cột nội dung")] = "text",
    label_col: Annotated[str, typer.Option("--label-col", help="Tên cột nhãn")] = "topics",
    sep: Annotated[str, typer.Option("--sep", help="Ký tự ngăn cách nhiều nhãn")] = "|",
    as_json: Annotated[bool, typer.Option("--json", help="In kết quả dạng JSON")] = False,
) -> None:
    """Huấn luyện mô hình phân loại trên tệp có nhãn của đơn vị (một hoặc nhiều nhãn)."""
    import time

    from models.data import LabelledDataError, read_labelled
    from models.train import describe, train_classifier
    from pipeline.classify import save_classifier

    try:
        labelled = read_labelled(data, text_col=text_col, label_col=label_col, sep=sep)
    except LabelledDataError as error:
        fail(str(error), 2)
    labelled.signals = None  # an office's own file rarely carries our signal labels
    started = time.perf_counter()
    if not as_json:
        _progress_line(f"huấn luyện trên {len(labelled.texts)} văn bản")
    try:
        model = train_classifier(labelled, with_signals=False)
    except ValueError as error:
        fail(f"không huấn luyện được: {error}", 2)
    seconds = time.perf_counter() - started
    digest = save_classifier(model, out)
    summary = {
        **describe(labelled), "skipped_rows": labelled.skipped,
        "multi_label": model.topic_model.multilabel_, "labels": model.topic_model.labels_,
        "train_seconds": round(seconds, 2), "model": str(out), "sha256": digest,
    }
    if as_json:
        console.print_json(json.dumps(summary, ensure_ascii=False))
        return
    kind = "nhiều nhãn" if summary["multi_label"] else "một nhãn"
    console.print(
        f"Đã huấn luyện mô hình {kind} trên {summary['texts']} văn bản "
        f"({len(summary['labels'])} nhãn) trong {seconds:.1f} giây; bỏ qua "
        f"{labelled.skipped} dòng thiếu nội dung hoặc nhãn.\nĐã ghi: {out}", highlight=False,
    )


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Tệp CSV/JSONL có nhãn")],
    model: Annotated[Path | None, typer.Option("--model", help="Tệp mô hình")] = None,
    text_col: Annotated[str, typer.Option("--text-col")] = "text",
    label_col: Annotated[str, typer.Option("--label-col")] = "topics",
    sep: Annotated[str, typer.Option("--sep")] = "|",
    as_json: Annotated[bool, typer.Option("--json", help="In kết quả dạng JSON")] = False,
) -> None:
    """Đánh giá mô hình trên tệp có nhãn: độ chính xác, F1, từng nhãn, bảng nhầm lẫn."""
    from models.data import LabelledDataError, read_labelled
    from models.evaluate import label_metrics
    from pipeline.classify import ModelLoadError

    settings = get_settings()
    try:
        labelled = read_labelled(data, text_col=text_col, label_col=label_col, sep=sep)
        classifier = load_default_classifier(settings, model)
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


def print_metrics(metrics: dict) -> None:  # type: ignore[type-arg]
    """Print overall scores, per-label scores and the confusion table."""
    overall = Table(title=f"Kết quả trên {metrics['n']} văn bản", show_header=False)
    ci = metrics.get("ci95", {})
    for key, label in (("accuracy", "Độ chính xác (accuracy)"), ("micro_f1", "F1 micro"),
                       ("macro_f1", "F1 macro"), ("weighted_f1", "F1 có trọng số")):
        interval = f"  (KTC 95%: {ci[key][0]:.3f}–{ci[key][1]:.3f})" if key in ci else ""
        overall.add_row(label, f"{metrics[key]:.3f}{interval}")
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
    from pipeline.classify import ModelLoadError
    from pipeline.normalize import normalize_text
    from pipeline.stream import StreamError, classify_stream

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
        (prediction,) = classifier.predict_batch([normalize_text(text).text])
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
) -> None:
    """Chạy máy chủ API (và trang theo dõi) tại http://HOST:PORT."""
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    try:
        open_store(settings)
    except StoreError as error:
        fail(str(error))
    console.print(
        f"Tâm tư đang chạy tại http://{host}:{port} — tài liệu API: "
        f"http://{host}:{port}/api/v1/docs (Ctrl+C để dừng)", highlight=False,
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
