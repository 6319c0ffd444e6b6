"""The exploration notebook runs top to bottom on the sample data and shows what it promises."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "trends.ipynb"


def _stream_text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def test_committed_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    """The notebook run on a copy in memory; the committed file must stay byte for byte."""
    before = hashlib.sha256(NOTEBOOK.read_bytes()).hexdigest()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    assert hashlib.sha256(NOTEBOOK.read_bytes()).hexdigest() == before
    return notebook


def test_notebook_runs_without_errors(executed: nbformat.NotebookNode) -> None:
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []


def test_notebook_ingests_and_shows_trends_table_and_chart(
        executed: nbformat.NotebookNode) -> None:
    text = "\n".join(_stream_text(c) for c in executed.cells if c.cell_type == "code")
    assert "Đã tạo " in text and "petitions-2025-03.csv" in text
    assert "cách ly 0" in text
    data = [o.get("data", {}) for c in executed.cells if c.cell_type == "code"
            for o in c.outputs]
    tables = [d["text/html"] for d in data if "text/html" in d]
    assert any("Môi trường" in html and "so tháng trước" in html for html in tables)
    images = [d["image/png"] for d in data if "image/png" in d]
    assert len(images) == 1 and len(images[0]) > 1000


def test_notebook_finds_the_injected_hot_spot_and_emerging_issue(
        executed: nbformat.NotebookNode) -> None:
    text = "\n".join(_stream_text(c) for c in executed.cells if c.cell_type == "code")
    hotspots = text[text.index("Điểm nóng tính đến ngày 14/03/2025"):
                    text.index("Vấn đề mới nổi tính đến ngày")]
    assert "Môi trường tại thôn Lai Phước" in hotspots
    assert "Số hiệu đơn:" in hotspots
    emerging = text[text.index("Vấn đề mới nổi tính đến ngày 14/03/2025"):]
    assert "Hưng Phát" in emerging
    assert "Đã xóa thư mục tạm" in text
