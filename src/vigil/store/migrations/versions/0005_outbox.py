"""Notifications: SNS message ids on published messages, and the deliveries outbox.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vigil.store.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("published_messages") as batch:
        batch.add_column(sa.Column("message_id", sa.String(64)))
        batch.create_unique_constraint("uq_published_messages_message_id", ["message_id"])
    op.create_table(
        "deliveries",
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("subscription", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(256), nullable=False),
        sa.Column("protocol", sa.String(32), nullable=False),
        sa.Column("endpoint", sa.String(2048), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "subscription", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_status_next_at", "deliveries", ["status", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_status_next_at", table_name="deliveries")
    op.drop_table("deliveries")
    with op.batch_alter_table("published_messages") as batch:
        batch.drop_constraint("uq_published_messages_message_id", type_="unique")
        batch.drop_column("message_id")
