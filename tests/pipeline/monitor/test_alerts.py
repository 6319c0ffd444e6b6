"""Alerts: rules, one alert per hot-spot episode, quiet hours, signed webhooks and real SMTP."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from hypothesis import assume, given
from hypothesis import strategies as st

from pipeline.config import PROJECT_ROOT
from pipeline.monitor.alerts import (
    AlertNotFound,
    AlertRule,
    AlertStateError,
    EmailChannel,
    QuietHours,
    RuleError,
    SmtpSettings,
    WebhookChannel,
    ack_alert,
    add_rule,
    deliver_pending,
    evaluate_alerts,
    install_rules,
    load_rules_file,
    parse_quiet_hours,
    parse_rule,
    resolve_alert,
    retry_delay,
)
from pipeline.store import AlertStore, PetitionStore

BASE_URL = "http://tamtu.local"
SECRET = "bí-mật-của-xã-Gio-Mỹ"
# 03:00 UTC is 10:00 in Hà Nội: outside any evening quiet hours.
T0 = datetime(2025, 6, 14, 3, 0)


@dataclass(frozen=True)
class Spot:
    """A hot spot as pipeline.monitor.hotspots produces it (only the fields alerts read)."""

    area: str = "thôn Gio Mỹ"
    topic: str = "land"
    severity: str = "medium"
    count: int = 6
    expected: float = 1.5
    score: float = 3.2
    window_start: date = date(2025, 6, 1)
    window_end: date = date(2025, 6, 14)
    explanation: str = "6 đơn thư về đất đai trong 14 ngày, gấp 4 lần mức thường gặp"
    petition_ids: tuple[int, ...] = (3, 5, 8, 13, 21, 34)


# ---------------------------------------------------------------------- local receivers
class MailSink:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Đã nhận"


class WebhookReceiver:
    """A local HTTP server that accepts only bodies signed with its secret."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.bodies: list[dict[str, Any]] = []
        self.rejected = 0
        self._server: ThreadingHTTPServer | None = None

    def start(self, port: int = 0) -> int:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                digest = hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(f"sha256={digest}",
                                           self.headers.get("X-Tamtu-Signature", "")):
                    receiver.rejected += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(body.decode("utf-8")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def alert_store(store: PetitionStore) -> AlertStore:
    return AlertStore(store.engine)


@pytest.fixture
def mail() -> Iterator[tuple[MailSink, SmtpSettings]]:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield sink, SmtpSettings(host="127.0.0.1", port=controller.port,
                                 sender="tamtu@ubnd-xa.example.vn", starttls=False)
    finally:
        controller.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver(SECRET)
    yield hook
    hook.stop()


def _rule(name: str = "Đất đai Gio Mỹ", **fields: Any) -> AlertRule:
    return AlertRule(name=name, **fields)


EMAIL = EmailChannel(("canbo.xa@example.vn",))


# ---------------------------------------------------------------------- rules as data
@pytest.mark.parametrize(("rule", "spot", "expected"), [
    (_rule(), Spot(), True),
    (_rule(topics=("land",)), Spot(topic="environment"), False),
    (_rule(topics=("land", "religion")), Spot(topic="religion"), True),
    (_rule(areas=("gio mỹ",)), Spot(area="Thôn Gio Mỹ, xã Gio Linh"), True),
    (_rule(areas=("Gio Mỹ",)), Spot(area="thôn Gio Mai"), False),
    (_rule(areas=("Hà Lợi", "Gio Mỹ")), Spot(area="thôn Hà Lợi"), True),
    (_rule(min_severity="medium"), Spot(severity="low"), False),
    (_rule(min_severity="medium"), Spot(severity="medium"), True),
    (_rule(min_severity="high"), Spot(severity="medium"), False),
    (_rule(min_severity="high"), Spot(severity="high"), True),
    (_rule(enabled=False), Spot(severity="high"), False),
])
def test_rule_scope_and_minimum_severity(rule: AlertRule, spot: Spot, expected: bool) -> None:
    assert rule.matches(spot) is expected


@pytest.mark.parametrize(("data", "message"), [
    ({"topics": ["land"]}, "cần có tên"),
    ({"name": "a", "min_severity": "urgent"}, "min_severity 'urgent'"),
    ({"name": "a", "topics": ["lands"]}, "không có trong danh mục: lands"),
    ({"name": "a", "quiet_hours": "22h-6h"}, "HH:MM-HH:MM"),
    ({"name": "a", "quiet_hours": "25:00-06:00"}, "không tồn tại"),
    ({"name": "a", "quiet_hours": "06:00-06:00"}, "trùng nhau"),
    ({"name": "a", "channels": [{"type": "sms", "to": "0912"}]}, "'sms' không hỗ trợ"),
    ({"name": "a", "channels": [{"type": "webhook", "url": "http://x"}]}, "cần secret"),
    ({"name": "a", "channels": [{"type": "webhook", "url": "ftp://x", "secret": "s"}]}, "http"),
    ({"name": "a", "channels": [{"type": "email", "to": ["không-phải-địa-chỉ"]}]}, "địa chỉ"),
    ({"name": "a", "scope": "xã"}, "khóa không hợp lệ: scope"),
    ({"name": "a", "enabled": "có"}, "true hoặc false"),
])
def test_malformed_rules_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rule(data, known_topics=("land", "religion"))


def test_rule_round_trips_through_its_row() -> None:
    rule = parse_rule({
        "name": "Tôn giáo toàn huyện", "topics": "religion", "area": "huyện Gio Linh",
        "min_severity": "low", "quiet_hours": "21:30-05:45",
        "channels": [{"type": "webhook", "url": "https://nhan.example/hook", "secret": "s"},
                     {"type": "email", "to": "vp@example.vn"}],
    })
    assert rule.topics == ("religion",) and rule.areas == ("huyện Gio Linh",)
    assert rule.quiet_hours == QuietHours(time(21, 30), time(5, 45))
    assert parse_rule(rule.as_row()) == rule


def test_default_rule_file_watches_sensitive_topics_and_all_high(alert_store: AlertStore) -> None:
    rules = load_rules_file(PROJECT_ROOT / "data" / "alert-rules.yaml")
    sensitive = next(r for r in rules if r.min_severity == "low")
    assert set(sensitive.topics) == {"religion", "land", "environment", "security"}
    assert any(r.topics == () and r.min_severity == "high" for r in rules)
    assert all(r.channels == () for r in rules)
    assert sensitive.matches(Spot(topic="religion", severity="low"))
    assert not any(r.matches(Spot(topic="policy", severity="medium")) for r in rules)

    first = install_rules(alert_store, rules)
    again = install_rules(alert_store, rules)
    assert (first.created, first.updated, again.created, again.updated) == (2, 0, 0, 2)
    assert [row["name"] for row in alert_store.list_rules()] == [r.name for r in rules]


def test_rule_file_with_repeated_names_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: Xã A\n  - name: Xã A\n", encoding="utf-8")
    with pytest.raises(RuleError, match="trùng: Xã A"):
        load_rules_file(path, known_topics=())


def test_rule_crud(alert_store: AlertStore) -> None:
    rule = add_rule(alert_store, _rule(topics=("land",), channels=(EMAIL,)))
    assert rule.id is not None
    with pytest.raises(RuleError, match="Đã có quy tắc"):
        add_rule(alert_store, _rule())
    assert alert_store.update_rule(rule.id, {"min_severity": "high", "enabled": False})
    stored = alert_store.get_rule(rule.id)
    assert stored is not None and (stored["min_severity"], stored["enabled"]) == ("high", False)
    assert alert_store.list_rules(enabled_only=True) == []
    assert alert_store.delete_rule(rule.id)
    assert alert_store.get_rule(rule.id) is None
    assert not alert_store.delete_rule(rule.id)


def test_deleting_a_rule_fails_its_pending_deliveries(alert_store: AlertStore) -> None:
    rule = add_rule(alert_store, _rule(channels=(EMAIL,)))
    assert rule.id is not None
    evaluate_alerts(alert_store, [Spot()], T0)
    alert_store.delete_rule(rule.id)
    (delivery,) = alert_store.list_deliveries()
    assert (delivery["status"], delivery["rule_id"]) == ("failed", None)
    assert "đã bị xóa" in delivery["last_error"]


# ---------------------------------------------------------------------- episodes
def test_one_alert_per_episode_with_updates_when_it_grows(alert_store: AlertStore) -> None:
    add_rule(alert_store, _rule(channels=(EMAIL,)))
    spot = Spot()

    (new,) = evaluate_alerts(alert_store, [spot], T0)
    assert (new.kind, new.deliveries) == ("new", 1)

    # Still there, same size, or smaller: silence.
    for hours, same in ((1, spot), (2, replace(spot, count=5)), (3, spot)):
        assert evaluate_alerts(alert_store, [same], T0 + timedelta(hours=hours)) == []

    (grew,) = evaluate_alerts(alert_store, [replace(spot, count=9)], T0 + timedelta(hours=4))
    assert (grew.kind, grew.alert_id, grew.previous_count, grew.count) == ("update", new.alert_id,
                                                                          6, 9)
    (worse,) = evaluate_alerts(
        alert_store, [replace(spot, count=9, severity="high")], T0 + timedelta(hours=5)
    )
    assert (worse.kind, worse.previous_severity, worse.severity) == ("update", "medium", "high")

    alert = alert_store.get_alert(new.alert_id)
    assert alert is not None and (alert["revision"], alert["count"]) == (3, 9)
    events = [(d["event"], d["revision"]) for d in alert_store.list_deliveries()]
    assert events == [("new", 1), ("update", 2), ("update", 3)]
    assert len(alert_store.list_alerts()) == 1


def test_episode_closes_after_absence_and_a_return_is_a_new_alert(
    alert_store: AlertStore,
) -> None:
    add_rule(alert_store, _rule())
    (first,) = evaluate_alerts(alert_store, [Spot()], T0)
    # Gone, but not for long enough: the episode is still tracked and a return is silent.
    assert evaluate_alerts(alert_store, [], T0 + timedelta(days=3)) == []
    assert evaluate_alerts(alert_store, [Spot()], T0 + timedelta(days=4)) == []

    (closed,) = evaluate_alerts(alert_store, [], T0 + timedelta(days=11),
                                close_after=timedelta(days=7))
    assert (closed.kind, closed.alert_id) == ("closed", first.alert_id)
    alert = alert_store.get_alert(first.alert_id)
    assert alert is not None and alert["status"] == "closed" and alert["closed_at"] is not None

    (again,) = evaluate_alerts(alert_store, [Spot()], T0 + timedelta(days=12))
    assert again.kind == "new" and again.alert_id != first.alert_id


def test_each_place_and_topic_is_its_own_episode(alert_store: AlertStore) -> None:
    add_rule(alert_store, _rule())
    spots = [Spot(), Spot(topic="environment"), Spot(area="thôn Hà Lợi"),
             replace(Spot(), count=4, window_start=date(2025, 5, 1))]  # same episode, weaker
    changes = evaluate_alerts(alert_store, spots, T0)
    assert sorted((c.topic, c.area, c.count) for c in changes) == [
        ("environment", "thôn Gio Mỹ", 6), ("land", "thôn Gio Mỹ", 6), ("land", "thôn Hà Lợi", 6),
    ]


def test_only_hot_spots_within_some_rule_raise_alerts(alert_store: AlertStore) -> None:
    add_rule(alert_store, _rule(topics=("land",), areas=("Gio Mỹ",), min_severity="medium",
                                channels=(EMAIL,)))
    add_rule(alert_store, _rule("Tắt", enabled=False, channels=(EMAIL,)))
    spots = [Spot(), Spot(severity="low", area="thôn Gio Mỹ 2"), Spot(topic="policy"),
             Spot(area="thôn Gio Mai")]
    (change,) = evaluate_alerts(alert_store, spots, T0)
    assert (change.area, change.topic, change.deliveries) == ("thôn Gio Mỹ", "land", 1)


def test_two_rules_with_the_same_receiver_send_once(alert_store: AlertStore) -> None:
    add_rule(alert_store, _rule("A", channels=(EMAIL,)))
    add_rule(alert_store, _rule("B", topics=("land",), channels=(EMAIL,)))
    (change,) = evaluate_alerts(alert_store, [Spot()], T0)
    assert change.deliveries == 1


def test_a_rule_added_while_a_hot_spot_is_open_alerts_for_it(alert_store: AlertStore) -> None:
    add_rule(alert_store, _rule("Đất đai", channels=(EMAIL,)))
    (opened,) = evaluate_alerts(alert_store, [Spot()], T0)
    assert evaluate_alerts(alert_store, [Spot()], T0 + timedelta(hours=1)) == []

    district = EmailChannel(("phong.tnmt@huyen.example.vn",))
    add_rule(alert_store, _rule("Huyện theo dõi đất đai", topics=("land",),
                                channels=(district, EMAIL)))
    (told,) = evaluate_alerts(alert_store, [Spot()], T0 + timedelta(hours=2))
    assert (told.kind, told.alert_id, told.deliveries) == ("notify", opened.alert_id, 1)
    targets = [(d["target"], d["event"]) for d in alert_store.list_deliveries()]
    assert targets == [("canbo.xa@example.vn", "new"), ("phong.tnmt@huyen.example.vn", "new")]
    # Told once: the next evaluations of the same episode stay silent.
    assert evaluate_alerts(alert_store, [Spot()], T0 + timedelta(hours=3)) == []


def test_a_new_rule_does_not_reopen_a_resolved_episode(alert_store: AlertStore) -> None:
    add_rule(alert_store, _rule("Đất đai", channels=(EMAIL,)))
    (opened,) = evaluate_alerts(alert_store, [Spot()], T0)
    resolve_alert(alert_store, opened.alert_id, "canbo", "đã xử lý", now=T0)
    add_rule(alert_store, _rule("Huyện", channels=(EmailChannel(("huyen@example.vn",)),)))
    assert evaluate_alerts(alert_store, [Spot()], T0 + timedelta(hours=1)) == []


def test_acknowledge_and_resolve(alert_store: AlertStore) -> None:
    add_rule(alert_store, _rule())
    (new,) = evaluate_alerts(alert_store, [Spot()], T0)

    acked = ack_alert(alert_store, new.alert_id, "cán bộ Lan", "Đã giao tổ công tác", now=T0)
    assert (acked["status"], acked["acked_by"], acked["ack_note"]) == (
        "acknowledged", "cán bộ Lan", "Đã giao tổ công tác")
    with pytest.raises(AlertStateError, match="đã tiếp nhận"):
        ack_alert(alert_store, new.alert_id, "cán bộ Lan")
    with pytest.raises(AlertStateError, match="người thực hiện"):
        resolve_alert(alert_store, new.alert_id, "  ")

    resolved = resolve_alert(alert_store, new.alert_id, "cán bộ Lan", "Đã đối thoại với các hộ")
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "cán bộ Lan")
    with pytest.raises(AlertStateError, match="đã giải quyết"):
        resolve_alert(alert_store, new.alert_id, "cán bộ Lan")
    with pytest.raises(AlertNotFound, match="số 999"):
        ack_alert(alert_store, 999, "cán bộ Lan")


