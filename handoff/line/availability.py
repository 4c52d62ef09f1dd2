"""Whether the line is open, and what customers hear about it: when it opens, how long the wait is,
and the message that the team is online for those who wrote while it was closed.

Everything is computed from the database and a clock passed in, never from memory, so a restart
changes nothing about who was told what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from handoff.line.hours import BusinessHours
from handoff.line.queue import (
    agents_on_duty,
    awaiting_response,
    of_team,
    queue_position,
    same_team,
)
from handoff.line.wait import PastWait, WaitEstimate, estimate_wait
from handoff.models import ACTIVE_TICKET_STATUSES, Customer, SupportSetting, Team, Ticket

HOURS_SETTING = "business_hours"
FIRST_RESPONSE_HISTORY = timedelta(days=7)
# The newest first responses are the ones that say most about today's queue.
FIRST_RESPONSE_SAMPLES = 500


def default_hours(settings: Settings) -> BusinessHours:
    """The schedule from FIRSTLINE_BUSINESS_HOURS, _TIMEZONE and _HOLIDAYS."""
    return BusinessHours.parse(
        settings.business_hours, timezone=settings.timezone, holidays=settings.holidays
    )


async def business_hours(session: AsyncSession, settings: Settings) -> BusinessHours:
    """The line's schedule: as a lead set it over the API, else the settings' default."""
    stored = await session.get(SupportSetting, HOURS_SETTING)
    return BusinessHours.from_dict(stored.value) if stored else default_hours(settings)


async def team_hours(session: AsyncSession, settings: Settings, team: Team) -> BusinessHours:
    """The team's own schedule, else the line's."""
    if team.business_hours is not None:
        return BusinessHours.from_dict(team.business_hours)
    return await business_hours(session, settings)


async def save_business_hours(session: AsyncSession, hours: BusinessHours) -> None:
    await save_setting(session, HOURS_SETTING, hours.to_dict())


async def save_setting(session: AsyncSession, name: str, value: dict[str, object]) -> None:
    stored = await session.get(SupportSetting, name)
    if stored is None:
        session.add(SupportSetting(name=name, value=value))
    else:
        stored.value = value
    await session.flush()


@dataclass(frozen=True)
class ClosedLine:
    """The line is closed now; ``opening`` is when it opens (None: not within 400 days)."""

    opening: datetime | None


async def closed_notice(
    session: AsyncSession, customer: Customer, hours: BusinessHours, now: datetime
) -> ClosedLine | None:
    """Whether to tell the customer now that the line is closed: once per closed period.

    Marks them told; None while open, or when they were told already in this closed period.
    """
    if hours.is_open(now):
        return None
    period_start = hours.current_period_start(now)
    told = customer.closed_notice_at
    if told is not None and (period_start is None or told >= period_start.astimezone(UTC)):
        return None
    await session.execute(
        update(Customer).where(Customer.id == customer.id).values(closed_notice_at=now)
    )
    customer.closed_notice_at = now
    return ClosedLine(hours.next_opening(now))


async def expected_wait(
    session: AsyncSession, ticket: Ticket, hours: BusinessHours, now: datetime
) -> WaitEstimate:
    """The honest bound on the ticket's wait for a first answer, from the live queue and the
    first responses of the last days, counted in open hours (a night's closed line says nothing
    about the queue by day)."""
    since = now - FIRST_RESPONSE_HISTORY
    # The team's own first answers, each counted from when the ticket reached the team.
    answered = await session.execute(
        select(
            func.coalesce(Ticket.team_joined_at, Ticket.created_at),
            Ticket.team_first_response_at,
            Ticket.queue_position,
            Ticket.agents_on_duty,
        )
        .where(
            Ticket.team_first_response_at >= since,
            Ticket.queue_position.is_not(None),
            same_team(ticket.team_id),
        )
        .order_by(Ticket.team_first_response_at.desc())
        .limit(FIRST_RESPONSE_SAMPLES)
    )
    # Only open hours count: a ticket left at closing and answered next morning waited minutes.
    waits = [
        PastWait(hours.open_time_between(opened_at, answered_at), position, agents or 0)
        for opened_at, answered_at, position, agents in answered.all()
        if answered_at is not None and position is not None
    ]
    closing = hours.next_closing(now)
    return estimate_wait(
        position=max(await queue_position(session, ticket), 1),
        active_agents=await agents_on_duty(session, now, team_id=ticket.team_id),
        recent_waits=waits,
        closes_in=closing.astimezone(UTC) - now if closing is not None else None,
        reopens_at=hours.next_opening(closing) if closing is not None else None,
    )


async def waiting_since_closed(
    session: AsyncSession, hours: BusinessHours, now: datetime, *, team: Team | None = None
) -> list[tuple[Customer, Ticket]]:
    """Once the team's line is open: the customers told it was closed whose ticket still waits
    for one of the team's agents and who have not heard yet that the team is online."""
    if not hours.is_open(now):
        return []
    rows = await session.execute(
        select(Customer, Ticket)
        .join(Ticket, Ticket.id == Customer.latest_ticket_id)
        .where(
            Customer.closed_notice_at.is_not(None),
            or_(
                Customer.open_notice_at.is_(None),
                Customer.open_notice_at < Customer.closed_notice_at,
            ),
            Ticket.status.in_(ACTIVE_TICKET_STATUSES),
            Ticket.assignee_id.is_(None),
            of_team(team),
            awaiting_response(),
        )
        .order_by(Ticket.id)
    )
    return [(customer, ticket) for customer, ticket in rows.all()]


async def claim_open_notice(session: AsyncSession, customer: Customer, now: datetime) -> bool:
    """Mark the customer told that the line is open, unless someone (another run, another
    process) did since they were told it was closed; True when this call did."""
    claimed = await session.execute(
        update(Customer)
        .where(
            Customer.id == customer.id,
            or_(
                Customer.open_notice_at.is_(None),
                Customer.open_notice_at < Customer.closed_notice_at,
            ),
        )
        .values(open_notice_at=now)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]
