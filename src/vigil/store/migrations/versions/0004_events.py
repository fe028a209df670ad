"""Events: log events per log group, ingestion checkpoints and quarantine, metric datapoints,
alarm states and history, imported definitions, published messages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vigil.store.schema import Document, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_events",
        sa.Column("log_group", sa.String(512), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("event_time", sa.BigInteger, nullable=False),
        sa.Column("ingested_at", sa.BigInteger, nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("event_source", sa.String(128), nullable=False),
        sa.Column("event_name", sa.String(128), nullable=False),
        sa.Column("principal", sa.String(1024)),
        sa.Column("source_ip", sa.String(128)),
        sa.Column("error_code", sa.String(128)),
        sa.Column("message", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("log_group", "event_id", name="pk_log_events"),
    )
    op.create_index("ix_log_events_log_group_event_time", "log_events", ["log_group", "event_time"])
    op.create_index("ix_log_events_log_group_ingested_at", "log_events", ["log_group", "ingested_at"])
    op.create_index("ix_log_events_event_time", "log_events", ["event_time"])
    op.create_index("ix_log_events_event_name", "log_events", ["event_name"])

    op.create_table(
        "ingest_checkpoints",
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("position", Document(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", name="pk_ingest_checkpoints"),
    )
    op.create_table(
        "quarantine",
        sa.Column("location", sa.String(2048), nullable=False),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("location", name="pk_quarantine"),
    )
    op.create_table(
        "metric_datapoints",
        sa.Column("namespace", sa.String(255), nullable=False),
        sa.Column("metric_name", sa.String(255), nullable=False),
        sa.Column("dimensions", sa.String(1024), nullable=False),
        sa.Column("period_start", sa.BigInteger, nullable=False),
        sa.Column("unit", sa.String(32)),
        sa.Column("sample_count", sa.BigInteger, nullable=False),
        sa.Column("sum", sa.Float, nullable=False),
        sa.Column("minimum", sa.Float, nullable=False),
        sa.Column("maximum", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint(
            "namespace", "metric_name", "dimensions", "period_start", name="pk_metric_datapoints"
        ),
    )
    op.create_table(
        "alarm_states",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("reason_data", sa.Text),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("evaluated_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("name", name="pk_alarm_states"),
    )
    op.create_table(
        "alarm_history",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("alarm_name", sa.String(255), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("item_type", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("data", Document(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alarm_history"),
    )
    op.create_index("ix_alarm_history_alarm_name_at", "alarm_history", ["alarm_name", "at"])
    op.create_table(
        "definitions",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("body", Document(), nullable=False),
        sa.Column("origin", sa.String(256), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "name", name="pk_definitions"),
    )
    op.create_table(
        "published_messages",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(1024), nullable=False),
        sa.Column("subject", sa.String(100)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("attributes", Document(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_published_messages"),
    )
    op.create_index("ix_published_messages_topic_at", "published_messages", ["topic", "at"])


def downgrade() -> None:
    op.drop_index("ix_published_messages_topic_at", table_name="published_messages")
    op.drop_table("published_messages")
    op.drop_table("definitions")
    op.drop_index("ix_alarm_history_alarm_name_at", table_name="alarm_history")
    op.drop_table("alarm_history")
    op.drop_table("alarm_states")
    op.drop_table("metric_datapoints")
    op.drop_table("quarantine")
    op.drop_table("ingest_checkpoints")
    op.drop_index("ix_log_events_event_name", table_name="log_events")
    op.drop_index("ix_log_events_event_time", table_name="log_events")
    op.drop_index("ix_log_events_log_group_ingested_at", table_name="log_events")
    op.drop_index("ix_log_events_log_group_event_time", table_name="log_events")
    op.drop_table("log_events")
