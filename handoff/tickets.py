"""Tickets: a customer's request for a human, opened at handoff (one active ticket per customer)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.models import ACTIVE_TICKET_STATUSES, Customer, Ticket, TicketStatus
from retrieval.decision import Decision


async def active_ticket(session: AsyncSession, customer_id: int) -> Ticket | None:
    return await session.scalar(
        select(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.status.in_(ACTIVE_TICKET_STATUSES))
        .order_by(Ticket.id.desc())
        .limit(1)
    )


async def escalate(
    session: AsyncSession,
    customer: Customer,
    *,
    subject: str,
    decision: Decision,
    opening_message_id: int | None,
) -> tuple[Ticket, bool]:
    """Open a ticket for the customer, or return the active one; True when it is new.

    The ticket points at the conversation, which already holds every message, so the agent
    reads the whole context and the customer repeats nothing.
    """
    ticket = await active_ticket(session, customer.id)
    if ticket is not None:
        return ticket, False
    ticket = Ticket(
        customer_id=customer.id,
        status=TicketStatus.NEW,
        reason=decision.reason.value,
        language=decision.language or customer.language,
        subject=subject[:1000],
        decision=decision.to_dict(),
        opening_message_id=opening_message_id,
    )
    session.add(ticket)
    await session.flush()
    return ticket, True
