"""The dashboard page, its assets and the monthly report endpoint, without a browser."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import plotly as plotly_package
import pytest
from fastapi.testclient import TestClient

from api.security import create_token, create_user
from pipeline.config import Settings
from pipeline.records import Record
from pipeline.run import IngestRun
from pipeline.store import PetitionStore
from tests.web.test_dashboard import dashboard_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'routes.db'}",
                        runs_dir=tmp_path / "runs")
    with TestClient(dashboard_app(settings)) as test_client:
        engine = test_client.app.state.engine  # type: ignore[attr-defined]
        create_user(engine, "xem", "viewer")
        # Two June petitions, so that the June report has a month to describe.
        IngestRun(PetitionStore(engine)).ingest_items([
            Record(text="Đường vào thôn bị sạt lở, đề nghị sửa.", received_at=date(2025, 6, 3),
                   area="thôn Gio Mỹ, xã Vĩnh Giang", source_file="thang6.csv", source_row=1),
            Record(text="Rác thải đổ bừa bãi ven sông.", received_at=date(2025, 6, 10),
                   area="thôn Tân Mỹ, xã Vĩnh Giang", source_file="thang6.csv", source_row=2),
        ])
        create_user(engine, "xa", "viewer", areas=["Vĩnh Giang", "Gio Mỹ"])
        test_client.headers["Authorization"] = f"Bearer {create_token(engine, 'xem')}"
        test_client.scoped = {"Authorization": f"Bearer {create_token(engine, 'xa')}"}
        yield test_client


def test_index_links_versioned_local_assets(client: TestClient) -> None:
    page = client.get("/", headers={"Authorization": ""})
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert "{{version}}" not in page.text
    assert "http://" not in page.text and "https://" not in page.text
    scripts = [part.split('"')[0] for part in page.text.split('<script src="')[1:]]
    assert [s.split("?")[0] for s in scripts] == [
        "/static/vendor/plotly.min.js", "/static/app.js", "/static/cases.js"]
    for script in scripts:
        asset = client.get(script)
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith("text/javascript")
        assert "immutable" in asset.headers["cache-control"]
    app = client.get(scripts[1]).text
    assert "fetch(" in app and "https://" not in app
    # Plotly comes from the installed wheel, byte for byte, and travels compressed.
    plotly = client.get(scripts[0], headers={"Accept-Encoding": "gzip"})
    assert plotly.headers["content-encoding"] == "gzip"
    wheel_file = Path(plotly_package.__file__).parent / "package_data" / "plotly.min.js"
    assert plotly.content == wheel_file.read_bytes()
    assert client.get("/static/vendor/plotly.min.js?v=old").headers["cache-control"] == "no-cache"


def test_api_docs_are_swagger_ui_from_the_installed_package(client: TestClient) -> None:
    page = client.get("/api/v1/docs", headers={"Authorization": ""})
    assert page.status_code == 200 and '<html lang="vi">' in page.text
    assert "http://" not in page.text and "https://" not in page.text
    for name, kind in (("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css")):
        link = page.text.split(f"/static/vendor/{name}")[1].split('"')[0]
        asset = client.get(f"/static/vendor/{name}{link}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        assert "immutable" in asset.headers["cache-control"]


@pytest.mark.parametrize("name", ["index.html", "..%2Fapp.py", "khong-co.js", "%2Fetc%2Fpasswd",
                                  "vendor/redoc.standalone.js", "vendor/..%2F__init__.py"])
def test_only_known_assets_are_served(client: TestClient, name: str) -> None:
    assert client.get(f"/static/{name}").status_code == 404


@pytest.mark.parametrize(("month", "status"),
                         [("2025-06", 200), ("2025-13", 422), ("06-2025", 422)])
def test_monthly_report(client: TestClient, month: str, status: int) -> None:
    response = client.get("/api/v1/reports/monthly", params={"month": month})
    assert response.status_code == status
    if status == 200:
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert "bao-cao-thang-2025-06.docx" in response.headers["content-disposition"]
        with zipfile.ZipFile(io.BytesIO(response.content)) as docx:
            assert "06/2025" in docx.read("word/document.xml").decode("utf-8")
    else:
        assert response.json()["error"]


def test_monthly_report_needs_sign_in(client: TestClient) -> None:
    response = client.get("/api/v1/reports/monthly", params={"month": "2025-06"},
                          headers={"Authorization": ""})
    assert response.status_code == 401


@pytest.mark.parametrize(("area", "status", "message"), [
    (None, 403, "Hãy chọn một địa bàn"),
    ("Cam Lộ", 403, "Không được xem địa bàn"),
    ("Gio Mỹ", 200, None),
])
def test_monthly_report_respects_area_scope(client: TestClient, area: str | None, status: int,
                                            message: str | None) -> None:
    params = {"month": "2025-06", **({"area": area} if area else {})}
    response = client.get("/api/v1/reports/monthly", params=params,
                          headers=client.scoped)  # type: ignore[attr-defined]
    assert response.status_code == status
    if message:
        assert message in response.json()["error"]


def _lines(response: object) -> list[dict[str, object]]:
    import json

    return [json.loads(line) for line in response.text.splitlines()]  # type: ignore[attr-defined]


def test_monthly_report_with_progress_tells_each_day_then_sends_the_docx(
        client: TestClient) -> None:
    import base64

    response = client.get("/api/v1/reports/monthly/progress", params={"month": "2025-06"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    *steps, last = _lines(response)
    days = [s for s in steps if str(s["step"]).startswith("Xét điểm nóng")]
    assert [d["done"] for d in days] == list(range(1, 31))
    assert {d["total"] for d in days} == {30}
    assert steps[-1] == {"step": "Ghi báo cáo", "done": 1, "total": 1}
    assert last["filename"] == "bao-cao-thang-2025-06.docx"
    docx = base64.b64decode(str(last["docx"]))
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        assert "06/2025" in archive.read("word/document.xml").decode("utf-8")


def test_monthly_report_with_progress_says_why_it_failed(client: TestClient) -> None:
    response = client.get("/api/v1/reports/monthly/progress", params={"month": "2024-01"})
    assert response.status_code == 200
    *_, last = _lines(response)
    assert "không có dữ liệu" in str(last["error"]) and "docx" not in last
    scoped = client.get("/api/v1/reports/monthly/progress", params={"month": "2025-06"},
                        headers=client.scoped)  # type: ignore[attr-defined]
    assert scoped.status_code == 403
