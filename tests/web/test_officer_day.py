"""The officer's day in a real Chromium: import files, then see the new petitions counted.

Its own server over its own generated sample (imports add petitions; the dashboard tests'
figures stay as they were), with an officer scoped to one commune.
"""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from aiosmtpd.controller import Controller

from pipeline.config import Settings
from pipeline.intake.normalize import fold_diacritics
from pipeline.monitor.alerts import LOCAL_TIMEZONE
from tests.pipeline.monitor.test_alerts import MailSink
from tests.web.test_dashboard import (  # noqa: F401 - fixtures are found by their names
    ARTIFACTS,
    add_religion_rule,
    browser,
    filled_app,
    serving,
)
from tests.web.test_dashboard import (
    _free_port as free_port,
)

COMMUNE = "xã Vĩnh Giang"


@dataclass(frozen=True)
class OfficerSite:
    """A running dashboard with an admin and an officer of one commune."""

    base_url: str
    admin_token: str
    officer_token: str
    settings: Settings


@pytest.fixture(scope="module")
def mail() -> Iterator[MailSink]:
    """The real local SMTP server the alert tests use, keeping what it receives."""
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port  # type: ignore[attr-defined]
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mail: MailSink) -> Iterator[OfficerSite]:
    app, tokens = filled_app(
        tmp_path_factory.mktemp("officer"), ("quantri", "admin", None),
        ("canbo", "officer", [COMMUNE]), smtp_host="127.0.0.1",
        smtp_port=mail.port,  # type: ignore[attr-defined]
        smtp_starttls=False, smtp_sender="tamtu@vinhgiang.example.vn")
    with serving(app) as base_url:
        yield OfficerSite(base_url, *tokens, app.state.settings)


