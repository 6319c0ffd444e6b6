"""Every table of the database, in one SQLAlchemy metadata (migrations in migrations/)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ingest_runs = sa.Table(
    "ingest_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("paths", sa.Text, nullable=False, server_default=""),
    sa.Column("read", sa.Integer, nullable=False, server_default="0"),
    sa.Column("stored", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
    sa.Column("quarantined", sa.Integer, nullable=False, server_default="0"),
    sa.Column("report_dir", sa.Text),
    # "running", "finished" or "failed"; a run whose process is gone is marked failed by the
    # next ingest (migration 0006).
    sa.Column("status", sa.String(10), nullable=False, server_default="running"),
    sa.Column("host", sa.Text),
    sa.Column("pid", sa.Integer),
    sa.Column("failure", sa.Text),
)

petitions = sa.Table(
    "petitions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("source_key", sa.String(64), nullable=False, unique=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("text_raw", sa.Text, nullable=False),
    sa.Column("received_at", sa.Date, index=True),
    sa.Column("area_raw", sa.Text),
    sa.Column("area", sa.Text, nullable=False, server_default="chưa xác định", index=True),
    sa.Column("village", sa.Text),
    sa.Column("commune", sa.Text),
    sa.Column("province", sa.Text),
    sa.Column("source_type", sa.String(20), nullable=False, index=True),
    sa.Column("external_id", sa.Text),
    sa.Column("sender_name", sa.Text),
    sa.Column("sender_contact", sa.Text),
    sa.Column("channel", sa.Text),
    sa.Column("is_response", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("no_diacritics", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("legacy_encoding", sa.String(10)),
    sa.Column("topics", sa.JSON, nullable=False),
    sa.Column("scores", sa.JSON, nullable=False),
    sa.Column("signals", sa.JSON, nullable=False),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_row", sa.Integer),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("ingest_runs.id")),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("extra", sa.JSON, nullable=False),
    # Follow-up (migration 0008): received → in_progress → answered / resolved, who owns the
    # case, its due day (None: from the source type's days, see pipeline.store.cases), the day
    # it was answered, who reviewed the labels and the model's own labels before a correction.
    sa.Column("case_status", sa.String(20), nullable=False, server_default="received",
              index=True),
    sa.Column("owner", sa.Text),
    sa.Column("due_on", sa.Date),
    sa.Column("answered_on", sa.Date),
    sa.Column("reviewed_at", sa.DateTime, index=True),
    sa.Column("reviewed_by", sa.Text),
    sa.Column("model_topics", sa.JSON),
    sa.Column("model_signals", sa.JSON),
)

petition_topics = sa.Table(
    "petition_topics",
    metadata,
    sa.Column("petition_id", sa.Integer, sa.ForeignKey("petitions.id"), primary_key=True),
    sa.Column("topic", sa.String(40), primary_key=True, index=True),
    sa.Column("score", sa.Float, nullable=False),
)

petition_signals = sa.Table(
    "petition_signals",
    metadata,
    sa.Column("petition_id", sa.Integer, sa.ForeignKey("petitions.id"), primary_key=True),
    sa.Column("signal", sa.String(20), primary_key=True, index=True),
)

duplicates = sa.Table(
    "duplicates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("petition_id", sa.Integer, sa.ForeignKey("petitions.id"), nullable=False, index=True),
    sa.Column("source_key", sa.String(64), nullable=False, unique=True),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_row", sa.Integer),
    sa.Column("sender_name", sa.Text),
    sa.Column("received_at", sa.Date),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("ingest_runs.id")),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_key", sa.String(64), nullable=False, unique=True),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_row", sa.Integer),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw", sa.Text, nullable=False, server_default=""),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("ingest_runs.id")),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

# ---------------------------------------------------------------------- alerts (migration 0002)
alert_rules = sa.Table(
    "alert_rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("topics", sa.JSON, nullable=False),
    sa.Column("areas", sa.JSON, nullable=False),
    sa.Column("min_severity", sa.String(10), nullable=False, server_default="low"),
    sa.Column("channels", sa.JSON, nullable=False),
    sa.Column("quiet_hours", sa.String(20)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("area", sa.Text, nullable=False),
    sa.Column("topic", sa.String(40), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expected", sa.Float, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("window_start", sa.Date, nullable=False),
    sa.Column("window_end", sa.Date, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False),
    sa.Column("petition_ids", sa.JSON, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
    sa.Column("opened_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
    sa.Column("closed_at", sa.DateTime),
    sa.Column("acked_at", sa.DateTime),
    sa.Column("acked_by", sa.Text),
    sa.Column("ack_note", sa.Text),
    sa.Column("resolved_at", sa.DateTime),
    sa.Column("resolved_by", sa.Text),
    sa.Column("resolve_note", sa.Text),
    sa.Column("assignee", sa.Text),
    # At most one episode per (topic, area) is tracked at a time, even with concurrent evaluators.
    sa.Index(
        "uq_alerts_tracked_episode", "topic", "area", unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    ),
)

alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False, index=True),
    sa.Column("rule_id", sa.Integer, sa.ForeignKey("alert_rules.id")),
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(10), nullable=False, server_default="pending", index=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
)


# ---------------------------------------------------------------------- accounts and audit
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("areas", sa.JSON, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(12), nullable=False),
    sa.Column("areas", sa.JSON),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime),
    sa.Column("last_used_at", sa.DateTime),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("token_id", sa.Integer, sa.ForeignKey("api_tokens.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("user_name", sa.Text),
    sa.Column("role", sa.String(20)),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("record_ids", sa.JSON, nullable=False),
    sa.Column("client", sa.Text),
)

# Aggregates kept at ingest, in the same transaction as the petitions they count
# (pipeline.store.aggregates). Unknown places are '' and undated petitions fall on UNDATED_DAY,
# so that every key column can be part of the primary key on SQLite and PostgreSQL.
daily_counts = sa.Table(
    "daily_counts",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("area", sa.Text, primary_key=True),
    sa.Column("village", sa.Text, primary_key=True),
    sa.Column("commune", sa.Text, primary_key=True),
    sa.Column("province", sa.Text, primary_key=True),
    sa.Column("source_type", sa.String(20), primary_key=True),
    sa.Column("topic", sa.String(40), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("mass", sa.Integer, nullable=False),
    sa.Column("repeat", sa.Integer, nullable=False),
    sa.Column("escalated", sa.Integer, nullable=False),
    sa.Column("urgent", sa.Integer, nullable=False),
)

first_seen = sa.Table(
    "first_seen",
    metadata,
    sa.Column("village", sa.Text, primary_key=True),
    sa.Column("commune", sa.Text, primary_key=True),
    sa.Column("province", sa.Text, primary_key=True),
    sa.Column("topic", sa.String(40), primary_key=True),
    sa.Column("first_day", sa.Date, nullable=False),
)

source_counts = sa.Table(
    "source_counts",
    metadata,
    sa.Column("source_type", sa.String(20), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

# One row (id 1): bumped by every write, so readers can tell cheaply whether anything changed.
data_version = sa.Table(
    "data_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

# ---------------------------------------------------------------------- near-duplicates and terms
# Each petition's near-duplicate cluster (named by the id of its first member), the member it
# matched best at ingest and, for members that brought a new LSH bucket, their MinHash signature.
near_duplicate_clusters = sa.Table(
    "near_duplicate_clusters",
    metadata,
    sa.Column("petition_id", sa.Integer, sa.ForeignKey("petitions.id"), primary_key=True),
    sa.Column("cluster_id", sa.Integer, nullable=False, index=True),
    sa.Column("matched_id", sa.Integer),
    sa.Column("similarity", sa.Float),
    sa.Column("signature", sa.LargeBinary),
)

# LSH buckets: a band value seen in a cluster, with the first member that had it.
near_duplicate_bands = sa.Table(
    "near_duplicate_bands",
    metadata,
    sa.Column("band_hash", sa.BigInteger, primary_key=True),
    sa.Column("band", sa.SmallInteger, primary_key=True),
    sa.Column("cluster_id", sa.Integer, primary_key=True),
    sa.Column("petition_id", sa.Integer, sa.ForeignKey("petitions.id"), nullable=False),
    sqlite_with_rowid=False,  # migration 0007: one B-tree in key order, half the page writes
)

# How many dated citizen petitions of a day contain a two-syllable term (for term bursts).
term_days = sa.Table(
    "term_days",
    metadata,
    sa.Column("term", sa.String(80), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("petitions", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)


# ---------------------------------------------------------------------- case histories (0008)
# Who changed what on a petition (review, correction, status, owner, due day), and on an alert
# (acknowledge, assign, note, resolve, reopen); `changes` maps a field to [old, new].
petition_events = sa.Table(
    "petition_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("petition_id", sa.Integer, sa.ForeignKey("petitions.id"), nullable=False,
              index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("note", sa.Text),
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("note", sa.Text),
)
