"""The store's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them; a test
checks that the migrated database and this module agree.

Inventory:
  ``resources``            one row per resource ever seen: its identity, latest status and CI.
  ``configuration_items``  the history: one row per recorded CI (the whole CI, API form, as JSON).
  ``resource_tags``        current tags, for ``--tag k=v`` filters on any backend.
  ``relationships``        current relationships (edges of the latest CI), for the graph both ways.
Compliance:
  ``evaluations``          the latest evaluation of every (rule, resource): COMPLIANT, NON_COMPLIANT, …
  ``findings``             one row per (rule, resource) that was ever NON_COMPLIANT: open, resolved or
                           suppressed, with first/last seen and the latest annotation.
  ``finding_events``       every change of a finding's state (the evaluation history people audit).
Events (CloudTrail → log groups → metrics → alarms):
  ``log_events``           one row per (log group, CloudTrail eventID): the record's JSON and its keys.
  ``ingest_checkpoints``   per source (file tree, S3 prefix, LookupEvents region): where ingestion is.
  ``quarantine``           inputs that could not be read, with the reason; nothing else is lost.
  ``metric_datapoints``    per (metric, dimensions, minute): sample count, sum, minimum, maximum.
  ``alarm_states``         each alarm's current state, reason and reason data.
  ``alarm_history``        every state change and action of every alarm (DescribeAlarmHistory).
  ``definitions``          metric filters and alarms imported from an account (`vigil alarms import`).
  ``published_messages``   every message published to a topic (SNS's MessageId, subject, body, attributes).
Notifications:
  ``deliveries``           the outbox: one row per (message, subscription): pending, sent, dead, held, acked.
  ``remediations``         every remediation run, dry or applied: who, what, when, before and after.
Scans:
  ``scans``                one row per scan or targeted re-record: when, where, counts, API calls.
  ``collection_status``    per (account, region, type): last attempt, last success, last error.
  ``collection_errors``    every failed collection unit, per scan.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def Document() -> Any:
    """A JSON document column: JSONB on PostgreSQL, JSON text elsewhere."""
    return JSON().with_variant(JSONB(), "postgresql")


resources = Table(
    "resources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("resource_id", String(768), nullable=False),
    Column("resource_name", String(1024)),
    Column("arn", String(2048)),
    Column("status", String(32), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("first_seen", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    Column("latest_ci_id", BigInteger),
    Column("state_id", BigInteger, nullable=False),
    Column("config_hash", String(64), nullable=False),
    Column("doc_hash", String(64), nullable=False),
    UniqueConstraint("account_id", "region", "resource_type", "resource_id"),
    Index(None, "resource_id"),
    Index(None, "arn"),
    Index(None, "resource_name"),
    Index(None, "resource_type", "region"),
)

configuration_items = Table(
    "configuration_items",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
    Column("capture_time", UTCDateTime(), nullable=False),
    Column("status", String(32), nullable=False),
    Column("state_id", BigInteger, nullable=False),
    Column("config_hash", String(64), nullable=False),
    Column("source", String(32), nullable=False),
    Column("scan_id", Integer),
    Column("document", Document(), nullable=False),
    Index(None, "resource_pk", "state_id"),
    Index(None, "capture_time"),
)

resource_tags = Table(
    "resource_tags",
    metadata,
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
    Index(None, "key", "value"),
)

relationships = Table(
    "relationships",
    metadata,
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("target_type", String(128), nullable=False),
    Column("target_id", String(768)),
    Column("target_name", String(1024)),
    Index(None, "resource_pk"),
    Index(None, "target_type", "target_id"),
)

scans = Table(
    "scans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # scan | rerecord | import
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("status", String(16), nullable=False),  # running | complete | partial | failed
    Column("accounts", Document(), nullable=False),
    Column("regions", Document(), nullable=False),
    Column("counts", Document(), nullable=False),
    Column("api_calls", Document(), nullable=False),
    Column("origin", Text),  # import: the files or s3:// prefix read
)

collection_status = Table(
    "collection_status",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("resource_type", String(128), primary_key=True),
    Column("last_attempt", UTCDateTime(), nullable=False),
    Column("last_success", UTCDateTime()),
    Column("ok", Boolean, nullable=False),
    Column("error_code", String(128)),
    Column("error_message", Text),
    Column("scan_id", Integer),
)

collection_errors = Table(
    "collection_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scan_id", Integer, ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("resource_id", String(768)),
    Column("code", String(128), nullable=False),
    Column("message", Text, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index(None, "scan_id"),
)


evaluations = Table(
    "evaluations",
    metadata,
    Column("rule_id", String(128), primary_key=True),
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("compliance", String(32), nullable=False),
    Column("annotation", String(256), nullable=False),
    Column("evaluated_at", UTCDateTime(), nullable=False),
    Index(None, "resource_pk"),
    Index(None, "compliance"),
)

findings = Table(
    "findings",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("rule_id", String(128), nullable=False),
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("resource_id", String(768), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # open | resolved | suppressed
    Column("annotation", String(256), nullable=False),
    Column("controls", Document(), nullable=False),
    Column("first_seen", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    Column("resolved_at", UTCDateTime()),
    Column("suppressed_reason", Text),
    Column("suppressed_until", UTCDateTime()),
    Index(None, "status", "severity"),
    Index(None, "rule_id"),
    Index(None, "resource_pk"),
)

finding_events = Table(
    "finding_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), ForeignKey("findings.fingerprint", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("compliance", String(32), nullable=False),
    Column("annotation", String(256), nullable=False),
    Index(None, "fingerprint", "at"),
)


# ------------------------------------------------------------------------------------------ events

log_events = Table(
    "log_events",
    metadata,
    Column("log_group", String(512), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    Column("event_time", BigInteger, nullable=False),  # epoch milliseconds
    Column("ingested_at", BigInteger, nullable=False),  # epoch milliseconds
    Column("account_id", String(32), nullable=False),
    Column("region", String(32), nullable=False),
    Column("event_source", String(128), nullable=False),
    Column("event_name", String(128), nullable=False),
    Column("principal", String(1024)),
    Column("source_ip", String(128)),
    Column("error_code", String(128)),
    Column("message", Text, nullable=False),
    Index(None, "log_group", "event_time"),
    Index(None, "log_group", "ingested_at"),
    Index(None, "event_time"),
    Index(None, "event_name"),
)

ingest_checkpoints = Table(
    "ingest_checkpoints",
    metadata,
    Column("source", String(1024), primary_key=True),
    Column("position", Document(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("location", String(2048), primary_key=True),
    Column("source", String(1024), nullable=False),
    Column("reason", Text, nullable=False),
    Column("size", BigInteger),
    Column("at", UTCDateTime(), nullable=False),
)

metric_datapoints = Table(
    "metric_datapoints",
    metadata,
    Column("namespace", String(255), primary_key=True),
    Column("metric_name", String(255), primary_key=True),
    Column("dimensions", String(1024), primary_key=True),  # canonical JSON of sorted [name, value] pairs
    Column("period_start", BigInteger, primary_key=True),  # epoch seconds, a minute boundary
    Column("unit", String(32)),
    Column("sample_count", BigInteger, nullable=False),
    Column("sum", Float, nullable=False),
    Column("minimum", Float, nullable=False),
    Column("maximum", Float, nullable=False),
)

alarm_states = Table(
    "alarm_states",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("state", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("reason_data", Text),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("evaluated_at", UTCDateTime()),
)

alarm_history = Table(
    "alarm_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alarm_name", String(255), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("item_type", String(32), nullable=False),  # StateUpdate | Action | ConfigurationUpdate
    Column("summary", Text, nullable=False),
    Column("data", Document(), nullable=False),
    Index(None, "alarm_name", "at"),
)

definitions = Table(
    "definitions",
    metadata,
    Column("kind", String(32), primary_key=True),  # metric-filter | alarm | composite-alarm
    Column("name", String(512), primary_key=True),
    Column("body", Document(), nullable=False),  # AWS's own shape (DescribeMetricFilters / DescribeAlarms)
    Column("origin", String(256), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

published_messages = Table(
    "published_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), unique=True),  # SNS's MessageId (a UUID), the same on every retry
    Column("topic", String(1024), nullable=False),
    Column("subject", String(100)),
    Column("message", Text, nullable=False),
    Column("attributes", Document(), nullable=False),
    Column("source", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index(None, "topic", "at"),
)


deliveries = Table(
    "deliveries",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("subscription", String(64), primary_key=True),  # a stable id of (topic, protocol, endpoint)
    Column("topic", String(256), nullable=False),
    Column("protocol", String(32), nullable=False),
    Column("endpoint", String(2048), nullable=False),  # as configured: env:NAME references stay references
    Column("status", String(16), nullable=False),  # pending | sent | dead | held | acked
    Column("attempts", Integer, nullable=False),
    Column("next_at", UTCDateTime(), nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "status", "next_at"),
)


remediations = Table(
    "remediations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(256), nullable=False),  # manual, automation:<subscription>
    Column("action", String(64), nullable=False),
    Column("finding", String(64), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("resource_id", String(768), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("record", Document(), nullable=False),  # the whole record: params, steps, before/after state ids
    Index(None, "finding", "at"),
)
