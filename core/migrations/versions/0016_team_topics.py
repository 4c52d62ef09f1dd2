"""A small team works in a topic of the main agents' group: ``teams.in_main_group`` and the
topic the bot keeps there for the team's own announcements, ``teams.desk_topic_id``.

Revision ID: 0016_team_topics
Revises: 0015_routing_returning
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_team_topics"
down_revision = "0015_routing_returning"
branch_labels = None
depends_on = None


# Plain ADD COLUMNs, never a batch copy (on SQLite that recreates the table).
def upgrade() -> None:
    op.add_column(
        "teams",
        sa.Column("in_main_group", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("teams", sa.Column("desk_topic_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("teams", "desk_topic_id")
    op.drop_column("teams", "in_main_group")
