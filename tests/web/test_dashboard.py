"""The dashboard in a real headless Chromium (Debian package) driven by Playwright.

The app runs under uvicorn on a free port over a temporary SQLite database holding two
generated months with an injected religion hot spot, ingested with the shipped classifier.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import socket
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI

from api.app import create_app
from api.routes.petitions import CSV_FIELDS
from api.security import create_token, create_user
from pipeline.config import Settings
from pipeline.intake.readers import Ingestor
from pipeline.monitor.engine import run_alerts
from pipeline.store import PetitionStore, create_db_engine, migrate

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / ".test-artifacts"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SPIKE_VILLAGE = "Phúc Lâm"


def load_generator() -> ModuleType:
    """Return the sample generator module, loaded from its path."""
    path = ROOT / "data" / "samples" / "generate.py"
    spec = importlib.util.spec_from_file_location("tamtu_sample_generator_web", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def dashboard_app(settings: Settings) -> FastAPI:
    """Return the application exactly as `tamtu serve` builds it."""
    return create_app(settings)


@dataclass(frozen=True)
class Site:
    """A running dashboard: base URL and the tokens of its users."""

    base_url: str
    admin_token: str
    viewer_token: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fill(settings: Settings) -> None:
    from pipeline.run import IngestRun
    from pipeline.text.classify import load_classifier
    from pipeline.text.places import load_gazetteer

    gen = load_generator()
    spike = gen.Spike(SPIKE_VILLAGE, "religion", date(2025, 6, 25), 5, 9)
    records = gen.generate_records(date(2025, 5, 1), date(2025, 6, 30), per_month=300,
                                   spikes=[spike], seed=11)
    ingestor = Ingestor()
    items = [ingestor.make_record(Path("web-sample.jsonl"), i, r, r)
             for i, r in enumerate(records)]
    engine = create_db_engine(settings.database_url)
    migrate(engine)
    store = PetitionStore(engine)
    IngestRun(store, classifier=load_classifier(settings.model_path),
              runs_dir=settings.runs_dir,
              gazetteer=load_gazetteer(settings.gazetteer_dir)).ingest_items(items)
    run_alerts(settings, store, send=False)
    engine.dispose()


def filled_app(folder: Path, *users: tuple[str, str, list[str] | None], **options: Any
               ) -> tuple[FastAPI, list[str]]:
    """Return the app over a freshly filled sample and a token for each (name, role, areas).

    ``options`` are further settings (an SMTP server, for instance).
    """
    settings = Settings(database_url=f"sqlite:///{folder / 'web.db'}", runs_dir=folder / "runs",
                        rate_limit_per_minute=10_000, **options)
    _fill(settings)
    app = dashboard_app(settings)
    engine = app.state.engine
    migrate(engine)
    for name, role, areas in users:
        create_user(engine, name, role, areas)
    return app, [create_token(engine, name) for name, _, _ in users]


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Run the app under uvicorn in a background thread; yield its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("máy chủ thử không khởi động được")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app under uvicorn in a background thread over a generated sample."""
    app, tokens = filled_app(tmp_path_factory.mktemp("web"), ("quantri", "admin", None),
                             ("nguoixem", "viewer", None))
    with serving(app) as base_url:
        yield Site(base_url, *tokens)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from the Debian package; missing Chromium is a failure, not a skip."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium không có tại {CHROMIUM}: cài gói Debian `chromium` "
                    "(apt-get install -y chromium; .ci/run làm việc này)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("thiếu gói Python `playwright` (pip install playwright; không cần "
                    "`playwright install`, trình duyệt là Chromium của Debian)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A fresh browser page that records every URL it requests."""
    context = browser.new_context(accept_downloads=True, locale="vi-VN",
                                  viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.requested = []
    tab.on("request", lambda request: tab.requested.append(request.url))
    tab.set_default_timeout(30_000)
    yield tab
    # No request may leave this machine: every URL starts with the test server's address.
    local = (site.base_url + "/", "blob:" + site.base_url + "/")
    outside = [u for u in tab.requested if not u.startswith(local)]
    context.close()
    assert tab.requested, "trang không gửi yêu cầu nào"
    assert outside == []


def sign_in(page: Any, site: Site, token: str) -> None:
    """Open the dashboard and sign in with an access token through the login form."""
    page.goto(site.base_url + "/")
    page.get_by_label("Mã truy cập").fill(token)
    page.get_by_role("button", name="Đăng nhập").click()
    page.locator("#dashboard").wait_for(state="visible")


def test_login_shows_injected_hotspot_with_explanation(page: Any, site: Site) -> None:
    sign_in(page, site, site.admin_token)
    assert page.locator("#who-name").inner_text() == "quantri"
    assert page.locator("#who-role").inner_text() == "quản trị"
    spot = page.locator("#hotspot-list li.hotspot", has_text=SPIKE_VILLAGE).first
    spot.wait_for()
    assert "Tôn giáo, tín ngưỡng" in spot.locator("h4").inner_text()
    explanation = spot.locator(".explanation").inner_text()
    assert SPIKE_VILLAGE in explanation and len(explanation) > 30
    # The same episode is an open alert that an officer can take in hand.
    alert = page.locator("#alert-list li.alert", has_text=SPIKE_VILLAGE).first
    alert.wait_for()
    page.locator("#heat-table table").wait_for()
    # Each cell also says the smallest spike its counts alone can show.
    limit = page.locator("#heat-table td.cell .limit").first
    assert limit.inner_text().startswith("từ +")
    assert "đợt tăng từ" in page.locator("#heat-table td.cell").first.get_attribute("title")
    page.locator("#chart svg.main-svg").first.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


def test_wrong_token_is_refused_and_logout_returns_to_login(page: Any, site: Site) -> None:
    page.goto(site.base_url + "/")
    page.get_by_label("Mã truy cập").fill("tt_khong-dung")
    with page.expect_response(lambda r: r.url.endswith("/auth/session") and r.status == 401):
        page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_function("document.querySelector('#login-error').textContent !== ''")
    assert "không đúng" in page.locator("#login-error").inner_text()
    sign_in(page, site, site.admin_token)
    page.get_by_role("button", name="Đăng xuất").click()
    page.locator("#login").wait_for(state="visible")
    page.reload()
    page.locator("#login").wait_for(state="visible")
    assert page.locator("#dashboard").is_hidden()


@pytest.mark.parametrize(("control", "value"), [
    ("#trend-topic", "religion"),
    ("#trend-period", "week"),
    ("#trend-source", "complaint"),
])
def test_changing_a_filter_redraws_the_chart(page: Any, site: Site, control: str,
                                              value: str) -> None:
    sign_in(page, site, site.admin_token)
    page.locator("#chart svg.main-svg").first.wait_for()
    before = page.locator("#chart svg.main-svg").first.inner_html()
    with page.expect_response(lambda r: "/api/v1/trends" in r.url):
        page.select_option(control, value)
    page.wait_for_function(
        "before => { const s = document.querySelector('#chart svg.main-svg');"
        " return s && s.innerHTML !== before; }", arg=before)
    after = page.locator("#chart svg.main-svg").first.inner_html()
    assert after != before
    page.get_by_role("button", name="Xem dạng bảng số liệu").click()
    assert page.locator("#chart-table table tbody tr").count() >= 1


def test_hotspot_link_filters_petitions_and_csv_export_downloads(page: Any, site: Site) -> None:
    sign_in(page, site, site.admin_token)
    spot = page.locator("#hotspot-list li.hotspot", has_text=SPIKE_VILLAGE).first
    with page.expect_response(lambda r: "/api/v1/petitions?" in r.url and "religion" in r.url
                              and "ids=" in r.url):
        spot.get_by_role("link", name="Xem các đơn liên quan").click()
    assert page.locator("#pet-topic").input_value() == "religion"
    rows = page.locator("#pet-table tbody tr")
    rows.first.wait_for()
    page.wait_for_function(
        "v => { const cells = [...document.querySelectorAll('#pet-table tbody td:nth-child(3)')];"
        " return cells.length > 0 && cells.every(c => c.textContent.includes(v)); }",
        arg=SPIKE_VILLAGE, timeout=10000)
    assert rows.count() >= 5
    assert all(SPIKE_VILLAGE in t for t in rows.locator("td:nth-child(3)").all_inner_texts())
    with page.expect_download() as info:
        page.get_by_role("link", name="Tải CSV những đơn đang lọc").click()
    content = Path(info.value.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(content)))
    assert tuple(table[0]) == CSV_FIELDS
    assert len(table) - 1 >= rows.count()
    assert all("religion" in row[CSV_FIELDS.index("topics")] for row in table[1:])


def test_search_and_pagination(page: Any, site: Site) -> None:
    sign_in(page, site, site.admin_token)
    page.locator("#pet-table tbody tr").first.wait_for()
    assert page.locator("#pet-table tbody tr").count() == 20
    first_page = page.locator("#pet-table tbody td:first-child").all_inner_texts()
    with page.expect_response(lambda r: "offset=20" in r.url):
        page.get_by_role("button", name="Trang sau ›").click()
    # The response can arrive before the table is redrawn: wait for the new first row.
    first_cell = page.locator("#pet-table tbody td:first-child").first
    deadline = time.monotonic() + 10
    while first_cell.inner_text() == first_page[0] and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.locator("#pet-table tbody td:first-child").all_inner_texts() != first_page
    page.get_by_label("Tìm trong nội dung").fill("đạo")
    with page.expect_response(lambda r: "q=" in r.url):
        page.get_by_role("button", name="Lọc", exact=True).click()
    page.wait_for_function(
        "() => { const cells = [...document.querySelectorAll('#pet-table td.text')];"
        " return cells.length > 0 && cells.every(c => c.textContent.toLowerCase()"
        ".includes('đạo')); }", timeout=10000)
    texts = page.locator("#pet-table td.text").all_inner_texts()
    assert texts and all("đạo" in t.lower() for t in texts)


def test_viewer_sees_counts_but_no_petition_list(page: Any, site: Site) -> None:
    sign_in(page, site, site.viewer_token)
    assert page.locator("#who-role").inner_text() == "xem số liệu"
    page.locator("#hotspot-list li.hotspot", has_text=SPIKE_VILLAGE).first.wait_for()
    page.locator("#heat-table table").wait_for()
    assert page.locator("#petitions").is_hidden()
    assert page.locator("#rules").is_hidden()
    assert page.get_by_role("link", name="Danh sách đơn").count() == 0
    assert page.get_by_role("link", name="Xem các đơn liên quan").count() == 0
    assert page.get_by_role("button", name="Đã nắm").count() == 0
    assert not any("/api/v1/petitions" in url for url in page.requested)


def test_acknowledge_alert(page: Any, site: Site) -> None:
    sign_in(page, site, site.admin_token)
    alerts = page.locator("#alert-list li.alert")
    alerts.first.wait_for()
    before = alerts.count()
    with page.expect_response(lambda r: r.url.endswith("/ack") and r.status == 200):
        alerts.first.get_by_role("button", name="Đã nắm").click()
    page.wait_for_function(
        "n => document.querySelectorAll('#alert-list li.alert').length === n - 1", arg=before)
    assert "đã nắm" in page.locator("#status").inner_text()


def test_monthly_report_downloads_docx(page: Any, site: Site) -> None:
    sign_in(page, site, site.admin_token)
    page.get_by_label("Tháng", exact=True).fill("2025-06")
    with page.expect_download() as info:
        page.get_by_role("button", name="Tải báo cáo (DOCX)").click()
    assert info.value.suggested_filename == "bao-cao-thang-2025-06.docx"
    with zipfile.ZipFile(info.value.path()) as docx:
        body = docx.read("word/document.xml").decode("utf-8")
    assert "06/2025" in body
    # The form asked for the report with its progress, and hides the bar once it is done.
    assert any("/reports/monthly/progress?month=2025-06" in u for u in page.requested)
    page.wait_for_function(
        "() => document.querySelector('#report-status').textContent.includes('06/2025')")
    assert page.locator("#report-progress-box").is_hidden()


def add_religion_rule(page: Any, name: str, area: str, **fields: str) -> Any:
    """Fill the rule form: religion in ``area``, ``fields`` by label; return the new row."""
    page.get_by_label("Tên quy tắc").fill(name)
    page.locator("#rule-topics").get_by_label("Tôn giáo, tín ngưỡng").check()
    page.get_by_label("Địa bàn, cách nhau").fill(area)
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Thêm quy tắc").click()
    row = page.locator("#rules-table tr", has_text=name)
    row.wait_for()
    return row


def test_admin_manages_alert_rules(page: Any, site: Site) -> None:
    sign_in(page, site, site.admin_token)
    page.get_by_label("Mức độ thấp nhất").select_option("medium")
    row = add_religion_rule(page, "Tôn giáo ở Phúc Lâm", "Phúc Lâm")
    assert "Trung bình" in row.inner_text() and "Đang dùng" in row.inner_text()
    row.get_by_role("button", name="Tắt").click()
    page.locator("#rules-table tr", has_text="Tôn giáo ở Phúc Lâm").filter(
        has_text="Tạm tắt").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Xóa quy tắc Tôn giáo ở Phúc Lâm").click()
    page.locator("#rules-table tr", has_text="Tôn giáo ở Phúc Lâm").wait_for(state="detached")
    assert "Đã xóa" in page.locator("#rule-status").inner_text()


def test_phone_layout_keeps_content_within_the_screen(browser: Any, site: Site) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True)
    tab = context.new_page()
    try:
        sign_in(tab, site, site.viewer_token)
        tab.locator("#chart svg.main-svg").first.wait_for()
        tab.reload()  # the session cookie keeps the user signed in
        tab.locator("#heat-table table").wait_for()
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        # Keyboard: the first Tab reaches the skip link, which is then visible.
        tab.keyboard.press("Tab")
        focused = tab.evaluate("document.activeElement.textContent")
    finally:
        context.close()
    assert overflow <= 0
    assert focused == "Bỏ qua, đến nội dung chính"


