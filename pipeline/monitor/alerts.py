"""Alert rules, one alert per hot-spot episode, and delivery by signed webhook and e-mail.

Flow: `evaluate_alerts` compares the current hot spots with the tracked episodes and queues
deliveries (rows in `alert_deliveries`); `deliver_pending` sends what is due. A receiver that is
down never loses an alert: the row stays `pending` with a later `next_attempt_at`.

Alerts carry only what a hot spot carries (explanation, counts, window, petition ids): never the
text of a petition nor anything about the people who wrote it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import smtplib
import ssl
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import yaml

from pipeline.store import AlertStore
from pipeline.store.cases import alert_event
from pipeline.text.redact import redact

if TYPE_CHECKING:
    import httpx

SEVERITIES = ("low", "medium", "high")
SEVERITY_NAMES = {"low": "thấp", "medium": "trung bình", "high": "cao"}
STATUS_NAMES = {
    "open": "mới",
    "acknowledged": "đã tiếp nhận",
    "resolved": "đã giải quyết",
    "closed": "đã kết thúc",
}
LOCAL_TIMEZONE = "Asia/Ho_Chi_Minh"
SIGNATURE_HEADER = "X-Tamtu-Signature"
CLOSE_AFTER = timedelta(days=7)
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=6)
MAX_ATTEMPTS = 12
PETITION_IDS_IN_EMAIL = 30

_RANK = {code: rank for rank, code in enumerate(SEVERITIES)}
_QUIET_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_RULE_KEYS = {"id", "name", "enabled", "topics", "area", "areas", "min_severity", "channels",
              "quiet_hours", "created_at", "updated_at"}


class RuleError(ValueError):
    """An alert rule is malformed; the message names the field and the reason."""


class AlertNotFound(LookupError):
    """No alert has the given id."""


class AlertStateError(ValueError):
    """The alert's status does not allow the requested change."""


class DeliveryError(RuntimeError):
    """A send failed in a way that may succeed later (receiver down, timeout, 5xx, 4xx SMTP)."""


class PermanentDeliveryError(DeliveryError):
    """A send failed in a way that retrying cannot fix (rejected request, rule gone)."""


