"""The card's revisions: ``tickets.card_revision`` (raised by every change to a ticket) and
``tickets.card_shown_revision`` (what the card and the topic's name in the agents' group show).
A card that lags is edited by the line's job until Telegram takes it; existing tickets start
level (0 and 0). ``ix_tickets_card_lagging`` is a partial index over the lagging ones: the
desk looks for them every few seconds.

Revision ID: 0008_card_revisions
Revises: 0007_replica_constraints
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_card_revisions"
down_revision = "0007_replica_constraints"
branch_labels = None
depends_on = None

COLUMNS = ("card_revision", "card_shown_revision")
LAGGING = "card_shown_revision < card_revision"


# Plain ADD / DROP COLUMN, never a batch copy: on SQLite that drops and recreates the table, and
# dropping ``tickets`` deletes every ticket event through ON DELETE CASCADE.
def upgrade() -> None:
    for column in COLUMNS:
        op.add_column(
            "tickets", sa.Column(column, sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index(
        "ix_tickets_card_lagging",
        "tickets",
        ["id"],
        postgresql_where=sa.text(LAGGING),
        sqlite_where=sa.text(LAGGING),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_card_lagging", table_name="tickets")
    for column in reversed(COLUMNS):
        op.drop_column("tickets", column)
