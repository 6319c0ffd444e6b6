"""Review and follow-up in a real Chromium: the review queue moves the trends, a petition
turns overdue on the chosen day, an alert is assigned and resolved with its history."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from tests.web.test_dashboard import (  # noqa: F401 - fixtures are found by their names
    ARTIFACTS,
    browser,
    filled_app,
    serving,
)

COMMUNE = "xã Vĩnh Giang"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    app, tokens = filled_app(tmp_path_factory.mktemp("cases"), ("quantri", "admin", None),
                             ("canbo", "officer", [COMMUNE]))
    with serving(app) as base_url:
        yield {"url": base_url, "admin": tokens[0], "officer": tokens[1]}


def call(site: dict[str, str], path: str, body: Any = None, token: str = "admin") -> Any:
    request = urllib.request.Request(
        site["url"] + "/api/v1" + path, method="POST" if body is not None else "GET",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {site[token]}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.fixture
def page(browser: Any, site: dict[str, str]) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    requested: list[str] = []
    tab.on("request", lambda request: requested.append(request.url))
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.set_default_timeout(60_000)
    yield tab
    context.close()
    assert requested and all(u.startswith(site["url"] + "/") for u in requested)


def sign_in(page: Any, site: dict[str, str], who: str, path: str = "/") -> None:
    page.goto(site["url"] + path)
    page.get_by_label("Mã truy cập").fill(site[who])
    page.get_by_role("button", name="Đăng nhập").click()
    page.locator("#dashboard").wait_for(state="visible")


def topic_total(site: dict[str, str], topic: str) -> int:
    rows = call(site, f"/trends?topic={topic}&period=month&limit=500")["data"]
    return sum(r["count"] for r in rows)


def test_a_doubtful_petition_reviewed_from_the_queue_moves_the_trends(
        page: Any, site: dict[str, str]) -> None:
    sign_in(page, site, "officer")
    page.get_by_role("link", name="Kiểm tra nhãn").click()
    first = page.locator("#review-list li.review").first
    first.wait_for()
    petition_id = int(first.get_attribute("data-petition-id"))
    before = call(site, f"/petitions/{petition_id}")
    assert "cần xem vì" in first.locator(".meta").inner_text()
    topics = before["topics"]
    # Keyboard only: number keys toggle topics, L saves. Toggle religion on or off.
    boxes = first.locator('input[name="topics"]')
    religion_index = [boxes.nth(i).get_attribute("value") for i in range(boxes.count())
                      ].index("religion")
    had_religion = "religion" in topics
    religion_before = topic_total(site, "religion")
    first.focus()
    page.keyboard.press(str(religion_index + 1))
    if not had_religion:
        # Keep the correction to one topic so the count moves by exactly one.
        for code in topics:
            if code != "other":
                first.locator(f'input[name="topics"][value="{code}"]').uncheck()
    page.keyboard.press("l")
    page.locator("#status", has_text=f"Đã lưu đơn số {petition_id}").wait_for()
    after = call(site, f"/petitions/{petition_id}")
    assert after["reviewed_by"] == "canbo" and after["model_topics"] == topics
    expected = religion_before + (-1 if had_religion else 1)
    assert topic_total(site, "religion") == expected
    # The next petition is accepted with one keystroke.
    second = page.locator("#review-list li.review").first
    second_id = int(second.get_attribute("data-petition-id"))
    second.focus()
    page.keyboard.press("Enter")
    page.locator("#status", has_text=f"Đã xác nhận nhãn của đơn số {second_id}").wait_for()
    history = call(site, f"/petitions/{second_id}/history")
    assert [e["action"] for e in history] == ["review"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-queue.png"), full_page=False)
    # The petition's page shows the correction in its history.
    page.locator("#pet-table").wait_for()
    page.evaluate(f"openPetition({petition_id})")
    detail = page.locator("#petition-detail")
    detail.locator("ol.history li", has_text="sửa nhãn").wait_for()
    assert "đã kiểm tra bởi canbo" in detail.inner_text()
    page.screenshot(path=str(ARTIFACTS / "petition-page.png"), full_page=False)


def test_a_petition_turns_overdue_on_the_chosen_day(page: Any, site: dict[str, str]) -> None:
    stored = call(site, "/petitions", [{
        "text": "Đơn khiếu nại về việc thu hồi đất làm kênh N6 thôn Tân Mỹ chưa bồi thường.",
        "received_at": "2025-06-10", "area": "thôn Tân Mỹ, xã Vĩnh Giang",
        "source_type": "complaint"}])
    assert stored["stored"] == 1
    due = date(2025, 6, 10) + timedelta(days=40)
    path = f"/?date={due.isoformat()}&p.q=N6&p.overdue=true#petitions"
    sign_in(page, site, "officer", path)
    page.locator("#pet-summary", has_text="tổng 0 đơn").wait_for()
    page.get_by_label("Xem lại tình hình tại ngày").fill((due + timedelta(days=1)).isoformat())
    row = page.locator("#pet-table tbody tr", has_text="kênh N6")
    row.wait_for()
    assert "Quá hạn" in row.inner_text()
    summary = page.locator("#case-summary").inner_text()
    assert "Quá hạn, chưa trả lời" in summary
    # Taking it in hand in bulk on the filtered list clears it from the overdue list.
    page.get_by_label("Trạng thái", exact=True).last.select_option("answered")
    page.get_by_role("button", name="Áp dụng cho các đơn đang lọc").click()
    page.locator("#bulk-status-line", has_text="Đã cập nhật 1 trên 1").wait_for()
    page.locator("#pet-summary", has_text="tổng 0 đơn").wait_for()


def test_an_alert_is_assigned_and_resolved_with_its_history(page: Any,
                                                           site: dict[str, str]) -> None:
    alert = call(site, "/alerts?limit=1")["data"][0]
    # The link an alert e-mail carries opens the alert's page.
    sign_in(page, site, "officer", f"/?alert={alert['id']}#today")
    dialog = page.locator("#alert-dialog")
    dialog.locator("#alert-assignee").wait_for()
    dialog.get_by_label("Giao cho").fill("Trần Văn Bình")
    dialog.get_by_label("Ghi chú").fill("Đồng chí Bình nắm tình hình, báo cáo trước thứ Sáu")
    dialog.get_by_role("button", name="Giao việc").click()
    dialog.locator("ol.history li", has_text="giao việc").wait_for()
    dialog.get_by_label("Ghi chú").fill("Đã đối thoại với bà con, thống nhất hướng xử lý")
    dialog.get_by_role("button", name="Đã giải quyết").click()
    dialog.locator("ol.history li", has_text="đã giải quyết").wait_for()
    text = dialog.inner_text()
    assert "Trần Văn Bình" in text and "Đã đối thoại với bà con" in text
    page.screenshot(path=str(ARTIFACTS / "alert-case.png"), full_page=False)
    dialog.get_by_role("button", name="Mở lại").click()
    dialog.locator("ol.history li", has_text="mở lại").wait_for()
    history = call(site, f"/alerts/{alert['id']}/history")
    assert [e["action"] for e in history] == ["assign", "resolve", "reopen"]
    assert all(e["user_name"] == "canbo" for e in history)
    assert call(site, f"/alerts/{alert['id']}")["assignee"] == "Trần Văn Bình"