def test_resolved_episode_is_silent_until_it_grows(alert_store: AlertStore) -> None:
    add_rule(alert_store, _rule(channels=(EMAIL,)))
    (new,) = evaluate_alerts(alert_store, [Spot()], T0)
    resolve_alert(alert_store, new.alert_id, "cán bộ Minh")
    assert evaluate_alerts(alert_store, [Spot()], T0 + timedelta(hours=6)) == []

    (reopened,) = evaluate_alerts(alert_store, [Spot(count=10)], T0 + timedelta(days=1))
    assert reopened.kind == "new" and reopened.alert_id != new.alert_id
    old = alert_store.get_alert(new.alert_id)
    assert old is not None and old["status"] == "resolved" and old["closed_at"] is not None
    assert [a["id"] for a in alert_store.tracked_alerts()] == [reopened.alert_id]


# ---------------------------------------------------------------------- delivery
def test_email_goes_to_a_real_smtp_server(
    alert_store: AlertStore, mail: tuple[MailSink, SmtpSettings],
) -> None:
    sink, smtp = mail
    channel = EmailChannel(("canbo.xa@example.vn", "vanphong@example.vn"))
    add_rule(alert_store, _rule(channels=(channel,)))
    (new,) = evaluate_alerts(alert_store, [Spot(severity="high", count=12, expected=2.5)], T0)

    report = deliver_pending(alert_store, T0, smtp_settings=smtp, base_url=BASE_URL)
    assert (report.sent, report.failed, report.retrying) == (1, 0, 0)
    (message,) = sink.messages
    assert sink.recipients == [["canbo.xa@example.vn", "vanphong@example.vn"]]
    assert message["Subject"] == "[Tâm tư] Điểm nóng mức cao: Đất đai tại thôn Gio Mỹ"
    body = message.get_content()
    assert Spot().explanation in body
    assert "Số đơn thư trong kỳ: 12" in body and "2,5" in body
    assert "từ 01/06/2025 đến 14/06/2025" in body
    assert f"{BASE_URL}/api/v1/hotspots?as_of=2025-06-14" in body
    assert f"{BASE_URL}/api/v1/petitions?topic=land&area=th%C3%B4n+Gio+M%E1%BB%B9" in body
    assert "3, 5, 8, 13, 21, 34" in body
    assert f"Mã cảnh báo: {new.alert_id}" in body

    (delivery,) = alert_store.list_deliveries()
    assert (delivery["status"], delivery["attempts"], delivery["sent_at"]) == ("sent", 1, T0)
    again = deliver_pending(alert_store, T0 + timedelta(hours=1), smtp_settings=smtp,
                            base_url=BASE_URL)
    assert again.sent == 0 and len(sink.messages) == 1