@pytest.fixture
def page(browser: Any, site: OfficerSite) -> Iterator[Any]:  # noqa: F811 - this module's page
    context = browser.new_context(accept_downloads=True, locale="vi-VN",
                                  viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    requested: list[str] = []
    tab.on("request", lambda request: requested.append(request.url))
    tab.set_default_timeout(60_000)
    yield tab
    local = (site.base_url + "/", "blob:" + site.base_url + "/")
    context.close()
    assert requested and [u for u in requested if not u.startswith(local)] == []


def sign_in(page: Any, site: OfficerSite, token: str) -> None:
    page.goto(site.base_url + "/")
    page.get_by_label("Mã truy cập").fill(token)
    page.get_by_role("button", name="Đăng nhập").click()
    page.locator("#dashboard").wait_for(state="visible")


WEEK_CSV = (
    "Ngày nhận;Tâm sự của bà con;Địa chỉ;Người gửi\n"
    "02/12/2025;Nước giếng khoan nhà tôi nhiễm phèn nặng, đề nghị xã hỗ trợ bộ lọc;"
    "thôn Tân Mỹ, xã Vĩnh Giang;Trần Thị Hoa\n"
    "03/12/2025;Cầu tràn qua suối bị xói lở, trẻ em đi học rất nguy hiểm;"
    "thôn Hà Lợi, xã Vĩnh Giang;Lê Văn Bình\n"
    "04/12/2025;Bãi rác tự phát ven đường liên thôn bốc mùi hôi thối;"
    "xã Gio Mỹ;Nguyễn Văn Cường\n"
    "99/12/2025;Ngày ghi sai nên dòng này không được lưu;thôn Tân Mỹ, xã Vĩnh Giang;Hồ Thị Dung\n"
)


def test_officer_imports_a_file_with_a_remapped_column(page: Any, site: OfficerSite,
                                                       tmp_path: Path) -> None:
    upload = tmp_path / "tuan-49.csv"
    upload.write_text(WEEK_CSV, encoding="utf-8")
    letter = tmp_path / "don-cau-tran.txt"
    letter.write_text("Kính gửi UBND xã Vĩnh Giang. Chúng tôi ở thôn Tân Mỹ đề nghị xã sớm "
                      "sửa con đường đất ra đồng bị sụt lún sau mưa.", encoding="utf-8")
    sign_in(page, site, site.officer_token)
    page.get_by_role("link", name="Nhập tệp").click()
    page.get_by_label("Tệp cần nhập").set_input_files([str(upload), str(letter)])
    page.get_by_role("button", name="Tải lên và xem trước").click()
    column = page.get_by_label("Cột “Tâm sự của bà con” của tuan-49.csv là")
    column.wait_for()
    # Nothing told the readers this is the content: the preview says so, the officer fixes it.
    assert "Chưa nhận ra cột nội dung" in page.locator("#import-preview").inner_text()
    assert page.get_by_label("Cột “Ngày nhận” của tuan-49.csv là").input_value() == "received_at"
    assert "nhiễm phèn" in page.locator("#import-preview table").inner_text()
    assert "sụt lún" in page.locator("#import-preview").inner_text()
    column.select_option("text")
    page.get_by_role("button", name="Bắt đầu nhập").click()
    result = page.locator("#import-result table.accounting")
    result.wait_for()
    text = page.locator("#import-result").inner_text()
    # 5 read: 3 stored (2 rows + the letter), 1 outside the commune, 1 with a wrong date.
    assert "Đã đọc 5 = lưu mới 3 + trùng lặp 0 + cách ly 2." in text
    assert page.locator("#import-progress").get_attribute("value") == "5"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "import.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="Tải tệp cách ly (CSV)").click()
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    reasons = {r[1]: r for r in rows[1:]}
    assert set(reasons) == {"4", "5"}
    assert reasons["4"][0] == "tuan-49.csv" and "ngoài địa bàn phụ trách" in reasons["4"][2]
    assert "99/12/2025" in reasons["5"][2]
    # The new petitions are in the list at once.
    page.get_by_label("Tìm trong nội dung").fill("nhiễm phèn")
    page.get_by_role("button", name="Lọc", exact=True).click()
    page.locator("#pet-table td.text", has_text="Nước giếng khoan").first.wait_for()


def test_one_date_drives_every_view_and_survives_a_reload(page: Any, site: OfficerSite) -> None:
    sign_in(page, site, site.admin_token)
    page.locator("#heat-table table").wait_for()
    page.locator("#chart svg.main-svg").first.wait_for()
    wanted = ("/hotspots?as_of=2025-05-20", "/emerging?as_of=2025-05-20",
              "/alerts?as_of=2025-05-20", "to=2025-05-20")
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.get_by_label("Xem lại tình hình tại ngày").fill("2025-05-20")
    page.wait_for_function(
        "() => document.querySelector('#heat-caption').textContent.includes('05/2025')")
    assert all(any(w in u for u in seen) for w in wanted), seen
    # Both trend requests (chart and heat table) end on the chosen day.
    assert len([u for u in seen if "/trends?" in u and "to=2025-05-20" in u]) == 2
    assert "Tình hình tại ngày 20/05/2025" in page.locator("#date-heading").inner_text()
    assert "tại ngày 20/05/2025" in page.locator("#today-title").inner_text()
    for title in ("#trends-title", "#heat-title", "#emerging-title"):
        assert "đến ngày 20/05/2025" in page.locator(title).inner_text()
    assert "chưa trọn tháng" in page.locator("#heat-caption").inner_text()
    assert "Kỳ chưa trọn" in page.locator("#chart").inner_text()
    # No alert lives on 20/05: the page says where the latest one is, one click away.
    assert page.locator("#alert-list li.alert").count() == 0
    hint = page.locator("#alert-hint")
    hint.wait_for()
    assert "Cảnh báo gần nhất" in hint.inner_text()
    hint.get_by_role("button").click()
    page.locator("#alert-list li.alert", has_text="Phúc Lâm").first.wait_for()
    assert "Cảnh báo tại ngày này" in page.locator("#alert-heading").inner_text()
    chosen = page.locator("#as-of-input").input_value()
    assert chosen.startswith("2025-06")
    with page.expect_response(lambda r: "/trends?" in r.url and "religion" in r.url):
        page.select_option("#trend-topic", "religion")
    page.get_by_role("link", name="Xu hướng", exact=True).click()
    assert f"date={chosen}" in page.url and "t.topic=religion" in page.url
    assert page.url.endswith("#trends")
    page.reload()
    page.locator("#alert-list li.alert", has_text="Phúc Lâm").first.wait_for()
    assert page.locator("#as-of-input").input_value() == chosen
    assert page.locator("#trend-topic").input_value() == "religion"
    assert f"tại ngày {chosen[8:]}/{chosen[5:7]}/{chosen[:4]}" in page.locator(
        "#date-heading").inner_text()


RELIGION_CSV = "Ngày nhận,Nội dung,Địa chỉ\n" + "".join(
    f"{day}/12/2025,\"{text}\",\"thôn Hà Lợi Trung, xã Vĩnh Giang\"\n" for day, text in (
        (8, "Có nhóm người lạ đến từng nhà vận động bà con bỏ thờ cúng tổ tiên để theo đạo mới"),
        (8, "Nhóm truyền đạo lạ tổ chức sinh hoạt tôn giáo trái phép vào ban đêm"),
        (9, "Người lạ phát tờ rơi truyền đạo, rủ con cháu bỏ học đi cầu nguyện"),
        (9, "Đề nghị xã kiểm tra điểm nhóm tôn giáo tự phát mới lập, thu tiền dâng cúng"),
        (10, "Tà đạo lôi kéo người già trong thôn, bảo đập bỏ bàn thờ gia tiên"),
        (10, "Nhóm đạo lạ tụ tập hát xướng đến khuya, nhiều nhà bỏ việc đồng áng"),
    ))


def test_admin_adds_a_user_a_token_and_an_email_recipient_that_receives_the_alert(
    page: Any, site: OfficerSite, mail: MailSink, tmp_path: Path
) -> None:
    sign_in(page, site, site.admin_token)
    page.get_by_role("link", name="Người dùng, mã truy cập").click()
    page.locator("#users-table tr", has_text="canbo").first.wait_for()
    page.get_by_label("Tên đăng nhập").fill("vanthu.vg")
    page.get_by_label("Vai trò").select_option("analyst")
    page.get_by_label("Địa bàn được xem").select_option([COMMUNE])
    page.get_by_role("button", name="Thêm người dùng").click()
    row = page.locator("#users-table tr", has_text="vanthu.vg")
    row.wait_for()
    assert "phân tích" in row.inner_text() and COMMUNE in row.inner_text()
    page.get_by_role("button", name="Cấp mã truy cập cho vanthu.vg").click()
    token = page.locator("#new-token-value")
    token.wait_for()
    assert token.inner_text().startswith("tt_")
    assert "chỉ hiện một lần" in page.locator("#new-token").inner_text()
    page.locator("#tokens-table tr", has_text="vanthu.vg").wait_for()

    rule = add_religion_rule(page, "Tôn giáo Vĩnh Giang, báo văn phòng", "Vĩnh Giang",
                             **{"Gửi e-mail tới": "vanphong@vinhgiang.example.vn"})
    assert "E-mail: vanphong@vinhgiang.example.vn" in rule.inner_text()
    # A second recipient added to the same rule afterwards, with quiet hours.
    page.get_by_role("button", name="Sửa quy tắc Tôn giáo Vĩnh Giang, báo văn phòng").click()
    page.get_by_label("Gửi e-mail tới").fill(
        "vanphong@vinhgiang.example.vn, chutich@vinhgiang.example.vn")
    # Quiet hours that begin two hours from now: this alert goes out at once.
    local = datetime.now(ZoneInfo(LOCAL_TIMEZONE))
    quiet = [f"{local + timedelta(hours=h):%H:%M}" for h in (2, 3)]
    page.get_by_label("Giờ yên lặng từ").fill(quiet[0])
    page.get_by_label("đến", exact=True).fill(quiet[1])
    page.get_by_role("button", name="Lưu quy tắc").click()
    saved = page.locator("#rules-table tr", has_text="chutich@vinhgiang.example.vn")
    saved.wait_for()
    assert f"{quiet[0]}-{quiet[1]}" in saved.inner_text()

    upload = tmp_path / "ton-giao.csv"
    upload.write_text(RELIGION_CSV, encoding="utf-8")
    page.get_by_role("link", name="Nhập tệp").click()
    page.get_by_label("Tệp cần nhập").set_input_files(str(upload))
    page.get_by_role("button", name="Tải lên và xem trước").click()
    page.get_by_role("button", name="Bắt đầu nhập").click()
    page.locator("#import-result table.accounting").wait_for()
    assert "lưu mới 6" in page.locator("#import-result").inner_text()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
            "chutich@vinhgiang.example.vn" in r for r in mail.recipients):
        time.sleep(0.2)
    sent = [m for m, r in zip(mail.messages, mail.recipients, strict=True)
            if "chutich@vinhgiang.example.vn" in r]
    assert sent, [m["Subject"] for m in mail.messages]
    body = sent[0].get_body(("plain",)).get_content()
    assert "Hà Lợi Trung" in sent[0]["Subject"] + body
    assert "Tôn giáo" in sent[0]["Subject"] + body


