"""Remediations: every run of a remediation action, dry or applied.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vigil.store.schema import Document, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remediations",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("finding", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("resource_type", sa.String(128), nullable=False),
        sa.Column("resource_id", sa.String(768), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("record", Document(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remediations"),
    )
    op.create_index("ix_remediations_finding_at", "remediations", ["finding", "at"])


def downgrade() -> None:
    op.drop_index("ix_remediations_finding_at", table_name="remediations")
    op.drop_table("remediations")