def test_update_email_says_what_changed(
    alert_store: AlertStore, mail: tuple[MailSink, SmtpSettings],
) -> None:
    sink, smtp = mail
    add_rule(alert_store, _rule(channels=(EMAIL,)))
    evaluate_alerts(alert_store, [Spot()], T0)
    evaluate_alerts(alert_store, [Spot(count=9, severity="high")], T0 + timedelta(hours=1))
    deliver_pending(alert_store, T0 + timedelta(hours=1), smtp_settings=smtp, base_url=BASE_URL)
    subjects = [m["Subject"] for m in sink.messages]
    assert subjects == [
        "[Tâm tư] Điểm nóng mức trung bình: Đất đai tại thôn Gio Mỹ",
        "[Tâm tư] Cập nhật điểm nóng mức cao: Đất đai tại thôn Gio Mỹ",
    ]
    body = sink.messages[1].get_content()
    assert "Mức độ: cao (trước đó: trung bình)" in body
    assert "Số đơn thư trong kỳ: 9 (trước đó: 6)" in body


def test_signed_webhook_reaches_a_real_receiver(
    alert_store: AlertStore, receiver: WebhookReceiver,
) -> None:
    port = receiver.start()
    add_rule(alert_store, _rule(channels=(WebhookChannel(f"http://127.0.0.1:{port}/hook",
                                                         SECRET),)))
    (new,) = evaluate_alerts(alert_store, [Spot()], T0)
    report = deliver_pending(alert_store, T0, smtp_settings=None, base_url=BASE_URL)
    assert report.sent == 1 and receiver.rejected == 0
    (body,) = receiver.bodies
    assert (body["event"], body["alert_id"], body["revision"]) == ("alert.new", new.alert_id, 1)
    assert body["alert"]["topic_name"] == "Đất đai"
    assert body["alert"]["petition_ids"] == [3, 5, 8, 13, 21, 34]
    assert body["links"]["hotspots"] == f"{BASE_URL}/api/v1/hotspots?as_of=2025-06-14"
    # Aggregates and ids only: nothing that could carry petition text or a person's details.
    assert set(body["alert"]) == {
        "area", "topic", "topic_name", "severity", "severity_name", "count", "expected",
        "score", "window_start", "window_end", "explanation", "petition_ids",
    }


