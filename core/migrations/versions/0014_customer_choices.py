"""Learning from customers' choices: ``customer_choices`` (an entry a customer picked from "did
you mean…" for their question) and the customer's language on ``phrasing_proposals``.

Revision ID: 0014_customer_choices
Revises: 0013_team_canned_replies
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from core.database import UtcDateTime

revision = "0014_customer_choices"
down_revision = "0013_team_canned_replies"
branch_labels = None
depends_on = None


# Plain ADD COLUMN and CREATE TABLE, never a batch copy (on SQLite that recreates the table).
def upgrade() -> None:
    op.add_column("phrasing_proposals", sa.Column("language", sa.String(8), nullable=True))
    op.create_table(
        "customer_choices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "entry_id",
            sa.Integer(),
            sa.ForeignKey("faq_entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "proposal_id",
            sa.Integer(),
            sa.ForeignKey("phrasing_proposals.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_customer_choices_customer_id", "customer_choices", ["customer_id"])
    op.create_index("ix_customer_choices_entry_id", "customer_choices", ["entry_id"])
    op.create_index("ix_customer_choices_proposal_id", "customer_choices", ["proposal_id"])


def downgrade() -> None:
    op.drop_table("customer_choices")
    op.drop_column("phrasing_proposals", "language")
