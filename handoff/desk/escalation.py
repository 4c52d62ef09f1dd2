"""Passing a ticket from one team to another: escalation to the next line, or back.

A ticket belongs to one team at a time and has one owner at a time across all of them: passing it
on clears the owner, and it waits in the new team's queue until one of theirs takes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import utcnow
from handoff.desk.teams import TeamError, team_of
from handoff.desk.tickets import Actor, record_event
from handoff.line.queue import agents_on_duty, queue_position
from handoff.models import (
    ACTIVE_TICKET_STATUSES,
    Agent,
    Team,
    TeamLevel,
    Ticket,
    TicketEvent,
    TicketStatus,
)

ESCALATED = "escalated"
LEVELS = (TeamLevel.FIRST, TeamLevel.SECOND, TeamLevel.THIRD, TeamLevel.DEPARTMENT)


@dataclass(frozen=True)
class Transfer:
    """A ticket passed from one team to another."""

    ticket: Ticket
    from_team: Team
    to_team: Team
    agent: Agent | None
    reason: str

    @property
    def upward(self) -> bool:
        return LEVELS.index(TeamLevel(self.to_team.level)) > LEVELS.index(
            TeamLevel(self.from_team.level)
        )


async def transfer(
    session: AsyncSession, ticket: Ticket, to_team: Team, agent: Agent | None, reason: str
) -> Transfer:
    """Pass the active ticket to ``to_team``: nobody owns it until one of theirs takes it, it
    joins their queue, and the audit trail says who sent it where and why. The caller checks
    that ``agent`` may (the desk's rules)."""
    from_team = await team_of(session, ticket)
    if not ticket.is_active:
        raise TeamError(f"ticket #{ticket.id} is closed")
    if to_team.id == from_team.id:
        raise TeamError(f"ticket #{ticket.id} is already with {to_team.name}")
    now = utcnow()
    # Conditional, like a take: a colleague who took the ticket (or a close) a moment ago wins.
    held_by_none_or_agent: ColumnElement[bool] = Ticket.assignee_id.is_(None)
    if agent is not None:
        held_by_none_or_agent = or_(held_by_none_or_agent, Ticket.assignee_id == agent.id)
    moved = await session.execute(
        update(Ticket)
        .where(
            Ticket.id == ticket.id,
            Ticket.team_id.is_not_distinct_from(ticket.team_id),
            Ticket.status.in_(ACTIVE_TICKET_STATUSES),
            held_by_none_or_agent,
        )
        .values(
            team_id=to_team.id,
            team_joined_at=now,
            team_first_response_at=None,
            assignee_id=None,
            status=TicketStatus.NEW,
            # A new group: the card is posted there; the old one stays in the old topic.
            card_message_id=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(ticket)
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise TeamError(f"ticket #{ticket.id} changed meanwhile (taken, closed or passed on)")
    ticket.queue_position = await queue_position(session, ticket)
    ticket.agents_on_duty = await agents_on_duty(session, now, team_id=to_team.id)
    record_event(
        session,
        ticket,
        ESCALATED,
        actor=Actor.AGENT if agent else Actor.BOT,
        agent=agent,
        from_team=from_team.id,
        to_team=to_team.id,
        from_level=from_team.level,
        to_level=to_team.level,
        reason=reason,
    )
    return Transfer(ticket, from_team, to_team, agent, reason)


async def _latest_move(session: AsyncSession, ticket: Ticket) -> TicketEvent | None:
    """The ticket's latest pass from one team to another (None: never passed on)."""
    latest = await session.scalar(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == ESCALATED)
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    return latest if latest is not None and latest.details else None


async def previous_team(session: AsyncSession, ticket: Ticket) -> Team | None:
    """The team that passed the ticket to its current one (where a hand-back goes)."""
    latest = await _latest_move(session, ticket)
    if latest is None or latest.details is None:
        return None
    return await session.get(Team, latest.details.get("from_team"))


async def latest_transfer_note(session: AsyncSession, ticket: Ticket) -> str | None:
    """ "from First line by @olga: the card was charged twice" for the card, if it was passed."""
    latest = await _latest_move(session, ticket)
    if latest is None or latest.details is None:
        return None
    source = await session.get(Team, latest.details.get("from_team"))
    agent = await session.get(Agent, latest.agent_id) if latest.agent_id else None
    note = f"from {source.name if source else 'another team'}"
    if agent is not None:
        note += f" by {agent.mention}"
    reason = latest.details.get("reason") or ""
    return f"{note}: {reason}" if reason else note