def test_wrong_secret_is_a_permanent_failure(
    alert_store: AlertStore, receiver: WebhookReceiver,
) -> None:
    port = receiver.start()
    add_rule(alert_store, _rule(channels=(WebhookChannel(f"http://127.0.0.1:{port}/hook",
                                                         "bí mật khác"),)))
    evaluate_alerts(alert_store, [Spot()], T0)
    report = deliver_pending(alert_store, T0, smtp_settings=None, base_url=BASE_URL)
    assert (report.sent, report.failed, receiver.rejected) == (0, 1, 1)
    (delivery,) = alert_store.list_deliveries()
    assert delivery["status"] == "failed" and "401" in delivery["last_error"]


@pytest.mark.fault
def test_receiver_that_is_down_gets_the_alert_later_exactly_once(
    alert_store: AlertStore, receiver: WebhookReceiver,
) -> None:
    port = _free_port()  # nothing listens here yet
    add_rule(alert_store, _rule(channels=(WebhookChannel(f"http://127.0.0.1:{port}/hook",
                                                         SECRET),)))
    evaluate_alerts(alert_store, [Spot()], T0)

    down = deliver_pending(alert_store, T0, smtp_settings=None, base_url=BASE_URL)
    assert (down.sent, down.retrying, down.failed) == (0, 1, 0)
    (delivery,) = alert_store.list_deliveries()
    assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
    assert delivery["next_attempt_at"] == T0 + retry_delay(1)
    assert delivery["last_error"]

    # Not yet due: nothing is tried.
    early = deliver_pending(alert_store, T0 + timedelta(seconds=30), smtp_settings=None,
                            base_url=BASE_URL)
    assert (early.sent, early.retrying) == (0, 0)

    receiver.start(port)
    later = T0 + retry_delay(1)
    back = deliver_pending(alert_store, later, smtp_settings=None, base_url=BASE_URL)
    assert back.sent == 1
    deliver_pending(alert_store, later + timedelta(days=1), smtp_settings=None, base_url=BASE_URL)
    assert len(receiver.bodies) == 1
    (delivery,) = alert_store.list_deliveries()
    assert (delivery["status"], delivery["attempts"], delivery["sent_at"]) == ("sent", 2, later)


