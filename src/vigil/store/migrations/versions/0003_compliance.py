"""Compliance: the latest evaluation of every (rule, resource), findings and their history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vigil.store.schema import Document, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("resource_pk", sa.Integer, nullable=False),
        sa.Column("compliance", sa.String(32), nullable=False),
        sa.Column("annotation", sa.String(256), nullable=False),
        sa.Column("evaluated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "resource_pk", name="pk_evaluations"),
        sa.ForeignKeyConstraint(
            ["resource_pk"], ["resources.id"], ondelete="CASCADE", name="fk_evaluations_resource_pk_resources"
        ),
    )
    op.create_index("ix_evaluations_resource_pk", "evaluations", ["resource_pk"])
    op.create_index("ix_evaluations_compliance", "evaluations", ["compliance"])

    op.create_table(
        "findings",
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("resource_pk", sa.Integer, nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("resource_type", sa.String(128), nullable=False),
        sa.Column("resource_id", sa.String(768), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("annotation", sa.String(256), nullable=False),
        sa.Column("controls", Document(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("suppressed_reason", sa.Text),
        sa.Column("suppressed_until", UTCDateTime()),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_findings"),
        sa.ForeignKeyConstraint(
            ["resource_pk"], ["resources.id"], ondelete="CASCADE", name="fk_findings_resource_pk_resources"
        ),
    )
    op.create_index("ix_findings_status_severity", "findings", ["status", "severity"])
    op.create_index("ix_findings_rule_id", "findings", ["rule_id"])
    op.create_index("ix_findings_resource_pk", "findings", ["resource_pk"])

    op.create_table(
        "finding_events",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("compliance", sa.String(32), nullable=False),
        sa.Column("annotation", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_finding_events"),
        sa.ForeignKeyConstraint(
            ["fingerprint"],
            ["findings.fingerprint"],
            ondelete="CASCADE",
            name="fk_finding_events_fingerprint_findings",
        ),
    )
    op.create_index("ix_finding_events_fingerprint_at", "finding_events", ["fingerprint", "at"])


def downgrade() -> None:
    op.drop_table("finding_events")
    op.drop_table("findings")
    op.drop_table("evaluations")
