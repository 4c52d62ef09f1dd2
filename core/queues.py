"""The two durable queues between Firstline and Telegram, kept in the same database as the rest.

- The **inbox** holds every update as it arrived, unique by Telegram's ``update_id``, committed
  before Telegram is told it was received (the next ``getUpdates`` offset, the webhook's 200).
  Processing reads from here; an update not finished (crash, database fault) is processed again.
- The **outbox** holds everything the product sends, committed with the decision that caused it;
  a sender delivers rows in order per destination chat, with retries that survive restarts.

Rows are claimed with a lease (``claimed_until``) by a conditional UPDATE, so several replicas on
one PostgreSQL never work on the same row at once, and a replica that died releases its rows when
the lease runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UtcDateTime, utcnow

LEASE = timedelta(seconds=60)


class QueueStatus(StrEnum):
    PENDING = "pending"  # waiting (again, after a failed attempt: see next_attempt_at)
    DONE = "done"  # processed / delivered
    FAILED = "failed"  # given up: the reason is in last_error


class InboxUpdate(Base):
    """One Telegram update, raw, as it arrived."""

    __tablename__ = "inbox_updates"
    __table_args__ = (Index("ix_inbox_updates_pending", "status", "next_attempt_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # The chat it belongs to: updates of one chat are processed in order (None: no chat).
    chat_key: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    payload: Mapped[str] = mapped_column(Text)  # the update's JSON as Telegram sent it
    status: Mapped[str] = mapped_column(String(16), default=QueueStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class OutboxMessage(Base):
    """One call to the Bot API the product wants made (a message, a copy, an edit…)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_pending", "status", "next_attempt_at", "id"),
        Index("ix_outbox_messages_chat", "chat_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)  # the destination: its rows go in order
    method: Mapped[str] = mapped_column(String(40))  # the Bot API method
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The conversation message this delivery is (its Telegram id is filled in once sent), the
    # ticket it belongs to (agents see "not delivered yet" there), and what it is for.
    conversation_message_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    purpose: Mapped[str] = mapped_column(String(32), default="reply")
    status: Mapped[str] = mapped_column(String(16), default=QueueStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # Whether the agents were told it is late (once), and the message id Telegram gave it.
    late_notice_sent: Mapped[bool] = mapped_column(default=False)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