@pytest.mark.fault
def test_mail_server_that_is_down_gets_the_alert_later_exactly_once(
    alert_store: AlertStore,
) -> None:
    port = _free_port()  # nothing listens here yet
    smtp = SmtpSettings(host="127.0.0.1", port=port, sender="tamtu@ubnd-xa.example.vn",
                        starttls=False)
    add_rule(alert_store, _rule(channels=(EMAIL,)))
    evaluate_alerts(alert_store, [Spot()], T0)

    down = deliver_pending(alert_store, T0, smtp_settings=smtp, base_url=BASE_URL)
    assert (down.sent, down.retrying, down.failed) == (0, 1, 0)
    (delivery,) = alert_store.list_deliveries()
    assert (delivery["status"], delivery["attempts"]) == ("pending", 1)

    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        later = T0 + retry_delay(1)
        back = deliver_pending(alert_store, later, smtp_settings=smtp, base_url=BASE_URL)
        assert back.sent == 1
        deliver_pending(alert_store, later + timedelta(days=1), smtp_settings=smtp,
                        base_url=BASE_URL)
    finally:
        controller.stop()
    assert len(sink.messages) == 1 and sink.recipients == [["canbo.xa@example.vn"]]
    (delivery,) = alert_store.list_deliveries()
    assert (delivery["status"], delivery["attempts"], delivery["sent_at"]) == ("sent", 2, later)


