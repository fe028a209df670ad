"""The initial store: inventory (resources, CI history, tags, relationships) and scans.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vigil.store.schema import Document, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("resource_type", sa.String(128), nullable=False),
        sa.Column("resource_id", sa.String(768), nullable=False),
        sa.Column("resource_name", sa.String(1024)),
        sa.Column("arn", sa.String(2048)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("latest_ci_id", sa.BigInteger),
        sa.Column("state_id", sa.BigInteger, nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("doc_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_resources"),
        sa.UniqueConstraint(
            "account_id",
            "region",
            "resource_type",
            "resource_id",
            name="uq_resources_account_id_region_resource_type_resource_id",
        ),
    )
    op.create_index("ix_resources_resource_id", "resources", ["resource_id"])
    op.create_index("ix_resources_arn", "resources", ["arn"])
    op.create_index("ix_resources_resource_name", "resources", ["resource_name"])
    op.create_index("ix_resources_resource_type_region", "resources", ["resource_type", "region"])

    op.create_table(
        "configuration_items",
        sa.Column("id", ID, autoincrement=True),
        sa.Column("resource_pk", sa.Integer, nullable=False),
        sa.Column("capture_time", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("state_id", sa.BigInteger, nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("scan_id", sa.Integer),
        sa.Column("document", Document(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_configuration_items"),
        sa.ForeignKeyConstraint(
            ["resource_pk"],
            ["resources.id"],
            ondelete="CASCADE",
            name="fk_configuration_items_resource_pk_resources",
        ),
    )
    op.create_index(
        "ix_configuration_items_resource_pk_state_id", "configuration_items", ["resource_pk", "state_id"]
    )
    op.create_index("ix_configuration_items_capture_time", "configuration_items", ["capture_time"])

    op.create_table(
        "resource_tags",
        sa.Column("resource_pk", sa.Integer, nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("resource_pk", "key", name="pk_resource_tags"),
        sa.ForeignKeyConstraint(
            ["resource_pk"],
            ["resources.id"],
            ondelete="CASCADE",
            name="fk_resource_tags_resource_pk_resources",
        ),
    )
    op.create_index("ix_resource_tags_key_value", "resource_tags", ["key", "value"])

    op.create_table(
        "relationships",
        sa.Column("resource_pk", sa.Integer, nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("target_type", sa.String(128), nullable=False),
        sa.Column("target_id", sa.String(768)),
        sa.Column("target_name", sa.String(1024)),
        sa.ForeignKeyConstraint(
            ["resource_pk"],
            ["resources.id"],
            ondelete="CASCADE",
            name="fk_relationships_resource_pk_resources",
        ),
    )
    op.create_index("ix_relationships_resource_pk", "relationships", ["resource_pk"])
    op.create_index("ix_relationships_target_type_target_id", "relationships", ["target_type", "target_id"])

    op.create_table(
        "scans",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("accounts", Document(), nullable=False),
        sa.Column("regions", Document(), nullable=False),
        sa.Column("counts", Document(), nullable=False),
        sa.Column("api_calls", Document(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scans"),
    )

    op.create_table(
        "collection_status",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("resource_type", sa.String(128), nullable=False),
        sa.Column("last_attempt", UTCDateTime(), nullable=False),
        sa.Column("last_success", UTCDateTime()),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error_code", sa.String(128)),
        sa.Column("error_message", sa.Text),
        sa.Column("scan_id", sa.Integer),
        sa.PrimaryKeyConstraint("account_id", "region", "resource_type", name="pk_collection_status"),
    )

    op.create_table(
        "collection_errors",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("scan_id", sa.Integer, nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("resource_type", sa.String(128), nullable=False),
        sa.Column("resource_id", sa.String(768)),
        sa.Column("code", sa.String(128), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collection_errors"),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], ondelete="CASCADE", name="fk_collection_errors_scan_id_scans"
        ),
    )
    op.create_index("ix_collection_errors_scan_id", "collection_errors", ["scan_id"])


def downgrade() -> None:
    for table in (
        "collection_errors",
        "collection_status",
        "scans",
        "relationships",
        "resource_tags",
        "configuration_items",
        "resources",
    ):
        op.drop_table(table)
