"""The unanswered questions of a period, read from the history: handed off because nothing fitted,
"Not that" on the answer, or "None of these" on the options; and what agents replied to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import CompoundSelect, ScalarSelect, SQLColumnExpression, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handoff.conversations import NONE_OF_THESE
from handoff.insights.periods import check_period
from handoff.models import (
    AnswerVote,
    ConversationMessage,
    Customer,
    Direction,
    MessageKind,
    Ticket,
    TicketStatus,
)
from retrieval.decision import Outcome, Reason

# Newest questions first. The similarity matrix is questions², float32: 2,000 -> 16 MB, 5,000 ->
# 100 MB, and the greedy pass is quadratic too; beyond that, narrow the period.
DEFAULT_LIMIT = 2000
MAX_LIMIT = 5000
# The customer's words were not a question for the FAQ: the bot was right not to answer.
NOT_QUESTIONS = (
    Reason.CUSTOMER_REQUEST,
    Reason.GREETING,
    Reason.THANKS,
    Reason.SMALLTALK,
    Reason.EMPTY,
    Reason.NOT_TEXT,
)
RESOLVED_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
# A message id column, of a table where it is required or of one where it may be missing.
MessageId = SQLColumnExpression[int] | SQLColumnExpression[int | None]


class AgentReply(BaseModel):
    """What an agent wrote to the customer on a resolved ticket opened by a gap question."""

    ticket_id: int
    text: str
    faq_key: str | None  # set when the agent sent an FAQ entry (/faq <key>)
    sent_at: datetime


@dataclass(frozen=True)
class UnansweredQuestion:
    message_id: int
    customer_id: int
    text: str
    asked_at: datetime
    customer_language: str
    nearest_faq_key: str | None
    ticket_id: int | None  # the resolved ticket it opened


@dataclass(frozen=True)
class GapHistory:
    """The unanswered questions of a period, newest first, and what agents did about them."""

    questions: list[UnansweredQuestion]
    agent_replies: dict[int, list[AgentReply]]  # by ticket id, oldest first
    ticket_faq_keys: dict[int, str]

    @property
    def texts(self) -> list[str]:
        return [question.text for question in self.questions]


def _check_period(since: datetime, until: datetime, limit: int) -> None:
    check_period(since, until)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1 to {MAX_LIMIT}, not {limit}; narrow the period instead")


def _question_up_to(
    customer_id: SQLColumnExpression[int], message_id: MessageId
) -> ScalarSelect[int]:
    """The customer's latest text at or before a message: the question that message was about."""
    earlier = aliased(ConversationMessage)
    return (
        select(func.max(earlier.id))
        .where(
            earlier.customer_id == customer_id,
            earlier.direction == Direction.INBOUND,
            earlier.kind == MessageKind.TEXT,
            earlier.id <= message_id,
        )
        .scalar_subquery()
    )


def _bot_reply_to(
    customer_id: SQLColumnExpression[int], message_id: MessageId
) -> ScalarSelect[int]:
    """The bot's first message after the customer's: it holds the entries the engine weighed."""
    later = aliased(ConversationMessage)
    return (
        select(func.min(later.id))
        .where(
            later.customer_id == customer_id,
            later.direction == Direction.OUTBOUND,
            later.agent_id.is_(None),
            later.id > message_id,
        )
        .scalar_subquery()
    )


def _unanswered_ids(since: datetime) -> CompoundSelect:
    """Ids of the questions behind each kind of failure (the period is checked on the questions;
    a vote or a button press comes after its question, so ``since`` already narrows them)."""
    message = ConversationMessage
    handed_off = select(message.id).where(
        message.direction == Direction.INBOUND,
        message.kind == MessageKind.TEXT,
        message.outcome == Outcome.HANDOFF,
        message.reason == Reason.LOW_CONFIDENCE,
        message.created_at >= since,
    )
    not_that = select(_question_up_to(AnswerVote.customer_id, AnswerVote.answer_message_id)).where(
        AnswerVote.helpful.is_(False), AnswerVote.created_at >= since
    )
    none_of_these = select(_question_up_to(message.customer_id, message.id)).where(
        message.direction == Direction.INBOUND,
        message.kind == MessageKind.BUTTON,
        message.text == NONE_OF_THESE,
        message.created_at >= since,
    )
    return union(handed_off, not_that, none_of_these)


