"""Covering indexes on activity for the impact report

The report's two big queries (a cohort's own posts and replies per week, and the replies and reactions it
received) read only these columns, so on PostgreSQL they become index-only scans. The new indexes replace the two
on the same leading columns (`ix_activity_author_occurred`, `ix_activity_target_author_id`), so writes carry no
extra index. On SQLite `INCLUDE` does not exist: there they are plain indexes on the key columns.

Revision ID: 0004_activity_report_indexes
Revises: 0003_library
Create Date: 2026-11-27 05:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0004_activity_report_indexes"
down_revision = "0003_library"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_author_occurred")
        batch_op.create_index("ix_activity_author_occurred", ["author_id", "occurred_at"], unique=False,
                              postgresql_include=["kind", "deleted_at", "knowledge_sharing"])
        batch_op.create_index("ix_activity_target_occurred", ["target_author_id", "occurred_at"], unique=False,
                              postgresql_include=["kind", "deleted_at", "author_id", "author_oid"])
        batch_op.drop_index(batch_op.f("ix_activity_target_author_id"))


def downgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_target_author_id"), ["target_author_id"], unique=False)
        batch_op.drop_index("ix_activity_target_occurred")
        batch_op.drop_index("ix_activity_author_occurred")
        batch_op.create_index("ix_activity_author_occurred", ["author_id", "occurred_at"], unique=False)
