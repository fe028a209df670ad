"""Scans say where their items came from (an import's files or bucket).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scans") as batch:
        batch.add_column(sa.Column("origin", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("scans") as batch:
        batch.drop_column("origin")
