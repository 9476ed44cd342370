"""Content library, RSS/Atom feeds and success stories

Revision ID: 0003_library
Revises: 0002_yammer_sync_state
Create Date: 2026-11-27 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_library"
down_revision = "0002_yammer_sync_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["person.id"], name=op.f("fk_feed_created_by_id_person"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed")),
        sa.UniqueConstraint("url", name=op.f("uq_feed_url")),
    )
    op.create_table(
        "library_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("guid", sa.String(length=2000), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["person.id"], name=op.f("fk_library_item_created_by_id_person"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["feed_id"], ["feed.id"], name=op.f("fk_library_item_feed_id_feed"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_item")),
        sa.UniqueConstraint("url", name=op.f("uq_library_item_url")),
    )
    with op.batch_alter_table("library_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_library_item_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_library_item_feed_id"), ["feed_id"], unique=False)
    op.create_table(
        "success_story",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("shareable", sa.Boolean(), nullable=False),
        sa.Column("featured", sa.Boolean(), nullable=False),
        sa.Column("featured_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("type IN ('client', 'press', 'network', 'recruitment', 'other')",
                           name=op.f("ck_success_story_type")),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"], name=op.f("fk_success_story_cohort_id_cohort"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["featured_by_id"], ["person.id"],
                                name=op.f("fk_success_story_featured_by_id_person"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_success_story_person_id_person"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_story")),
    )
    with op.batch_alter_table("success_story", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_success_story_cohort_id"), ["cohort_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_success_story_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("success_story", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_story_person_id"))
        batch_op.drop_index(batch_op.f("ix_success_story_cohort_id"))
    op.drop_table("success_story")
    with op.batch_alter_table("library_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_library_item_feed_id"))
        batch_op.drop_index(batch_op.f("ix_library_item_created_at"))
    op.drop_table("library_item")
    op.drop_table("feed")
