"""Tickets: a customer's request for a human — one active ticket per customer, one owner each.

Every change is written to the ticket's audit trail (``ticket_events``). These functions work on
the database only; the agents' Telegram desk (bot.agents.desk) and the admin API call them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import utcnow
from handoff.desk.routing import Routing, route
from handoff.desk.teams import default_team, team_for_tags
from handoff.line.queue import agents_on_duty, queue_position
from handoff.models import (
    ACTIVE_TICKET_STATUSES,
    Agent,
    Customer,
    Priority,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from retrieval.decision import Decision

logger = logging.getLogger(__name__)

# A customer who writes again this soon after a close is still on the same matter.
REOPEN_WINDOW = timedelta(hours=24)
LOW_RATING = 2
COMMENT_WINDOW = timedelta(minutes=10)


class Actor:
    AGENT = "agent"
    CUSTOMER = "customer"
    BOT = "bot"


@dataclass(frozen=True)
class AgentProfile:
    """An agent as the messenger tells it."""

    user_id: int
    name: str
    username: str | None = None


@dataclass(frozen=True)
class Claim:
    """The outcome of a Take: who owns the ticket now, and whether it was this press."""

    won: bool
    owner: Agent | None


def recently_closed(ticket: Ticket) -> bool:
    """Closed within the reopen window: the customer is still on the same matter."""
    return (
        not ticket.is_active
        and ticket.resolved_at is not None
        and utcnow() - ticket.resolved_at <= REOPEN_WINDOW
    )


async def latest_ticket(session: AsyncSession, customer: Customer) -> Ticket | None:
    """The customer's newest ticket, whatever its status."""
    if customer.latest_ticket_id is None:
        return None
    return await session.get(Ticket, customer.latest_ticket_id)


def awaits_rating_comment(ticket: Ticket) -> bool:
    """Rated a moment ago and no comment yet: the customer's next words are the comment."""
    return (
        not ticket.is_active
        and ticket.rated_at is not None
        and ticket.rating_comment is None
        and utcnow() - ticket.rated_at <= COMMENT_WINDOW
    )


# Events that change nothing the context card or the topic's name shows.
NOT_ON_THE_CARD = frozenset({"note", "faq_sent", "rated", "rating_comment", "undeliverable"})


def record_event(
    session: AsyncSession,
    ticket: Ticket,
    action: str,
    *,
    actor: str,
    agent: Agent | None = None,
    **details: Any,
) -> TicketEvent:
    """Add the event to the ticket's trail; unless it is one the card does not show, the card
    is due an update."""
    if action not in NOT_ON_THE_CARD:
        mark_card_stale(ticket)
    event = TicketEvent(
        ticket_id=ticket.id,
        agent_id=agent.id if agent else None,
        actor=actor,
        action=action,
        details=details or None,
    )
    session.add(event)
    return event


async def escalate(
    session: AsyncSession,
    customer: Customer,
    *,
    subject: str,
    decision: Decision,
    opening_message_id: int | None,
    texts: Sequence[str] = (),
    considered_tags: Sequence[str] = (),
) -> tuple[Ticket, bool]:
    """Open a ticket for the customer, or return the active one; True when it is new.

    A ticket closed within the reopen window is reopened instead (same owner, same topic).

    The ticket points at the conversation, which already holds every message, so the agent
    reads the whole context and the customer repeats nothing. Routing rules set its priority and
    tags from the customer's words (``texts``), language and the entries the bot considered.

    Safe when two handlers (on two replicas, say) escalate for one customer at once: the
    database keeps one active ticket per customer, and the caller that lost the race gets the
    winner's ticket with False.
    """
    ticket = await latest_ticket(session, customer)
    if ticket is not None and ticket.is_active:
        return ticket, False
    try:
        # A savepoint, so that losing the race leaves the caller's transaction usable.
        async with session.begin_nested():
            if ticket is not None and recently_closed(ticket):
                # Locked and read again: a concurrent escalation may have reopened it already.
                await session.refresh(ticket, with_for_update=True)
                if ticket.is_active:
                    return ticket, False
                reopen(session, ticket)
                await session.flush()
                return ticket, True
            return await _open_ticket(
                session,
                customer,
                subject=subject,
                decision=decision,
                opening_message_id=opening_message_id,
                texts=texts,
                considered_tags=considered_tags,
            ), True
    except IntegrityError:
        active = await active_ticket(session, customer.id)
        if active is None:  # the winner's ticket was closed at once: a very short race
            raise
        logger.info("customer %s: escalated twice at once, kept ticket #%s", customer.id, active.id)
        customer.latest_ticket_id = active.id
        return active, False


