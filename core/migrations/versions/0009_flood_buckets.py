"""Each customer's flood-limit token bucket on their row (``flood_tokens``, ``flood_at``,
``flood_warned``), so that replicas share one limit per chat instead of each allowing its own.
Existing customers start with none (a full bucket at their next message).

Revision ID: 0009_flood_buckets
Revises: 0008_card_revisions
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from core.database import UtcDateTime

revision = "0009_flood_buckets"
down_revision = "0008_card_revisions"
branch_labels = None
depends_on = None


# Plain ADD / DROP COLUMN, never a batch copy: on SQLite that drops and recreates the table, and
# dropping ``customers`` deletes their conversations and tickets through ON DELETE CASCADE.
def upgrade() -> None:
    op.add_column("customers", sa.Column("flood_tokens", sa.Float(), nullable=True))
    op.add_column("customers", sa.Column("flood_at", UtcDateTime(), nullable=True))
    op.add_column(
        "customers",
        sa.Column("flood_warned", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    for column in ("flood_warned", "flood_at", "flood_tokens"):
        op.drop_column("customers", column)