class HotspotLike(Protocol):
    """The fields of a hot spot that alerts read (monitor.hotspots.Hotspot satisfies it)."""

    @property
    def area(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def window_start(self) -> date: ...
    @property
    def window_end(self) -> date: ...
    @property
    def count(self) -> int: ...
    @property
    def expected(self) -> float: ...
    @property
    def score(self) -> float: ...
    @property
    def severity(self) -> str: ...
    @property
    def explanation(self) -> str: ...
    @property
    def petition_ids(self) -> Sequence[int]: ...


# ---------------------------------------------------------------------- rules
@dataclass(frozen=True)
class WebhookChannel:
    """A JSON POST to `url`, signed with HMAC-SHA256 of the body under `secret`."""

    url: str
    secret: str = field(repr=False)

    @property
    def target(self) -> str:
        """Return where this channel sends (the URL)."""
        return self.url

    def as_dict(self) -> dict[str, Any]:
        """Return the channel as stored in the rule."""
        return {"type": "webhook", "url": self.url, "secret": self.secret}


@dataclass(frozen=True)
class EmailChannel:
    """An e-mail to every address in `to`."""

    to: tuple[str, ...]

    @property
    def target(self) -> str:
        """Return where this channel sends (the addresses, comma separated)."""
        return ", ".join(self.to)

    def as_dict(self) -> dict[str, Any]:
        """Return the channel as stored in the rule."""
        return {"type": "email", "to": list(self.to)}


Channel = WebhookChannel | EmailChannel


@dataclass(frozen=True)
class QuietHours:
    """A daily local-time span (may cross midnight) during which only high alerts go out."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: datetime) -> bool:
        """Return True when the local time of day falls inside the span."""
        moment = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def ends_after(self, local: datetime) -> datetime:
        """Return the local moment the span containing `local` ends."""
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return end if end > local else end + timedelta(days=1)


@dataclass(frozen=True)
class AlertRule:
    """Who hears about which hot spots: topic and area scope, minimum severity, channels."""

    name: str
    topics: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    min_severity: str = "low"
    channels: tuple[Channel, ...] = ()
    quiet_hours: QuietHours | None = None
    enabled: bool = True
    id: int | None = None

    def matches(self, hotspot: HotspotLike) -> bool:
        """Return True when the rule is enabled and the hot spot is inside its scope."""
        if not self.enabled:
            return False
        if self.topics and hotspot.topic not in self.topics:
            return False
        if self.areas:
            area = _fold(hotspot.area)
            if not any(_fold(scope) in area for scope in self.areas):
                return False
        return severity_rank(hotspot.severity) >= severity_rank(self.min_severity)

    def as_row(self) -> dict[str, Any]:
        """Return the columns of table alert_rules (without id and timestamps)."""
        return {
            "name": self.name,
            "enabled": self.enabled,
            "topics": list(self.topics),
            "areas": list(self.areas),
            "min_severity": self.min_severity,
            "channels": [c.as_dict() for c in self.channels],
            "quiet_hours": str(self.quiet_hours) if self.quiet_hours else None,
        }


def severity_rank(severity: str) -> int:
    """Return 0, 1, 2 for low, medium, high."""
    try:
        return _RANK[severity]
    except KeyError:
        raise ValueError(
            f"Mức độ '{severity}' không hợp lệ; dùng một trong: {', '.join(SEVERITIES)}"
        ) from None


def parse_quiet_hours(value: str | None) -> QuietHours | None:
    """Return the span written as "HH:MM-HH:MM" (local time), or None when empty."""
    if value is None or not str(value).strip():
        return None
    match = _QUIET_RE.match(str(value))
    if not match:
        raise RuleError(f"quiet_hours '{value}' phải có dạng HH:MM-HH:MM, ví dụ 22:00-06:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        span = QuietHours(time(h1, m1), time(h2, m2))
    except ValueError:
        raise RuleError(f"quiet_hours '{value}' có giờ hoặc phút không tồn tại") from None
    if span.start == span.end:
        raise RuleError(f"quiet_hours '{value}': giờ bắt đầu và giờ kết thúc trùng nhau")
    return span


def parse_rule(
    data: Mapping[str, Any], *, known_topics: Collection[str] | None = None
) -> AlertRule:
    """Return the rule described by a mapping (YAML entry, API body or database row)."""
    unknown = set(data) - _RULE_KEYS
    if unknown:
        raise RuleError(f"Quy tắc có khóa không hợp lệ: {', '.join(sorted(unknown))}")
    name = str(data.get("name") or "").strip()
    if not name:
        raise RuleError("Quy tắc cần có tên (name)")
    topics = _string_list(data.get("topics"), "topics", name)
    if known_topics is not None:
        wrong = [t for t in topics if t not in known_topics]
        if wrong:
            raise RuleError(
                f"Quy tắc '{name}': lĩnh vực không có trong danh mục: {', '.join(wrong)}"
            )
    areas = _string_list(data.get("areas"), "areas", name) + _string_list(
        data.get("area"), "area", name
    )
    min_severity = str(data.get("min_severity") or "low")
    if min_severity not in _RANK:
        raise RuleError(
            f"Quy tắc '{name}': min_severity '{min_severity}' phải là low, medium hoặc high"
        )
    channels = data.get("channels") or []
    if not isinstance(channels, list):
        raise RuleError(f"Quy tắc '{name}': channels phải là một danh sách")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RuleError(f"Quy tắc '{name}': enabled phải là true hoặc false")
    try:
        quiet = parse_quiet_hours(data.get("quiet_hours"))
    except RuleError as error:
        raise RuleError(f"Quy tắc '{name}': {error}") from None
    rule_id = data.get("id")
    return AlertRule(
        name=name,
        topics=tuple(topics),
        areas=tuple(areas),
        min_severity=min_severity,
        channels=tuple(_parse_channel(c, name) for c in channels),
        quiet_hours=quiet,
        enabled=enabled,
        id=int(rule_id) if rule_id is not None else None,
    )


def _string_list(value: Any, key: str, rule: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"Quy tắc '{rule}': {key} phải là chuỗi hoặc danh sách chuỗi")
    return [v.strip() for v in value if v.strip()]


def _parse_channel(raw: Any, rule: str) -> Channel:
    if not isinstance(raw, Mapping):
        raise RuleError(f"Quy tắc '{rule}': mỗi kênh phải có dạng {{type: ..., ...}}")
    kind = raw.get("type")
    if kind == "webhook":
        url = str(raw.get("url") or "").strip()
        secret = str(raw.get("secret") or "")
        if not url.startswith(("http://", "https://")):
            raise RuleError(f"Quy tắc '{rule}': webhook cần url bắt đầu bằng http:// hoặc https://")
        if not secret:
            raise RuleError(f"Quy tắc '{rule}': webhook cần secret để ký nội dung gửi đi")
        return WebhookChannel(url, secret)
    if kind == "email":
        to = raw.get("to")
        addresses = [to] if isinstance(to, str) else to
        if not addresses or not all(isinstance(a, str) and "@" in a for a in addresses):
            raise RuleError(f"Quy tắc '{rule}': email cần danh sách địa chỉ hợp lệ ở 'to'")
        return EmailChannel(tuple(a.strip() for a in addresses))
    raise RuleError(f"Quy tắc '{rule}': loại kênh '{kind}' không hỗ trợ (webhook hoặc email)")


def load_rules_file(path: Path, *, known_topics: Collection[str] | None = None) -> list[AlertRule]:
    """Return the rules in a YAML file (see data/alert-rules.yaml for the format).

    Topic codes are checked against `known_topics`, by default the configured taxonomy.
    """
    if known_topics is None:
        from pipeline.taxonomy import default_taxonomy

        taxonomy = default_taxonomy()
        known_topics = (*taxonomy.codes, taxonomy.other.code)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, Mapping) or not isinstance(raw.get("rules", []), list):
        raise RuleError(f"{path.name}: tệp cần có khóa 'rules' chứa danh sách quy tắc")
    rules = [parse_rule(entry, known_topics=known_topics) for entry in raw.get("rules") or []]
    names = [r.name for r in rules]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise RuleError(f"{path.name}: tên quy tắc bị trùng: {', '.join(repeated)}")
    return rules


@dataclass(frozen=True)
class RuleSyncReport:
    """How many rules a file added and how many it replaced (matched by name)."""

    created: int
    updated: int


def install_rules(alert_store: AlertStore, rules: Iterable[AlertRule]) -> RuleSyncReport:
    """Return the counts after writing rules to the database, replacing rules of the same name."""
    created = updated = 0
    for rule in rules:
        existing = alert_store.get_rule_by_name(rule.name)
        if existing is None:
            alert_store.create_rule(rule.as_row())
            created += 1
        else:
            alert_store.update_rule(existing["id"], rule.as_row())
            updated += 1
    return RuleSyncReport(created, updated)


def add_rule(alert_store: AlertStore, rule: AlertRule) -> AlertRule:
    """Return the rule as stored (with its id); a rule of the same name must not exist."""
    if alert_store.get_rule_by_name(rule.name) is not None:
        raise RuleError(f"Đã có quy tắc tên '{rule.name}'")
    rule_id = alert_store.create_rule(rule.as_row())
    return rule_from_row(_found(alert_store.get_rule(rule_id), rule_id))


def rule_from_row(row: Mapping[str, Any]) -> AlertRule:
    """Return the rule stored in an alert_rules row."""
    return parse_rule(row)


def _found(row: dict[str, Any] | None, alert_or_rule_id: int) -> dict[str, Any]:
    if row is None:
        raise AlertNotFound(f"Không tìm thấy mục số {alert_or_rule_id}")
    return row


# ---------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class AlertChange:
    """What one evaluation did to one episode: kind is "new", "update", "notify" or "closed".

    "notify": an episode already open, told to the receivers of a rule added since.
    """

    kind: str
    alert_id: int
    topic: str
    area: str
    severity: str
    count: int
    previous_severity: str | None = None
    previous_count: int | None = None
    deliveries: int = 0


def evaluate_alerts(
    alert_store: AlertStore,
    hotspots: Iterable[HotspotLike],
    now: datetime,
    *,
    close_after: timedelta = CLOSE_AFTER,
    topic_names: Mapping[str, str] | None = None,
) -> list[AlertChange]:
    """Return the alert changes made for the current hot spots (pass the complete list).

    One episode per (topic, area). A new episode opens when a hot spot matches an enabled rule
    and none is tracked; while it persists nothing is sent unless it grows (count or severity up:
    an "update"). An episode closes when its hot spot has been absent for `close_after`. A
    resolved episode stays silent while its hot spot lasts, and a new one opens only if the hot
    spot grows past what was resolved or comes back after closing.
    """
    now = _utc_naive(now)
    names = dict(topic_names) if topic_names is not None else _default_topic_names()
    rules = [rule_from_row(row) for row in alert_store.list_rules(enabled_only=True)]
    tracked = {(a["topic"], a["area"]): a for a in alert_store.tracked_alerts()}
    notified = alert_store.notified_targets([a["id"] for a in tracked.values()])
    changes: list[AlertChange] = []
    still_present: list[int] = []
    for spot in _strongest_per_episode(hotspots):
        current = tracked.pop((spot.topic, spot.area), None)
        matching = [rule for rule in rules if rule.matches(spot)]
        if current is None or (current["status"] == "resolved" and _grew(current, spot)):
            if not matching:
                if current is not None:
                    still_present.append(current["id"])
                continue
            superseded = current["id"] if current is not None else None
            change = _open(alert_store, spot, matching, names, now, superseded)
            if change is not None:
                changes.append(change)
        elif current["status"] != "resolved" and _grew(current, spot):
            changes.append(_update(alert_store, current, spot, matching, names, now))
        else:
            still_present.append(current["id"])
            if current["status"] != "resolved":
                late = _late_deliveries(alert_store, current, spot, matching, names, now,
                                        notified.get(current["id"], set()))
                if late is not None:
                    changes.append(late)
    alert_store.mark_seen(still_present, now)
    for alert in tracked.values():
        if now - alert["last_seen_at"] >= close_after:
            alert_store.close_alert(alert["id"], now)
            changes.append(AlertChange(
                kind="closed", alert_id=alert["id"], topic=alert["topic"], area=alert["area"],
                severity=alert["severity"], count=alert["count"],
            ))
    return changes


def _strongest_per_episode(hotspots: Iterable[HotspotLike]) -> list[HotspotLike]:
    # Several windows may flag the same place and topic; the episode follows the strongest.
    best: dict[tuple[str, str], HotspotLike] = {}
    for spot in hotspots:
        key = (spot.topic, spot.area)
        held = best.get(key)
        if held is None or (severity_rank(spot.severity), spot.count) > (
            severity_rank(held.severity), held.count
        ):
            best[key] = spot
    return list(best.values())


def _grew(alert: Mapping[str, Any], spot: HotspotLike) -> bool:
    return spot.count > alert["count"] or severity_rank(spot.severity) > severity_rank(
        alert["severity"]
    )


def _snapshot(spot: HotspotLike) -> dict[str, Any]:
    return {
        "area": spot.area,
        "topic": spot.topic,
        "severity": spot.severity,
        "count": int(spot.count),
        "expected": float(spot.expected),
        "score": float(spot.score),
        "window_start": spot.window_start,
        "window_end": spot.window_end,
        # Explanations hold no petition text, but redact anyway: alerts leave the system.
        "explanation": redact(spot.explanation),
        "petition_ids": [int(i) for i in spot.petition_ids],
    }


def _payload(
    spot: HotspotLike, names: Mapping[str, str], previous: Mapping[str, Any] | None
) -> dict[str, Any]:
    snap = _snapshot(spot)
    payload = {
        **snap,
        "topic_name": names.get(spot.topic, spot.topic),
        "severity_name": SEVERITY_NAMES[spot.severity],
        "window_start": spot.window_start.isoformat(),
        "window_end": spot.window_end.isoformat(),
    }
    if previous is not None:
        payload["previous"] = {"count": previous["count"], "severity": previous["severity"]}
    return payload


def _deliveries(
    rules: Sequence[AlertRule], event: str, revision: int, payload: Mapping[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for rule in rules:
        for channel in rule.channels:
            kind = "webhook" if isinstance(channel, WebhookChannel) else "email"
            # Two rules naming the same receiver must not make it hear the news twice.
            if (kind, channel.target) in seen:
                continue
            seen.add((kind, channel.target))
            rows.append({
                "rule_id": rule.id, "event": event, "revision": revision,
                "severity": payload["severity"], "channel": kind, "target": channel.target,
                "payload": dict(payload), "status": "pending", "attempts": 0,
                "next_attempt_at": now, "created_at": now,
            })
    return rows


def _open(
    alert_store: AlertStore, spot: HotspotLike, rules: Sequence[AlertRule],
    names: Mapping[str, str], now: datetime, superseded: int | None,
) -> AlertChange | None:
    payload = _payload(spot, names, None)
    deliveries = _deliveries(rules, "new", 1, payload, now)
    values = {**_snapshot(spot), "status": "open", "revision": 1, "opened_at": now,
              "updated_at": now, "last_seen_at": now}
    alert_id = alert_store.open_alert(values, deliveries, supersedes=superseded)
    if alert_id is None:
        return None
    return AlertChange(kind="new", alert_id=alert_id, topic=spot.topic, area=spot.area,
                       severity=spot.severity, count=spot.count, deliveries=len(deliveries))


def _late_deliveries(
    alert_store: AlertStore, alert: Mapping[str, Any], spot: HotspotLike,
    rules: Sequence[AlertRule], names: Mapping[str, str], now: datetime,
    notified: set[tuple[str, str]],
) -> AlertChange | None:
    """Tell the receivers of rules added while the episode was open; None when none is new."""
    payload = _payload(spot, names, None)
    rows = [row for row in _deliveries(rules, "new", int(alert["revision"]), payload, now)
            if (row["channel"], row["target"]) not in notified]
    if not rows:
        return None
    alert_store.queue_deliveries(alert["id"], rows)
    return AlertChange(kind="notify", alert_id=alert["id"], topic=spot.topic, area=spot.area,
                       severity=spot.severity, count=spot.count, deliveries=len(rows))


def _update(
    alert_store: AlertStore, alert: Mapping[str, Any], spot: HotspotLike,
    rules: Sequence[AlertRule], names: Mapping[str, str], now: datetime,
) -> AlertChange:
    revision = int(alert["revision"]) + 1
    payload = _payload(spot, names, alert)
    deliveries = _deliveries(rules, "update", revision, payload, now)
    values = {**_snapshot(spot), "revision": revision, "updated_at": now, "last_seen_at": now}
    alert_store.update_alert(alert["id"], values, deliveries)
    return AlertChange(
        kind="update", alert_id=alert["id"], topic=spot.topic, area=spot.area,
        severity=spot.severity, count=spot.count, previous_severity=alert["severity"],
        previous_count=alert["count"], deliveries=len(deliveries),
    )


def _default_topic_names() -> dict[str, str]:
    from pipeline.taxonomy import topic_names

    return topic_names()


# ---------------------------------------------------------------------- acknowledge, resolve
def ack_alert(
    alert_store: AlertStore, alert_id: int, user: str, note: str | None = None,
    *, now: datetime | None = None,
) -> dict[str, Any]:
    """Return the alert after marking it acknowledged (taken in hand) by `user`."""
    alert = _transition(alert_store, alert_id, ("open",), "xác nhận", {
        "status": "acknowledged", "acked_at": _utc_naive(now), "acked_by": _user(user),
        "ack_note": note,
    })
    alert_event(alert_store.engine, alert_id, user, "ack", note=note,
                changes={"status": ["open", "acknowledged"]}, now=alert["updated_at"])
    return alert


def resolve_alert(
    alert_store: AlertStore, alert_id: int, user: str, note: str | None = None,
    *, now: datetime | None = None,
) -> dict[str, Any]:
    """Return the alert after marking it resolved by `user` (its episode goes silent)."""
    existing = alert_store.get_alert(alert_id)
    before = existing["status"] if existing else None
    alert = _transition(alert_store, alert_id, ("open", "acknowledged", "closed"), "giải quyết", {
        "status": "resolved", "resolved_at": _utc_naive(now), "resolved_by": _user(user),
        "resolve_note": note,
    })
    alert_event(alert_store.engine, alert_id, user, "resolve", note=note,
                changes={"status": [before, "resolved"]}, now=alert["updated_at"])
    return alert


def _user(user: str) -> str:
    if not user or not user.strip():
        raise AlertStateError("Cần ghi rõ người thực hiện")
    return user.strip()


def _transition(
    alert_store: AlertStore, alert_id: int, allowed: Sequence[str], verb: str,
    values: dict[str, Any],
) -> dict[str, Any]:
    values["updated_at"] = values.get("acked_at") or values.get("resolved_at")
    if not alert_store.set_alert_status(alert_id, from_statuses=allowed, values=values):
        alert = alert_store.get_alert(alert_id)
        if alert is None:
            raise AlertNotFound(f"Không tìm thấy cảnh báo số {alert_id}")
        raise AlertStateError(
            f"Cảnh báo số {alert_id} đang ở trạng thái '{STATUS_NAMES[alert['status']]}', "
            f"không thể {verb}"
        )
    return _found(alert_store.get_alert(alert_id), alert_id)


# ---------------------------------------------------------------------- delivery
@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the outgoing mail server."""

    host: str
    sender: str
    port: int = 587
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    timeout: float = 10.0


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery run did: sent, deferred by quiet hours, retrying later, failed."""

    sent: int = 0
    deferred: int = 0
    retrying: int = 0
    failed: int = 0
    errors: tuple[str, ...] = ()


def retry_delay(attempts: int) -> timedelta:
    """Return the wait before the next attempt after `attempts` failures (doubling, capped)."""
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)


def alert_message(delivery: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """Return the JSON document a webhook receives for one delivery row."""
    payload = delivery["payload"]
    return {
        "delivery_id": delivery["id"],
        "event": f"alert.{delivery['event']}",
        "alert_id": delivery["alert_id"],
        "revision": delivery["revision"],
        "alert": payload,
        "links": _links(payload, base_url, delivery["alert_id"]),
    }


def _links(payload: Mapping[str, Any], base_url: str, alert_id: int) -> dict[str, str]:
    root = base_url.rstrip("/") + "/api/v1"
    petitions = urlencode({"topic": payload["topic"], "area": payload["area"],
                           "from": payload["window_start"], "to": payload["window_end"]})
    return {
        # The alert's page in the dashboard: handling, assignee and history.
        "alert": f"{base_url.rstrip('/')}/?{urlencode({'alert': alert_id})}#today",
        "hotspots": f"{root}/hotspots?{urlencode({'as_of': payload['window_end']})}",
        "petitions": f"{root}/petitions?{petitions}",
    }


def sign(body: bytes, secret: str) -> str:
    """Return the signature header value: "sha256=" + hex HMAC-SHA256 of the raw body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def email_subject(payload: Mapping[str, Any], event: str) -> str:
    """Return the Vietnamese subject line of an alert e-mail."""
    prefix = "Cập nhật điểm nóng" if event == "update" else "Điểm nóng"
    area = " ".join(str(payload["area"]).split())
    return (f"[Tâm tư] {prefix} mức {SEVERITY_NAMES[payload['severity']]}: "
            f"{payload['topic_name']} tại {area}")


def email_body(delivery: Mapping[str, Any], base_url: str) -> str:
    """Return the Vietnamese plain-text body of an alert e-mail (aggregates and ids only)."""
    payload = delivery["payload"]
    links = _links(payload, base_url, delivery["alert_id"])
    previous = payload.get("previous")
    lines = [
        "Kính gửi đồng chí,",
        "",
        ("Điểm nóng đã được cảnh báo trước đây tiếp tục tăng."
         if delivery["event"] == "update" else "Hệ thống Tâm tư phát hiện một điểm nóng mới."),
        "",
        f"Lĩnh vực: {payload['topic_name']}",
        f"Địa bàn: {payload['area']}",
        f"Mức độ: {SEVERITY_NAMES[payload['severity']]}"
        + (f" (trước đó: {SEVERITY_NAMES[previous['severity']]})" if previous else ""),
        f"Số đơn thư trong kỳ: {payload['count']}"
        + (f" (trước đó: {previous['count']})" if previous else ""),
        f"Số đơn thư thường gặp trong kỳ tương tự: {_vn_number(payload['expected'])}",
        f"Chỉ số bất thường: {_vn_number(payload['score'])}",
        f"Thời gian: từ {_vn_date(payload['window_start'])} đến {_vn_date(payload['window_end'])}",
        "",
        f"Nhận định: {payload['explanation']}",
        "",
        f"Mã đơn thư liên quan: {_id_list(payload['petition_ids'])}",
        f"Xử lý cảnh báo (giao việc, ghi chú, giải quyết): {links['alert']}",
        f"Xem các điểm nóng: {links['hotspots']}",
        f"Xem danh sách đơn thư: {links['petitions']}",
        "",
        f"Mã cảnh báo: {delivery['alert_id']} (lần {delivery['revision']}). "
        "Vui lòng xác nhận tiếp nhận hoặc giải quyết cảnh báo trên hệ thống Tâm tư.",
        "Thư này chỉ có số liệu tổng hợp; không chứa nội dung đơn thư hay thông tin cá nhân.",
    ]
    return "\n".join(lines) + "\n"


def _vn_number(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _vn_date(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


def _id_list(ids: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:PETITION_IDS_IN_EMAIL])
    rest = len(ids) - PETITION_IDS_IN_EMAIL
    return f"{shown} và {rest} đơn khác" if rest > 0 else (shown or "không có")


def deliver_pending(
    alert_store: AlertStore,
    now: datetime,
    *,
    smtp_settings: SmtpSettings | None,
    base_url: str,
    http_client: httpx.Client | None = None,
    timeout: float = 10.0,
    max_attempts: int = MAX_ATTEMPTS,
    limit: int = 200,
) -> DeliveryReport:
    """Return what happened to the deliveries due at `now` after trying to send each once.

    Quiet hours of the delivery's rule push a non-high alert to the end of the quiet span;
    a failure that may pass (receiver down, 5xx, timeout) waits `retry_delay(attempts)`;
    a rejected request (4xx) or a deleted rule marks the delivery failed.
    """
    import httpx

    now = _utc_naive(now)
    local_now = now.replace(tzinfo=UTC).astimezone(ZoneInfo(LOCAL_TIMEZONE))
    counts = {"sent": 0, "deferred": 0, "retrying": 0, "failed": 0}
    errors: list[str] = []
    rules: dict[int, AlertRule | None] = {}
    own_client = http_client is None
    client = http_client or httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        for delivery in alert_store.due_deliveries(now, limit=limit):
            rule_id = delivery["rule_id"]
            if rule_id is not None and rule_id not in rules:
                row = alert_store.get_rule(rule_id)
                rules[rule_id] = rule_from_row(row) if row else None
            rule = rules.get(rule_id) if rule_id is not None else None
            quiet = rule.quiet_hours if rule else None
            if quiet and delivery["severity"] != "high" and quiet.contains(local_now):
                resume = _utc_naive(quiet.ends_after(local_now))
                alert_store.finish_delivery(delivery["id"], {"next_attempt_at": resume})
                counts["deferred"] += 1
                continue
            # The lease keeps a concurrent sender off this row while we talk to the receiver.
            lease = now + timedelta(seconds=timeout * 3 + 60)
            if not alert_store.claim_delivery(delivery["id"], now, lease):
                continue
            attempts = int(delivery["attempts"]) + 1
            try:
                if rule is None:
                    raise PermanentDeliveryError("Quy tắc cảnh báo không còn tồn tại")
                if delivery["channel"] == "webhook":
                    _send_webhook(client, delivery, rule, base_url)
                else:
                    _send_email(smtp_settings, delivery, base_url)
            except DeliveryError as error:
                errors.append(f"#{delivery['id']} {delivery['target']}: {error}")
                if isinstance(error, PermanentDeliveryError) or attempts >= max_attempts:
                    outcome = {"status": "failed", "attempts": attempts,
                               "last_error": str(error), "next_attempt_at": now}
                    counts["failed"] += 1
                else:
                    outcome = {"attempts": attempts, "last_error": str(error),
                               "next_attempt_at": now + retry_delay(attempts)}
                    counts["retrying"] += 1
                alert_store.finish_delivery(delivery["id"], outcome)
            else:
                alert_store.finish_delivery(delivery["id"], {
                    "status": "sent", "attempts": attempts, "sent_at": now,
                    "last_error": None, "next_attempt_at": now,
                })
                counts["sent"] += 1
    finally:
        if own_client:
            client.close()
    return DeliveryReport(**counts, errors=tuple(errors))


def _send_webhook(
    client: httpx.Client, delivery: Mapping[str, Any], rule: AlertRule, base_url: str
) -> None:
    import httpx

    channel = next((c for c in rule.channels if isinstance(c, WebhookChannel)
                    and c.url == delivery["target"]), None)
    if channel is None:
        raise PermanentDeliveryError("Quy tắc không còn kênh webhook này")
    body = json.dumps(alert_message(delivery, base_url), ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(body, channel.secret),
        "X-Tamtu-Event": f"alert.{delivery['event']}",
        "X-Tamtu-Delivery": str(delivery["id"]),
    }
    try:
        response = client.post(channel.url, content=body, headers=headers)
    except httpx.HTTPError as error:
        raise DeliveryError(f"Không gửi được tới {channel.url}: {error!r}") from error
    if 200 <= response.status_code < 300:
        return
    message = f"Máy nhận trả mã HTTP {response.status_code}"
    # 408/425/429 and 5xx say "later"; other 4xx say the request itself is refused.
    if 400 <= response.status_code < 500 and response.status_code not in (408, 425, 429):
        raise PermanentDeliveryError(message)
    raise DeliveryError(message)


def _send_email(
    settings: SmtpSettings | None, delivery: Mapping[str, Any], base_url: str
) -> None:
    if settings is None:
        raise DeliveryError("Chưa cấu hình máy chủ thư (SMTP)")
    # The legacy Header API on purpose: Python 3.11's default policy folds a long Vietnamese
    # subject into encoded words and drops the space at the fold ("Đất đai" → "Đấtđai").
    message = MIMEText(email_body(delivery, base_url), "plain", "utf-8")
    message["From"] = settings.sender
    message["To"] = delivery["target"]
    message["Subject"] = Header(email_subject(delivery["payload"], delivery["event"]), "utf-8")
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        raise PermanentDeliveryError(f"Máy chủ thư từ chối người nhận: {error}") from error
    except smtplib.SMTPResponseException as error:
        text = f"Máy chủ thư trả mã {error.smtp_code}"
        if 500 <= error.smtp_code < 600:
            raise PermanentDeliveryError(text) from error
        raise DeliveryError(text) from error
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(f"Không gửi được thư: {error!r}") from error


# ---------------------------------------------------------------------- helpers
def _utc_naive(moment: datetime | None) -> datetime:
    # The database keeps naive UTC; a naive argument is taken to be UTC already.
    if moment is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())