def test_email_without_smtp_settings_waits_in_the_queue(alert_store: AlertStore) -> None:
    add_rule(alert_store, _rule(channels=(EMAIL,)))
    evaluate_alerts(alert_store, [Spot()], T0)
    report = deliver_pending(alert_store, T0, smtp_settings=None, base_url=BASE_URL)
    assert report.retrying == 1 and "SMTP" in report.errors[0]
    (delivery,) = alert_store.list_deliveries()
    assert delivery["status"] == "pending" and delivery["next_attempt_at"] > T0


def test_gives_up_after_the_last_attempt(alert_store: AlertStore) -> None:
    add_rule(alert_store, _rule(channels=(EMAIL,)))
    evaluate_alerts(alert_store, [Spot()], T0)
    now = T0
    outcomes = []
    for _ in range(3):
        report = deliver_pending(alert_store, now, smtp_settings=None, base_url=BASE_URL,
                                 max_attempts=3)
        outcomes.append((report.retrying, report.failed))
        now += timedelta(days=1)
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    (delivery,) = alert_store.list_deliveries()
    assert (delivery["status"], delivery["attempts"]) == ("failed", 3)
    assert alert_store.retry_delivery(delivery["id"], now)
    assert alert_store.list_deliveries()[0]["status"] == "pending"


