"""Yammer polling state: a person's delegated-token status and a community's last re-read

Revision ID: 0002_yammer_sync_state
Revises: 0001
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_yammer_sync_state"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('channel_delta', 'yammer_group')"
NEW_KINDS = "kind IN ('channel_delta', 'yammer_group', 'yammer_user')"


def upgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(sa.Column("status", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_sync_state_kind"), type_="check")
        batch.create_check_constraint("kind", NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM sync_state WHERE kind = 'yammer_user'")
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_constraint(op.f("ck_sync_state_kind"), type_="check")
        batch.create_check_constraint("kind", OLD_KINDS)
        batch.drop_column("checked_at")
        batch.drop_column("status")
