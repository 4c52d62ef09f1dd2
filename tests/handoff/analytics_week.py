"""A synthetic support week written straight into the tables, every timestamp given: four
customers' conversations around the week of 2 March 2026 and six tickets opened in it (what
tests/handoff/test_analytics.py reports on)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handoff.models import (
    Agent,
    AnswerVote,
    ConversationMessage,
    Customer,
    Direction,
    MessageKind,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from knowledge_base.models import FaqEntry
from retrieval.decision import Outcome, Reason

KYIV = "Europe/Kyiv"  # UTC+2 all through the week below (summer time starts on 29 March)
WEEK_START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
WEEK_END = datetime(2026, 3, 9, tzinfo=UTC)
CANCEL, REFUND = "cancel-subscription", "refund"


def at(day: int, clock: str) -> datetime:
    """A moment of March 2026 in UTC, e.g. ``at(2, "12:00:30")``."""
    return datetime.fromisoformat(f"2026-03-{day:02d}T{clock}+00:00")


@dataclass
class History:
    """Writes a support history straight into the tables, every timestamp given."""

    session: AsyncSession

    async def customer(self, user_id: int, name: str) -> Customer:
        customer = Customer(
            telegram_user_id=user_id, chat_id=user_id, first_name=name, language="en"
        )
        self.session.add(customer)
        await self.session.flush()
        return customer

    async def agent(self, user_id: int, name: str) -> Agent:
        agent = Agent(telegram_user_id=user_id, name=name)
        self.session.add(agent)
        await self.session.flush()
        return agent

    async def faq(self, key: str, question: str) -> None:
        self.session.add(FaqEntry(key=key, question=question, answer="…", language="en"))
        await self.session.flush()

    async def asks(
        self,
        customer: Customer,
        when: datetime,
        outcome: Outcome | None = None,
        reason: Reason | None = None,
        *,
        kind: MessageKind = MessageKind.TEXT,
        faq_key: str | None = None,
    ) -> ConversationMessage:
        """The customer's message, with what the bot decided about it."""
        return await self._message(
            customer, when, Direction.INBOUND, kind, outcome, reason, faq_key
        )

    async def bot_says(
        self,
        customer: Customer,
        when: datetime,
        outcome: Outcome | None = None,
        reason: Reason | None = None,
        *,
        faq_key: str | None = None,
    ) -> ConversationMessage:
        return await self._message(
            customer, when, Direction.OUTBOUND, MessageKind.TEXT, outcome, reason, faq_key
        )

    async def _message(
        self,
        customer: Customer,
        when: datetime,
        direction: Direction,
        kind: MessageKind,
        outcome: Outcome | None,
        reason: Reason | None,
        faq_key: str | None,
    ) -> ConversationMessage:
        message = ConversationMessage(
            customer_id=customer.id,
            direction=direction,
            kind=kind,
            outcome=outcome,
            reason=reason,
            faq_key=faq_key,
            created_at=when,
        )
        self.session.add(message)
        await self.session.flush()
        return message

    async def vote(self, answer: ConversationMessage, *, helpful: bool) -> None:
        self.session.add(
            AnswerVote(
                answer_message_id=answer.id,
                customer_id=answer.customer_id,
                faq_key=answer.faq_key or "",
                helpful=helpful,
                created_at=answer.created_at + timedelta(seconds=20),
            )
        )
        await self.session.flush()

    async def ticket(
        self,
        customer: Customer,
        opened: datetime,
        reason: Reason,
        *,
        agent: Agent | None = None,
        first_response_after: int | None = None,
        resolved_after: int | None = None,
        rating: int | None = None,
        opening: ConversationMessage | None = None,
    ) -> Ticket:
        """A ticket; the times after opening are in seconds."""
        ticket = Ticket(
            customer_id=customer.id,
            status=TicketStatus.CLOSED if resolved_after is not None else TicketStatus.OPEN,
            reason=reason,
            language="en",
            subject="…",
            opening_message_id=opening.id if opening else None,
            created_at=opened,
            assignee_id=agent.id if agent else None,
            first_response_at=after(opened, first_response_after),
            resolved_at=after(opened, resolved_after),
            rating=rating,
        )
        self.session.add(ticket)
        await self.session.flush()
        return ticket

    async def reopened(self, ticket: Ticket, when: datetime) -> None:
        self.session.add(
            TicketEvent(ticket_id=ticket.id, actor="customer", action="reopened", created_at=when)
        )
        await self.session.flush()