def _api_post(site: OfficerSite, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{site.base_url}/api/v1{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {site.admin_token}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _outside(tab: Any, selector: str) -> list[str]:
    """Return the selector's visible elements whose right edge passes the screen's."""
    return tab.evaluate(
        "(sel) => [...document.querySelectorAll(sel)].filter(e => e.offsetParent !== null"
        " && e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.textContent.slice(0, 40))", selector)


def test_phone_lists_fit_the_screen_with_excerpts_and_unaccented_search(
    browser: Any, site: OfficerSite  # noqa: F811 - the shared browser fixture
) -> None:
    _api_post(site, "/alert-rules", {
        "name": "Đất đai toàn huyện, báo cả ban tiếp công dân", "topics": ["land"],
        "areas": [], "min_severity": "medium", "enabled": True,
        "channels": [{"type": "email", "to": [
            "bantiepcongdan.huyenvinhlinh@quangtri.example.vn", "vanphong@vinhgiang.example.vn"]}],
    })
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  locale="vi-VN")
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        sign_in(tab, site, site.admin_token)
        tab.goto(site.base_url + "/?p.q=dao&p.sort=oldest#petitions")
        tab.locator("#pet-table tbody tr").first.wait_for()
        tab.locator("#rules-table tbody tr").first.wait_for()
        tab.locator("#users-table tbody tr").first.wait_for()
        assert tab.locator("#pet-sort").input_value() == "oldest"
        marks = tab.locator("#pet-table td.text mark").all_inner_texts()
        # Typed without diacritics, the word is found in its accented spellings.
        assert marks and all(fold_diacritics(m) == "dao" for m in marks)
        assert any(m.lower() != "dao" for m in marks)
        excerpts = tab.locator("#pet-table td.text .excerpt").all_inner_texts()
        assert excerpts and max(len(e) for e in excerpts) <= 185
        days = tab.locator("#pet-table tbody td:nth-child(2)").all_inner_texts()
        as_iso = [f"{d[6:]}-{d[3:5]}-{d[:2]}" for d in days]
        assert as_iso == sorted(as_iso)
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        cut = {sel: _outside(tab, sel) for sel in (
            "#pet-table td", "#rules-table td button", "#users-table td button",
            "#rules-table td.channels")}
        ARTIFACTS.mkdir(exist_ok=True)
        tab.locator("#petitions").screenshot(path=str(ARTIFACTS / "phone-petitions.png"))
        tab.locator("#rules").screenshot(path=str(ARTIFACTS / "phone-rules.png"))
        tab.locator("#admin").screenshot(path=str(ARTIFACTS / "phone-admin.png"))
        sender = tab.locator("#pet-table tbody td[data-label='Người gửi']").first
        sender_box = sender.bounding_box()
    finally:
        context.close()
    assert overflow <= 0
    assert cut == {sel: [] for sel in cut}
    assert sender_box is not None and sender_box["x"] >= 0
    assert sender_box["x"] + sender_box["width"] <= 391
    for name in ("phone-petitions.png", "phone-rules.png", "phone-admin.png"):
        assert (ARTIFACTS / name).stat().st_size > 5_000


def test_petitions_trends_and_heat_table_download_as_excel(page: Any, site: OfficerSite,
                                                           tmp_path: Path) -> None:
    sign_in(page, site, site.admin_token)
    page.locator("#heat-table table").wait_for()
    page.locator("#pet-table tbody tr").first.wait_for()
    titles = {}
    for name, sheet in (("Tải Excel", "Đơn thư"), ("Tải Excel xu hướng", "Theo kỳ"),
                        ("Tải Excel bản đồ nhiệt", "Số đơn")):
        with page.expect_download() as info:
            page.get_by_role("link", name=name, exact=True).click()
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(target)
        book = openpyxl.load_workbook(target, read_only=True)
        assert target.suffix == ".xlsx" and sheet in book.sheetnames
        rows = list(book[sheet].iter_rows(values_only=True))
        assert len(rows) > 2
        titles[sheet] = rows
    heat = titles["Số đơn"]
    shown = page.locator("#heat-table tbody tr").count()
    assert len(heat) - 2 == shown