async def active_ticket(session: AsyncSession, customer_id: int) -> Ticket | None:
    """The customer's active ticket (there is at most one), read from the database."""
    return await session.scalar(
        select(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.status.in_(ACTIVE_TICKET_STATUSES))
        .execution_options(populate_existing=True)
    )


async def _open_ticket(
    session: AsyncSession,
    customer: Customer,
    *,
    subject: str,
    decision: Decision,
    opening_message_id: int | None,
    texts: Sequence[str],
    considered_tags: Sequence[str],
) -> Ticket:
    language = decision.language or customer.language
    routed = await route(
        session,
        texts=[subject, *texts],
        language=language,
        tags=considered_tags,
        customer_id=customer.id,
    )
    team_id = await _routed_team(session, routed, considered_tags)
    ticket = Ticket(
        customer_id=customer.id,
        team_id=team_id,
        status=TicketStatus.NEW,
        priority=routed.priority or Priority.NORMAL,
        reason=decision.reason.value,
        language=language,
        subject=subject[:1000],
        decision=decision.to_dict(),
        opening_message_id=opening_message_id,
        tags=list(routed.tags),
    )
    session.add(ticket)
    await session.flush()  # here the one-active-ticket index refuses a second one
    # The queue it joins, kept so that its wait, once answered, can be told per place in line.
    ticket.queue_position = await queue_position(session, ticket)
    ticket.agents_on_duty = await agents_on_duty(session, utcnow(), team_id=team_id)
    # The customer may come from an earlier session: write the pointer, not just the attribute.
    await session.execute(
        update(Customer).where(Customer.id == customer.id).values(latest_ticket_id=ticket.id)
    )
    customer.latest_ticket_id = ticket.id
    record_event(
        session,
        ticket,
        "created",
        actor=Actor.BOT,
        reason=ticket.reason,
        rules=routed.rules,
        team=team_id,
    )
    return ticket


async def _routed_team(session: AsyncSession, routed: Routing, tags: Sequence[str]) -> int:
    """A routing rule's team, else the catalogue of services (the team owning the tags of the
    entries the bot weighed, or those the rules added), else the default team."""
    if routed.team_id is not None:
        return routed.team_id
    owner = await team_for_tags(session, [*tags, *routed.tags])
    return (owner or await default_team(session)).id


async def register_agent(session: AsyncSession, profile: AgentProfile) -> Agent:
    """The agent behind an action in an agents' group, created on first contact (the team they
    act for is ``handoff.desk.teams.acting_team``)."""
    agent = await session.scalar(select(Agent).where(Agent.telegram_user_id == profile.user_id))
    if agent is None:
        agent = Agent(telegram_user_id=profile.user_id, name=profile.name[:200])
        session.add(agent)
    agent.name = profile.name[:200]
    agent.username = profile.username
    agent.last_active_at = utcnow()
    await session.flush()
    return agent


async def find_agent(session: AsyncSession, who: str) -> Agent | None:
    """A known agent by @username or by name (case-insensitive)."""
    wanted = who.strip().removeprefix("@").casefold()
    for agent in await session.scalars(select(Agent).order_by(Agent.id)):
        if wanted in ((agent.username or "").casefold(), agent.name.casefold()):
            return agent
    return None