def _nearest_key(reply_key: str | None, reply_details: dict[str, Any] | None) -> str | None:
    candidates = (reply_details or {}).get("candidates") or []
    return str(candidates[0]["faq_key"]) if candidates else reply_key


async def unanswered_questions(
    session: AsyncSession, *, since: datetime, until: datetime, limit: int = DEFAULT_LIMIT
) -> GapHistory:
    """The questions asked in ``[since, until)`` that the bot did not answer, newest ``limit``."""
    _check_period(since, until, limit)
    question = ConversationMessage
    reply = aliased(ConversationMessage)
    rows = await session.execute(
        select(question, Customer.language, reply.faq_key, reply.details)
        .join(Customer, Customer.id == question.customer_id)
        .outerjoin(reply, reply.id == _bot_reply_to(question.customer_id, question.id))
        .where(
            question.id.in_(_unanswered_ids(since)),
            question.created_at >= since,
            question.created_at < until,
            or_(question.reason.is_(None), question.reason.not_in(NOT_QUESTIONS)),
        )
        .order_by(question.created_at.desc(), question.id.desc())
        .limit(limit)
    )
    found = [
        (message, language, _nearest_key(reply_key, details))
        for message, language, reply_key, details in rows
        if (message.text or "").strip()
    ]
    tickets = await _resolved_tickets(session, since, {message.id for message, _, _ in found})
    questions = [
        UnansweredQuestion(
            message_id=message.id,
            customer_id=message.customer_id,
            text=" ".join((message.text or "").split()),
            asked_at=message.created_at,
            customer_language=language,
            nearest_faq_key=nearest,
            ticket_id=tickets.get(message.id, (None, None))[0],
        )
        for message, language, nearest in found
    ]
    faq_keys = {ticket_id: key for ticket_id, key in tickets.values() if key}
    replies = await _agent_replies(session, [ticket_id for ticket_id, _ in tickets.values()])
    return GapHistory(questions, replies, faq_keys)


async def _resolved_tickets(
    session: AsyncSession, since: datetime, question_ids: set[int]
) -> dict[int, tuple[int, str | None]]:
    """Question id -> (ticket id, the FAQ key agents answered with) for the resolved tickets
    these questions opened: the ticket's opening message is the question or a press right after."""
    if not question_ids:
        return {}
    rows = await session.execute(
        select(
            _question_up_to(Ticket.customer_id, Ticket.opening_message_id),
            Ticket.id,
            Ticket.faq_key,
        )
        .where(
            Ticket.created_at >= since,
            Ticket.opening_message_id.is_not(None),
            Ticket.status.in_(RESOLVED_STATUSES),
        )
        .order_by(Ticket.id)
    )
    tickets: dict[int, tuple[int, str | None]] = {}
    for question_id, ticket_id, faq_key in rows:
        if question_id in question_ids:
            tickets.setdefault(question_id, (ticket_id, faq_key))
    return tickets


async def _agent_replies(
    session: AsyncSession, ticket_ids: Sequence[int]
) -> dict[int, list[AgentReply]]:
    if not ticket_ids:
        return {}
    message = ConversationMessage
    rows = await session.execute(
        select(Ticket.id, message.text, message.faq_key, message.created_at)
        .join(Ticket, Ticket.id == message.ticket_id)
        .where(
            Ticket.id.in_(ticket_ids),
            message.direction == Direction.OUTBOUND,
            message.agent_id.is_not(None),
            message.kind == MessageKind.TEXT,
            message.text.is_not(None),
        )
        .order_by(message.id)
    )
    replies: dict[int, list[AgentReply]] = {}
    for ticket_id, text, faq_key, sent_at in rows:
        replies.setdefault(ticket_id, []).append(
            AgentReply(ticket_id=ticket_id, text=text, faq_key=faq_key, sent_at=sent_at)
        )
    return replies
