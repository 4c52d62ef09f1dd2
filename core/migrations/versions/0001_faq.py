"""FAQ entries and their version history.

Revision ID: 0001_faq
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from core.database import UtcDateTime

revision = "0001_faq"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("alt_questions", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_faq_entries_key", "faq_entries", ["key"], unique=True)
    op.create_table(
        "faq_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "entry_id",
            sa.Integer(),
            sa.ForeignKey("faq_entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("change", sa.String(32), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.UniqueConstraint("entry_id", "version"),
    )
    op.create_index("ix_faq_versions_entry_id", "faq_versions", ["entry_id"])


def downgrade() -> None:
    op.drop_table("faq_versions")
    op.drop_table("faq_entries")
