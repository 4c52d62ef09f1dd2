"""Customers and their conversation history: what the handoff context and analytics read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import utcnow
from handoff.models import AnswerVote, ConversationMessage, Customer, Direction, MessageKind
from knowledge_base.language import SUPPORTED_LANGUAGES
from retrieval.decision import Decision, Outcome, Turn

# Older messages are another conversation: asking the same thing tomorrow is not a failure.
CONVERSATION_WINDOW = timedelta(hours=1)
HISTORY_TURNS = 8
LAST_SEEN_PRECISION = timedelta(minutes=1)
# The "None of these" button under a clarify: its press is stored as a button message with it.
NONE_OF_THESE = "none"


@dataclass(frozen=True)
class CustomerProfile:
    """Who wrote, as the messenger tells it."""

    user_id: int
    chat_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


def supported_language(code: str | None, default: str = "en") -> str:
    """Our language for a messenger's language code ('uk', 'ru-RU', 'en-GB', …)."""
    prefix = (code or "").split("-")[0].lower()
    return prefix if prefix in SUPPORTED_LANGUAGES else default


async def register_customer(session: AsyncSession, profile: CustomerProfile) -> Customer:
    """The customer behind a message, created on first contact, names kept current."""
    customer = await session.scalar(
        select(Customer).where(Customer.telegram_user_id == profile.user_id)
    )
    if customer is None:
        customer = Customer(
            telegram_user_id=profile.user_id,
            language=supported_language(profile.language_code),
        )
        session.add(customer)
    changes = {
        "chat_id": profile.chat_id,
        "first_name": profile.first_name[:200],
        "last_name": profile.last_name[:200] if profile.last_name else None,
        "username": profile.username,
    }
    for name, value in changes.items():
        if getattr(customer, name, None) != value:
            setattr(customer, name, value)
    now = utcnow()
    # Written at most once a minute: a write per message would be most of a message's cost.
    if customer.last_seen_at is None or now - customer.last_seen_at > LAST_SEEN_PRECISION:
        customer.last_seen_at = now
    await session.flush()
    return customer


async def get_customer(session: AsyncSession, *, user_id: int) -> Customer | None:
    return await session.scalar(select(Customer).where(Customer.telegram_user_id == user_id))


def record_message(
    session: AsyncSession,
    customer: Customer,
    direction: Direction,
    kind: MessageKind,
    *,
    text: str | None = None,
    telegram_message_id: int | None = None,
    telegram_update_id: int | None = None,
    file_id: str | None = None,
    decision: Decision | None = None,
    faq_key: str | None = None,
    details: dict[str, Any] | None = None,
    ticket_id: int | None = None,
    agent_id: int | None = None,
    topic_message_id: int | None = None,
) -> ConversationMessage:
    """Add one message of the conversation to the session (flushed with the session)."""
    message = ConversationMessage(
        customer_id=customer.id,
        direction=direction,
        kind=kind,
        # PostgreSQL refuses NUL in text, and no customer means one: a message keeps the rest.
        text=text.replace("\x00", "") if text else text,
        telegram_message_id=telegram_message_id,
        telegram_update_id=telegram_update_id,
        file_id=file_id,
        outcome=decision.decision.value if decision else None,
        reason=decision.reason.value if decision else None,
        faq_key=faq_key or (decision.faq_key if decision else None),
        details=details,
        ticket_id=ticket_id,
        agent_id=agent_id,
        topic_message_id=topic_message_id,
    )
    session.add(message)
    return message


async def recent_turns(
    session: AsyncSession, customer_id: int, *, before: int | None = None
) -> list[Turn]:
    """The last turns of the current conversation, oldest first, as the answer engine reads them.

    Only the columns a turn needs, as plain rows: loading whole messages for every update was
    a measurable share of the bot's time per message."""
    rows = await session.execute(
        select(
            ConversationMessage.direction,
            ConversationMessage.text,
            ConversationMessage.faq_key,
            ConversationMessage.outcome,
        )
        .where(
            ConversationMessage.customer_id == customer_id,
            ConversationMessage.created_at >= utcnow() - CONVERSATION_WINDOW,
            ConversationMessage.kind == MessageKind.TEXT,
            ConversationMessage.id < before if before is not None else true(),
        )
        .order_by(ConversationMessage.id.desc())
        .limit(HISTORY_TURNS)
    )
    return [_turn(*row) for row in reversed(rows.all())]


def _turn(direction: str, text: str | None, faq_key: str | None, outcome: str | None) -> Turn:
    if direction == Direction.INBOUND:
        return Turn(text=text or "", from_customer=True)
    return Turn(
        text=text or "",
        from_customer=False,
        faq_key=faq_key,
        outcome=Outcome(outcome) if outcome else None,
    )


async def inbound_of_update(
    session: AsyncSession, customer_id: int, update_id: int
) -> ConversationMessage | None:
    """The customer's message an update stored, if it was processed before (a replay)."""
    return await session.scalar(
        select(ConversationMessage).where(
            ConversationMessage.telegram_update_id == update_id,
            ConversationMessage.customer_id == customer_id,
            ConversationMessage.direction == Direction.INBOUND,
        )
    )


async def conversation(
    session: AsyncSession, customer_id: int, *, limit: int | None = None
) -> list[ConversationMessage]:
    """The customer's messages in and out, oldest first (the last ``limit`` of them)."""
    query = (
        select(ConversationMessage)
        .where(ConversationMessage.customer_id == customer_id)
        .order_by(ConversationMessage.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(reversed(list(await session.scalars(query))))


async def sent_message(
    session: AsyncSession, customer_id: int, telegram_message_id: int
) -> ConversationMessage | None:
    """The bot's message with this Telegram id in the customer's chat."""
    return await session.scalar(
        select(ConversationMessage)
        .where(
            ConversationMessage.customer_id == customer_id,
            ConversationMessage.direction == Direction.OUTBOUND,
            ConversationMessage.telegram_message_id == telegram_message_id,
        )
        .order_by(ConversationMessage.id.desc())
        .limit(1)
    )


async def record_vote(
    session: AsyncSession, answer: ConversationMessage, *, helpful: bool, faq_entry_id: int | None
) -> AnswerVote:
    """Store the customer's 👍 / 👎 on an answer; pressing again changes the vote, never adds one."""
    vote = await session.scalar(select(AnswerVote).where(AnswerVote.answer_message_id == answer.id))
    if vote is None:
        vote = AnswerVote(
            answer_message_id=answer.id,
            customer_id=answer.customer_id,
            faq_entry_id=faq_entry_id,
            faq_key=answer.faq_key or "",
        )
        session.add(vote)
    vote.helpful = helpful
    vote.created_at = utcnow()
    await session.flush()
    return vote
