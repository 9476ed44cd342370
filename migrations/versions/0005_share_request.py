"""Share requests: the composer's idempotency keys, so a repeated request never posts twice

One row per person and key the client chose, claimed before Teams or Viva Engage is called and holding the first
answer; `services.retention` deletes the rows after a day, and erasing a person deletes theirs.

Revision ID: 0005_share_request
Revises: 0004_activity_report_indexes
Create Date: 2026-11-27 05:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_share_request"
down_revision = "0004_activity_report_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "share_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('posting', 'posted')", name=op.f("ck_share_request_status")),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_share_request_person_id_person"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_request")),
        sa.UniqueConstraint("person_id", "idempotency_key", name=op.f("uq_share_request_person_id_idempotency_key")),
    )
    with op.batch_alter_table("share_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_request_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("share_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_request_created_at"))
    op.drop_table("share_request")
