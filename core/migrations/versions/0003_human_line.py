"""The human line: agents, ticket ownership and audit trail, topics, canned replies, routing
rules, ratings, and phrasings proposed from handoffs.

Revision ID: 0003_human_line
Revises: 0002_conversations
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from core.database import UtcDateTime
from core.migrations.references import add_reference, drop_reference

revision = "0003_human_line"
down_revision = "0002_conversations"
branch_labels = None
depends_on = None

# (table, column, referenced table): nullable references, ON DELETE SET NULL.
REFERENCES = (
    ("tickets", "assignee_id", "agents"),
    ("conversation_messages", "ticket_id", "tickets"),
    ("conversation_messages", "agent_id", "agents"),
)


def _plain_columns() -> dict[str, list[sa.Column]]:
    return {
        "tickets": [
            sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"),
            sa.Column("faq_key", sa.String(100), nullable=True),
            sa.Column("card_message_id", sa.BigInteger(), nullable=True),
            sa.Column("rating", sa.Integer(), nullable=True),
            sa.Column("rating_comment", sa.Text(), nullable=True),
            sa.Column("rated_at", UtcDateTime(), nullable=True),
        ],
        "customers": [
            sa.Column("topic_chat_id", sa.BigInteger(), nullable=True),
            sa.Column("topic_id", sa.BigInteger(), nullable=True),
            sa.Column("topic_title", sa.String(128), nullable=True),
            sa.Column("latest_ticket_id", sa.Integer(), nullable=True),
        ],
        "conversation_messages": [sa.Column("topic_message_id", sa.BigInteger(), nullable=True)],
    }


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("username", sa.String(100), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_active_at", UtcDateTime(), nullable=False),
    )
    for table, columns in _plain_columns().items():
        for new_column in columns:
            op.add_column(table, new_column)
    for table, reference, target in REFERENCES:
        add_reference(table, reference, target)
    op.execute(
        "UPDATE customers SET latest_ticket_id ="
        " (SELECT max(tickets.id) FROM tickets WHERE tickets.customer_id = customers.id)"
    )
    op.create_index("ix_conversation_messages_ticket_id", "conversation_messages", ["ticket_id"])
    op.create_index("ix_tickets_assignee_status", "tickets", ["assignee_id", "status"])
    op.create_index("ix_customers_topic", "customers", ["topic_chat_id", "topic_id"])
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "ticket_id",
            sa.Integer(),
            sa.ForeignKey("tickets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agents.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("tag", sa.String(64), nullable=True),
        sa.Column("priority", sa.String(16), nullable=True),
        sa.Column("add_tags", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "phrasing_proposals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "entry_id",
            sa.Integer(),
            sa.ForeignKey("faq_entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("entry_id", "text"),
    )
    op.create_index("ix_phrasing_proposals_entry_id", "phrasing_proposals", ["entry_id"])


def downgrade() -> None:
    for table in ("phrasing_proposals", "routing_rules", "canned_replies", "ticket_events"):
        op.drop_table(table)
    op.drop_index("ix_customers_topic", "customers")
    op.drop_index("ix_tickets_assignee_status", "tickets")
    op.drop_index("ix_conversation_messages_ticket_id", "conversation_messages")
    for table, reference, _ in REFERENCES:
        drop_reference(table, reference)
    for table, columns in _plain_columns().items():
        for old_column in columns:
            op.drop_column(table, old_column.name)
    op.drop_table("agents")
