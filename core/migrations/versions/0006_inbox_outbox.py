"""The inbox (every Telegram update, stored before it is confirmed) and the outbox (everything the
product sends, stored with the decision that caused it): see core/queues.py.

Revision ID: 0006_inbox_outbox
Revises: 0005_business_hours
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from core.database import UtcDateTime

revision = "0006_inbox_outbox"
down_revision = "0005_business_hours"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_updates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("update_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("chat_key", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_until", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
    )
    op.create_index(
        "ix_inbox_updates_pending", "inbox_updates", ["status", "next_attempt_at", "id"]
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("conversation_message_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_until", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("late_notice_sent", sa.Boolean(), nullable=False),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
    )
    op.create_index(
        "ix_outbox_messages_pending", "outbox_messages", ["status", "next_attempt_at", "id"]
    )
    op.create_index("ix_outbox_messages_chat", "outbox_messages", ["chat_id", "status", "id"])
    op.create_index(
        "ix_outbox_messages_conversation_message_id",
        "outbox_messages",
        ["conversation_message_id"],
    )
    op.create_index("ix_outbox_messages_ticket_id", "outbox_messages", ["ticket_id"])
    op.create_index("ix_outbox_messages_update_id", "outbox_messages", ["update_id"])
    # A replayed update finds what it stored the first time (bot.customers.chat.open_chat).
    op.create_index(
        "ix_conversation_messages_telegram_update_id",
        "conversation_messages",
        ["telegram_update_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_messages_telegram_update_id", "conversation_messages")
    op.drop_table("outbox_messages")
    op.drop_table("inbox_updates")
