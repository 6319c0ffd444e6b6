"""Progress bars of the command line: the file being read, how many of how many, time left.

The total of an ingest is estimated before reading, cheaply, per file: lines of a text file
(CSV, TSV, JSONL, TXT), rows of a workbook's sheets as the XLSX file records them; a DOCX file
has no cheap count, so its records join the total as they are read. A total is only an estimate:
it grows when more records come than were counted, and is set to the final count at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
)
from rich.text import Text

LINE_FILES = {".csv", ".tsv", ".jsonl", ".ndjson", ".txt"}
HEADER_FILES = {".csv", ".tsv"}
READABLE = LINE_FILES | {".xlsx", ".docx"}
_CHUNK = 1 << 20


def _count_lines(path: Path) -> int:
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def _count_sheet_rows(path: Path) -> int | None:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True)
    except Exception:  # noqa: BLE001 - a broken workbook is the reader's to report
        return None
    try:
        # Title and header lines sit above the rows; one line per sheet is a fair guess.
        return sum(max((sheet.max_row or 0) - 1, 0) for sheet in workbook.worksheets)
    finally:
        workbook.close()


def estimate_records(path: Path) -> int | None:
    """Return about how many records `path` holds, or None when it cannot be told cheaply."""
    suffix = path.suffix.lower()
    try:
        if suffix in LINE_FILES:
            return max(_count_lines(path) - (suffix in HEADER_FILES), 0)
        if suffix == ".xlsx":
            return _count_sheet_rows(path)
    except OSError:
        return None
    return None


def files_of(paths: Sequence[Path]) -> list[Path]:
    """Return the files an ingest of `paths` reads (folders walked, hidden names left out)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file()
                            and p.suffix.lower() in READABLE
                            and not any(part.startswith((".", "~$"))
                                        for part in p.relative_to(path).parts))
        elif path.is_file():
            found.append(path)
    return found


class TimeLeftColumn(ProgressColumn):
    """"còn 0:01:20" once the total and a first count are known, "đã chạy 0:00:12" before."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if not task.total or not task.completed:
            return Text(f"đã chạy {timedelta(seconds=int(elapsed))}", style="dim")
        # From the average pace so far: steady over a file whose chunks arrive in bursts.
        left = elapsed * max(task.total - task.completed, 0) / task.completed
        return Text(f"còn {timedelta(seconds=round(left))}", style="cyan")


def ingest_bar(console: Console, *, disable: bool) -> Progress:
    """Return the bar of an ingest: file name, records read of the estimated total, time left."""
    return Progress(
        TextColumn("[bold]Đang đọc[/] {task.fields[file]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("bản ghi"), TimeLeftColumn(),
        console=console, disable=disable, transient=True,
    )


def step_bar(console: Console, *, disable: bool) -> Progress:
    """Return a bar of named steps (the report): step, done of total, time left."""
    return Progress(
        TextColumn("[bold]{task.description}[/]"), BarColumn(), MofNCompleteColumn(),
        TimeLeftColumn(), console=console, disable=disable, transient=True,
    )


class IngestTracker:
    """Feeds an ingest bar: which file is being read, and the records stored so far."""

    def __init__(self, bar: Progress, paths: Sequence[Path]):
        self.bar = bar
        self.estimates = {str(p): estimate_records(p) for p in files_of(paths)}
        self.files = len(self.estimates)
        self.read_per_file: dict[str, int] = {}
        self.done = 0
        known = sum(n or 0 for n in self.estimates.values())
        self.task = bar.add_task("ingest", total=known or None, file="")

    def _total(self) -> int:
        estimated = sum(max(n or 0, self.read_per_file.get(name, 0))
                        for name, n in self.estimates.items())
        others = sum(n for name, n in self.read_per_file.items() if name not in self.estimates)
        return max(estimated + others, self.done)

    def watch(self, items: Iterable[Any]) -> Iterator[Any]:
        """Yield `items` unchanged, noting the file each one comes from."""
        current = None
        for item in items:
            name = str(getattr(item, "source_file", "") or "")
            self.read_per_file[name] = self.read_per_file.get(name, 0) + 1
            if name != current:
                current = name
                position = list(self.estimates).index(name) + 1 if name in self.estimates else 0
                label = Path(name).name + (f" (tệp {position}/{self.files})"
                                           if position and self.files > 1 else "")
                self.bar.update(self.task, file=label)
            yield item

    def advance(self, count: int) -> None:
        """Note `count` more records handled (the ingest's progress hook)."""
        self.done += count
        self.bar.update(self.task, completed=self.done, total=self._total() or None)

    def finish(self) -> None:
        """Set the total to what was read."""
        self.bar.update(self.task, completed=self.done, total=self.done)
