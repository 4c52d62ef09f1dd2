"""Teams (lines and departments): ``teams``, with the installation's one agents' group as the
default first-line team; ``tickets.team_id`` (every existing ticket is the default team's), when a
ticket reached its team and that team's first answer; the routing rules' and agents' team; and
``customer_topics``, every topic a customer has in each agents' group (the existing ones copied).

An installation that configures nothing works as before: the default team has no group of its own
(FIRSTLINE_AGENT_CHAT_ID), no hours and no targets of its own (the line's).

Revision ID: 0011_teams
Revises: 0010_inbox_lane_index
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from core.migrations.references import add_reference, drop_reference

revision = "0011_teams"
down_revision = "0010_inbox_lane_index"
branch_labels = None
depends_on = None

DEFAULT_TEAM = "First line"
UTC_DATETIME = sa.DateTime(timezone=True)
TEAM_REFERENCES = ("tickets", "agents", "routing_rules")


# Plain ADD COLUMN and CREATE TABLE, never a batch copy: on SQLite that recreates the table, and
# dropping ``tickets`` deletes every ticket event through ON DELETE CASCADE.
def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("agent_chat_id", sa.BigInteger(), nullable=True, unique=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("business_hours", sa.JSON(), nullable=True),
        sa.Column("sla", sa.JSON(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
    )
    op.execute(
        sa.text(
            "INSERT INTO teams (name, level, tags, is_default, created_at)"
            " VALUES (:name, 'first', '[]', :yes, CURRENT_TIMESTAMP)"
        ).bindparams(name=DEFAULT_TEAM, yes=True)
    )
    op.create_table(
        "customer_topics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("topic_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(128), nullable=False),
        sa.UniqueConstraint("customer_id", "chat_id"),
    )
    op.create_index("ix_customer_topics_topic", "customer_topics", ["chat_id", "topic_id"])
    op.execute(
        "INSERT INTO customer_topics (customer_id, chat_id, topic_id, title)"
        " SELECT id, topic_chat_id, topic_id, COALESCE(topic_title, '') FROM customers"
        " WHERE topic_chat_id IS NOT NULL AND topic_id IS NOT NULL"
    )
    for table in TEAM_REFERENCES:
        add_reference(table, "team_id", "teams")
    op.add_column("tickets", sa.Column("team_joined_at", UTC_DATETIME, nullable=True))
    op.add_column("tickets", sa.Column("team_first_response_at", UTC_DATETIME, nullable=True))
    op.create_index("ix_tickets_team_id", "tickets", ["team_id"])
    default = "(SELECT id FROM teams WHERE is_default)"
    op.execute(
        f"UPDATE tickets SET team_id = {default}, team_first_response_at = first_response_at"
    )
    op.execute(f"UPDATE agents SET team_id = {default}")


def downgrade() -> None:
    op.drop_index("ix_tickets_team_id", table_name="tickets")
    for column in ("team_first_response_at", "team_joined_at"):
        op.drop_column("tickets", column)
    for table in TEAM_REFERENCES:
        drop_reference(table, "team_id")
    op.drop_index("ix_customer_topics_topic", table_name="customer_topics")
    op.drop_table("customer_topics")
    op.drop_table("teams")