def after(moment: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else moment + timedelta(seconds=seconds)


async def record_week(history: History) -> None:
    """Four customers' conversations around the week of 2 March, and six tickets opened in it."""
    h = history
    olga, petr = await h.agent(10, "Olga"), await h.agent(11, "Petr")
    await h.faq(CANCEL, "How do I cancel my subscription?")
    await h.faq(REFUND, "How do I get a refund?")
    ann, bob, cat = (
        await h.customer(1, "Ann"),
        await h.customer(2, "Bob"),
        await h.customer(3, "Cat"),
    )

    # Ann, Monday 10:00: answered at once, in two parts (a long answer), 👍 — resolved by the bot.
    await h.asks(ann, at(2, "10:00"), Outcome.ANSWER, Reason.CONFIDENT, faq_key=CANCEL)
    await h.bot_says(ann, at(2, "10:00:01"), Outcome.ANSWER, Reason.CONFIDENT, faq_key=CANCEL)
    last_part = await h.bot_says(ann, at(2, "10:00:02"), Outcome.ANSWER, faq_key=CANCEL)
    await h.vote(last_part, helpful=True)
    # Ann, 12:00: "did you mean…", she picks the refund entry, 👎; at 12:59 (58 minutes later:
    # the same conversation) nothing fits and a ticket opens — answered, but not resolved.
    await h.asks(ann, at(2, "12:00"), Outcome.CLARIFY, Reason.AMBIGUOUS)
    await h.bot_says(ann, at(2, "12:00:01"), Outcome.CLARIFY, Reason.AMBIGUOUS)
    await h.asks(ann, at(2, "12:00:30"), kind=MessageKind.BUTTON)
    picked = await h.bot_says(
        ann, at(2, "12:00:31"), Outcome.ANSWER, Reason.CUSTOMER_CHOICE, faq_key=REFUND
    )
    await h.vote(picked, helpful=False)
    question = await h.asks(ann, at(2, "12:59"), Outcome.HANDOFF, Reason.LOW_CONFIDENCE)
    await h.bot_says(ann, at(2, "12:59:01"), Outcome.HANDOFF, Reason.LOW_CONFIDENCE)
    await h.ticket(
        ann,
        at(2, "12:59"),
        Reason.LOW_CONFIDENCE,
        agent=olga,
        first_response_after=60,
        resolved_after=3600,
        rating=5,
        opening=question,
    )
    earlier = await h.ticket(
        ann,
        datetime(2026, 2, 28, 10, tzinfo=UTC),
        Reason.LOW_CONFIDENCE,
        agent=olga,
        first_response_after=10,
        resolved_after=20,
        rating=1,
    )
    await h.reopened(earlier, at(4, "12:00"))
    await h.reopened(earlier, WEEK_END)

    # Bob, Tuesday 09:00: /human at once — a handoff, no answer.
    human = await h.asks(bob, at(3, "09:00"), kind=MessageKind.COMMAND)
    await h.bot_says(bob, at(3, "09:00:01"), Outcome.HANDOFF, Reason.CUSTOMER_REQUEST)
    await h.ticket(
        bob,
        at(3, "09:00"),
        Reason.CUSTOMER_REQUEST,
        agent=petr,
        first_response_after=300,
        resolved_after=7200,
        rating=2,
        opening=human,
    )
    # Bob, 15:00: a greeting, a sticker and an edit — a conversation, neither answered nor handed off.
    await h.asks(bob, at(3, "15:00"), Outcome.CLARIFY, Reason.GREETING)
    await h.bot_says(bob, at(3, "15:00:01"), Outcome.CLARIFY, Reason.GREETING)
    await h.asks(bob, at(3, "15:00:30"), kind=MessageKind.STICKER)
    await h.bot_says(bob, at(3, "15:00:31"))
    await h.asks(bob, at(3, "15:00:40"), kind=MessageKind.EDIT)

    # Cat, Sunday 1 March 20:00, before the week: not counted at all.
    await h.asks(cat, at(1, "20:00"), Outcome.ANSWER, Reason.CONFIDENT, faq_key=CANCEL)
    await h.bot_says(cat, at(1, "20:00:01"), Outcome.ANSWER, Reason.CONFIDENT, faq_key=CANCEL)
    # Cat, 23:30 and on past midnight: a conversation begun before the week; its answer at
    # 00:10 falls in the week and counts for the entry, the conversation does not.
    await h.asks(cat, at(1, "23:30"), Outcome.ANSWER, Reason.CONFIDENT, faq_key=CANCEL)
    before = await h.bot_says(
        cat, at(1, "23:30:01"), Outcome.ANSWER, Reason.CONFIDENT, faq_key=CANCEL
    )
    await h.vote(before, helpful=True)
    await h.asks(cat, at(2, "00:10"), Outcome.ANSWER, Reason.CONFIDENT, faq_key=CANCEL)
    await h.bot_says(cat, at(2, "00:10:01"), Outcome.ANSWER, Reason.CONFIDENT, faq_key=CANCEL)
    # Cat, Sunday 8 March 23:30 UTC (Monday 01:30 in Kyiv): answered; the handoff at the
    # week's end (09 March 00:00) belongs to the next period.
    await h.asks(cat, at(8, "23:30"), Outcome.ANSWER, Reason.CONFIDENT, faq_key=CANCEL)
    await h.bot_says(cat, at(8, "23:30:01"), Outcome.ANSWER, Reason.CONFIDENT, faq_key=CANCEL)
    late = await h.asks(cat, WEEK_END, Outcome.HANDOFF, Reason.LOW_CONFIDENCE)
    await h.ticket(
        cat,
        WEEK_END,
        Reason.LOW_CONFIDENCE,
        agent=olga,
        first_response_after=10,
        rating=1,
        opening=late,
    )

    # Tickets without a stored conversation: they still count for the agents.
    dan, eve = await h.customer(4, "Dan"), await h.customer(5, "Eve")
    fay, gus = await h.customer(6, "Fay"), await h.customer(7, "Gus")
    await h.ticket(
        dan,
        at(4, "10:00"),
        Reason.REPEATED_FAILURE,
        agent=olga,
        first_response_after=120,
        resolved_after=7200,
        rating=4,
    )
    await h.ticket(eve, at(5, "11:00"), Reason.LOW_CONFIDENCE, agent=olga, first_response_after=600)
    await h.ticket(
        fay,
        at(6, "14:00"),
        Reason.CUSTOMER_REQUEST,
        agent=petr,
        first_response_after=900,
        resolved_after=1800,
        rating=5,
    )
    await h.ticket(gus, at(7, "16:00"), Reason.CUSTOMER_REQUEST)