def test_quiet_hours_defer_all_but_high_alerts(
    alert_store: AlertStore, mail: tuple[MailSink, SmtpSettings],
) -> None:
    sink, smtp = mail
    add_rule(alert_store, _rule(channels=(EMAIL,), quiet_hours=QuietHours(time(22), time(6))))
    night = datetime(2025, 6, 14, 16, 30)  # 23:30 in Hà Nội
    evaluate_alerts(alert_store, [Spot(), Spot(area="thôn Hà Lợi", severity="high")], night)

    report = deliver_pending(alert_store, night, smtp_settings=smtp, base_url=BASE_URL)
    assert (report.sent, report.deferred) == (1, 1)
    assert [m["Subject"] for m in sink.messages] == [
        "[Tâm tư] Điểm nóng mức cao: Đất đai tại thôn Hà Lợi"]
    held = next(d for d in alert_store.list_deliveries() if d["status"] == "pending")
    # Held until 06:00 local on the next morning, which is 23:00 UTC, with no attempt used.
    assert (held["next_attempt_at"], held["attempts"]) == (datetime(2025, 6, 14, 23, 0), 0)

    morning = deliver_pending(alert_store, datetime(2025, 6, 14, 23, 0, tzinfo=UTC),
                              smtp_settings=smtp, base_url=BASE_URL)
    assert morning.sent == 1 and len(sink.messages) == 2
    assert "mức trung bình" in sink.messages[1]["Subject"]


# ---------------------------------------------------------------------- small pieces
@pytest.mark.parametrize(("span", "clock", "inside"), [
    ("22:00-06:00", time(23, 30), True),
    ("22:00-06:00", time(0, 15), True),
    ("22:00-06:00", time(6, 0), False),
    ("22:00-06:00", time(21, 59), False),
    ("12:00-13:30", time(12, 45), True),
    ("12:00-13:30", time(13, 30), False),
])
def test_quiet_hours_span(span: str, clock: time, inside: bool) -> None:
    quiet = parse_quiet_hours(span)
    assert quiet is not None
    assert quiet.contains(datetime.combine(date(2025, 6, 14), clock)) is inside


@given(
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    end=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    moment=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31)),
)
def test_quiet_hours_end_is_the_first_moment_outside(start: time, end: time,
                                                     moment: datetime) -> None:
    assume(start != end)
    quiet = QuietHours(start, end)
    assume(quiet.contains(moment))
    resume = quiet.ends_after(moment)
    assert moment < resume <= moment + timedelta(days=1)
    assert not quiet.contains(resume)
    assert quiet.contains(max(moment, resume - timedelta(minutes=1)))


@pytest.mark.parametrize(("attempts", "delay"), [
    (1, timedelta(minutes=1)),
    (2, timedelta(minutes=2)),
    (5, timedelta(minutes=16)),
    (30, timedelta(hours=6)),
])
def test_retry_delay_doubles_up_to_a_cap(attempts: int, delay: timedelta) -> None:
    assert retry_delay(attempts) == delay