async def take(session: AsyncSession, ticket: Ticket, agent: Agent) -> Claim:
    """Claim the ticket for the agent, atomically: of two presses at once exactly one wins."""
    if ticket.assignee_id == agent.id:
        return Claim(True, agent)
    claimed = await session.execute(
        update(Ticket)
        .where(
            Ticket.id == ticket.id,
            Ticket.assignee_id.is_(None),
            Ticket.status.in_(ACTIVE_TICKET_STATUSES),
        )
        .values(assignee_id=agent.id, status=TicketStatus.OPEN, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.refresh(ticket)
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        owner = await session.get(Agent, ticket.assignee_id) if ticket.assignee_id else None
        return Claim(False, owner)
    record_event(session, ticket, "taken", actor=Actor.AGENT, agent=agent)
    return Claim(True, agent)


async def owner_of(session: AsyncSession, ticket: Ticket) -> Agent | None:
    return await session.get(Agent, ticket.assignee_id) if ticket.assignee_id else None


def hand_over(session: AsyncSession, ticket: Ticket, by: Agent, to: Agent) -> None:
    """The owner passes the ticket to a colleague (the caller checks that ``by`` owns it)."""
    ticket.assignee_id = to.id
    if ticket.status == TicketStatus.NEW:
        ticket.status = TicketStatus.OPEN
    record_event(session, ticket, "handed_over", actor=Actor.AGENT, agent=by, to_agent=to.id)


def set_priority(session: AsyncSession, ticket: Ticket, priority: Priority, agent: Agent) -> None:
    record_event(
        session,
        ticket,
        "priority",
        actor=Actor.AGENT,
        agent=agent,
        old=ticket.priority,
        new=priority.value,
    )
    ticket.priority = priority


async def close(session: AsyncSession, ticket: Ticket, agent: Agent | None) -> bool:
    """Close the ticket if it is still active; of two closes at once (the group and the API,
    say) exactly one does it and gets True, so the customer is asked to rate once."""
    now = utcnow()
    closed = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status.in_(ACTIVE_TICKET_STATUSES))
        .values(
            status=TicketStatus.CLOSED,
            resolved_at=now,
            rating=None,
            rating_comment=None,
            rated_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(ticket)
    if not closed.rowcount:  # type: ignore[attr-defined]
        return False
    record_event(session, ticket, "closed", actor=Actor.AGENT if agent else Actor.BOT, agent=agent)
    return True


def reopen(session: AsyncSession, ticket: Ticket) -> None:
    """The customer wrote again soon after the close: the same owner carries on."""
    ticket.status = TicketStatus.OPEN if ticket.assignee_id else TicketStatus.NEW
    ticket.resolved_at = None
    ticket.reopened_at = utcnow()
    record_event(session, ticket, "reopened", actor=Actor.CUSTOMER)


def note_agent_reply(session: AsyncSession, ticket: Ticket, agent: Agent, kind: str) -> None:
    """An agent's message reached the customer: the first one is the first response."""
    now = utcnow()
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    if ticket.team_first_response_at is None:
        ticket.team_first_response_at = now
    ticket.responded_at = now
    if ticket.is_active:
        ticket.status = TicketStatus.WAITING
    record_event(session, ticket, "replied", actor=Actor.AGENT, agent=agent, kind=kind)


def note_customer_message(ticket: Ticket) -> None:
    if ticket.status == TicketStatus.WAITING:
        ticket.status = TicketStatus.OPEN
        mark_card_stale(ticket)


def mark_card_stale(ticket: Ticket) -> None:
    """The card and the topic's name no longer show the ticket as it is (committed with the
    change: the desk's next look, or the line's job, brings them up to date)."""
    ticket.card_revision = (ticket.card_revision or 0) + 1


def add_note(session: AsyncSession, ticket: Ticket, agent: Agent, text: str) -> None:
    """An internal note: kept in the audit trail, never sent to the customer."""
    record_event(session, ticket, "note", actor=Actor.AGENT, agent=agent, text=text)


def rate(session: AsyncSession, ticket: Ticket, rating: int) -> None:
    if not 1 <= rating <= 5:
        raise ValueError(f"a rating is 1 to 5, not {rating}")
    ticket.rating = rating
    ticket.rated_at = utcnow()
    record_event(session, ticket, "rated", actor=Actor.CUSTOMER, rating=rating)


def comment_on_rating(session: AsyncSession, ticket: Ticket, text: str) -> None:
    ticket.rating_comment = text[:2000]
    record_event(session, ticket, "rating_comment", actor=Actor.CUSTOMER)


async def past_tickets(session: AsyncSession, customer_id: int, before: int) -> list[Ticket]:
    """The customer's earlier tickets, newest first (their ratings go on the context card)."""
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.id < before)
        .order_by(Ticket.id.desc())
        .limit(20)
    )
    return list(rows)