def test_api_docs_page_renders_from_this_server(page: Any, site: Site) -> None:
    # The page fixture fails the test if any request leaves the local server.
    page.goto(site.base_url + "/api/v1/docs")
    page.wait_for_function("() => document.querySelectorAll('.opblock').length > 20",
                           timeout=30000)
    hotspots = page.locator(".opblock", has=page.locator("[data-path='/api/v1/hotspots']"))
    assert "GET" in hotspots.first.inner_text()
    assert "Bearer" in page.locator(".information-container").inner_text()


def test_past_day_can_be_replayed(page: Any, site: Site) -> None:
    sign_in(page, site, site.admin_token)
    page.locator("#hotspot-list li.hotspot", has_text=SPIKE_VILLAGE).first.wait_for()
    with page.expect_response(lambda r: "/api/v1/hotspots?as_of=2025-06-01" in r.url):
        page.get_by_label("Xem lại tình hình tại ngày").fill("2025-06-01")
    page.wait_for_function(
        "() => document.querySelector('#as-of').textContent.includes('01/06/2025')",
        timeout=10000)
    assert page.locator("#hotspot-list li.hotspot", has_text=SPIKE_VILLAGE).count() == 0
    with page.expect_response(lambda r: r.url.endswith("/api/v1/hotspots")):
        page.get_by_role("button", name="Dữ liệu mới nhất").click()
    page.locator("#hotspot-list li.hotspot", has_text=SPIKE_VILLAGE).first.wait_for()
