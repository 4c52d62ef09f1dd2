"""The queue of tickets waiting for a person: a ticket's place in it, and the agents on duty."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.models import ACTIVE_TICKET_STATUSES, Agent, Team, Ticket

# An agent who acted this recently is on shift.
ACTIVE_AGENT_WINDOW = timedelta(minutes=30)


def of_team(team: Team | None) -> ColumnElement[bool]:
    """SQL: the team's tickets (the default team's include those made before teams existed);
    None: every ticket."""
    if team is None:
        return true()
    if team.is_default:
        return or_(Ticket.team_id == team.id, Ticket.team_id.is_(None))
    return Ticket.team_id == team.id


def same_team(team_id: int | None) -> ColumnElement[bool]:
    """SQL: tickets of this team (None: those that have none, made before teams existed)."""
    return Ticket.team_id.is_(None) if team_id is None else Ticket.team_id == team_id


async def queue_position(session: AsyncSession, ticket: Ticket) -> int:
    """1-based place among the unassigned active tickets of the same team and priority, in the
    order they reached the team (0: assigned)."""
    if ticket.assignee_id is not None or not ticket.is_active:
        return 0
    arrived = func.coalesce(Ticket.team_joined_at, Ticket.created_at)
    mine = ticket.team_joined_at or ticket.created_at
    ahead = await session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.status.in_(ACTIVE_TICKET_STATUSES),
            Ticket.assignee_id.is_(None),
            Ticket.priority == ticket.priority,
            same_team(ticket.team_id),
            Ticket.id != ticket.id,
            or_(arrived < mine, and_(arrived == mine, Ticket.id < ticket.id)),
        )
    )
    return (ahead or 0) + 1


async def agents_on_duty(session: AsyncSession, now: datetime, *, team_id: int | None) -> int:
    """Agents of the team who acted within the last half hour (None: of every team)."""
    recent = Agent.last_active_at >= now - ACTIVE_AGENT_WINDOW
    if team_id is not None:
        recent = and_(recent, Agent.team_id == team_id)
    active = await session.scalar(select(func.count(Agent.id)).where(recent))
    return active or 0


def awaiting_response() -> ColumnElement[bool]:
    """SQL for ``Ticket.awaits_response``: no agent answered since the current round began."""
    return or_(
        Ticket.responded_at.is_(None),
        and_(Ticket.reopened_at.is_not(None), Ticket.responded_at < Ticket.reopened_at),
        and_(Ticket.team_joined_at.is_not(None), Ticket.responded_at < Ticket.team_joined_at),
    )
