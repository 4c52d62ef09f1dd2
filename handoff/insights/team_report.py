"""The lead's figures per team and per line for a period: how many tickets reached each team,
how many it passed up to the next line (the escalation rate), its first response and resolution,
CSAT and service-level breaches, and how many tickets the first line solved without escalation.

Tickets count when they were opened in [start, end) (as in ``analytics``), and each one's path
through the teams is read from its audit trail: where it opened, every ``escalated`` event, the
replies, the close, the breaches — each credited to the team that had the ticket at the time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.desk.escalation import ESCALATED, LEVELS
from handoff.desk.teams import all_teams, default_team
from handoff.insights.periods import check_period
from handoff.insights.report import CsatStats, DurationStats
from handoff.line.sla import SlaStage
from handoff.models import Team, TeamLevel, Ticket, TicketEvent


class TeamFigures(BaseModel):
    team_id: int
    name: str
    level: TeamLevel
    received: int = Field(description="tickets that opened here or were passed here (once each)")
    opened_here: int
    escalated_up: int = Field(description="tickets it passed to a higher line")
    passed_elsewhere: int = Field(description="tickets it handed back or to the same level")
    escalation_rate: float | None = Field(description="escalated_up / received")
    resolved_here: int = Field(description="tickets closed while with this team")
    first_response: DurationStats = Field(description="from reaching the team to its first reply")
    resolution: DurationStats = Field(description="from reaching the team to the close")
    csat: CsatStats = Field(description="ratings of the tickets it closed")
    sla_breaches: int = Field(description="breaches while the ticket was with this team")


class LineFigures(BaseModel):
    level: TeamLevel
    received: int
    escalated_up: int
    escalation_rate: float | None = Field(description="to any higher line / received")


class TeamsReport(BaseModel):
    start: datetime
    end: datetime
    tickets: int
    solved_by_first_line: int = Field(
        description="tickets closed without ever leaving the first line"
    )
    teams: list[TeamFigures]
    lines: list[LineFigures] = Field(description="every level that has a team, first line first")


@dataclass
class _Stay:
    """A ticket's time with one team: when it arrived, its first reply and close there, the
    breaches meanwhile, and the team it was passed to (None: it is still there)."""

    team_id: int
    arrived: datetime
    first_reply: datetime | None = None
    closed: datetime | None = None
    breaches: int = 0
    passed_to: int | None = None


@dataclass
class _Tally:
    received: int = 0
    opened_here: int = 0
    escalated_up: int = 0
    passed_elsewhere: int = 0
    resolved_here: int = 0
    breaches: int = 0
    first_response: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)


async def teams_report(session: AsyncSession, *, start: datetime, end: datetime) -> TeamsReport:
    check_period(start, end)
    teams = {team.id: team for team in await all_teams(session)}
    fallback = (await default_team(session)).id
    opened = list(
        await session.scalars(
            select(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end)
        )
    )
    trails = await _trails(session, [ticket.id for ticket in opened])
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    solved_by_first_line = 0
    for ticket in opened:
        stays = _stays(ticket, trails.get(ticket.id, []), fallback)
        tallies[stays[0].team_id].opened_here += 1
        for team_id in dict.fromkeys(stay.team_id for stay in stays):
            _count(tallies[team_id], [s for s in stays if s.team_id == team_id], ticket, teams)
        if ticket.resolved_at is not None and all(
            _level(teams, stay.team_id) == TeamLevel.FIRST for stay in stays
        ):
            solved_by_first_line += 1
    figures = [_figures(team, tallies[team.id]) for team in teams.values()]
    return TeamsReport(
        start=start,
        end=end,
        tickets=len(opened),
        solved_by_first_line=solved_by_first_line,
        teams=figures,
        lines=_lines(figures),
    )


async def _trails(session: AsyncSession, ticket_ids: list[int]) -> dict[int, list[TicketEvent]]:
    trails: dict[int, list[TicketEvent]] = defaultdict(list)
    if not ticket_ids:
        return trails
    events = await session.scalars(
        select(TicketEvent)
        .where(
            TicketEvent.ticket_id.in_(ticket_ids),
            TicketEvent.action.in_(("created", ESCALATED, "replied", "closed", SlaStage.BREACH)),
        )
        .order_by(TicketEvent.ticket_id, TicketEvent.id)
    )
    for event in events:
        trails[event.ticket_id].append(event)
    return trails


def _stays(ticket: Ticket, trail: Sequence[TicketEvent], fallback: int) -> list[_Stay]:
    """The teams the ticket went through, in order (a ticket never passed on: one stay)."""
    moves = [event.details for event in trail if event.action == ESCALATED and event.details]
    opened_in = moves[0]["from_team"] if moves else (ticket.team_id or fallback)
    stays = [_Stay(opened_in, ticket.created_at)]
    for event in trail:
        stay = stays[-1]
        if event.action == ESCALATED and event.details:
            stay.passed_to = event.details["to_team"]
            stays.append(_Stay(event.details["to_team"], event.created_at))
        elif event.action == "replied" and stay.first_reply is None:
            stay.first_reply = event.created_at
        elif event.action == "closed":
            stay.closed = event.created_at
        elif event.action == SlaStage.BREACH:
            stay.breaches += 1
    return stays


def _count(tally: _Tally, stays: list[_Stay], ticket: Ticket, teams: dict[int, Team]) -> None:
    """One ticket's stays with one team: it counts once, however often it came back."""
    tally.received += 1
    tally.breaches += sum(stay.breaches for stay in stays)
    replied = next((stay for stay in stays if stay.first_reply is not None), None)
    if replied is not None and replied.first_reply is not None:
        tally.first_response.append((replied.first_reply - replied.arrived).total_seconds())
    passed = [stay.passed_to for stay in stays if stay.passed_to is not None]
    ups = [to for to in passed if _rank(teams, to) > _rank(teams, stays[0].team_id)]
    tally.escalated_up += bool(ups)
    tally.passed_elsewhere += len(ups) < len(passed)
    last = stays[-1]
    if last.passed_to is None and last.closed is not None and ticket.resolved_at is not None:
        tally.resolved_here += 1
        tally.resolution.append((last.closed - last.arrived).total_seconds())
        if ticket.rating is not None:
            tally.ratings.append(ticket.rating)


def _level(teams: dict[int, Team], team_id: int) -> TeamLevel:
    team = teams.get(team_id)
    return TeamLevel(team.level) if team else TeamLevel.FIRST


def _rank(teams: dict[int, Team], team_id: int) -> int:
    return LEVELS.index(_level(teams, team_id))


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _figures(team: Team, tally: _Tally) -> TeamFigures:
    return TeamFigures(
        team_id=team.id,
        name=team.name,
        level=TeamLevel(team.level),
        received=tally.received,
        opened_here=tally.opened_here,
        escalated_up=tally.escalated_up,
        passed_elsewhere=tally.passed_elsewhere,
        escalation_rate=_rate(tally.escalated_up, tally.received),
        resolved_here=tally.resolved_here,
        first_response=DurationStats.of(tally.first_response),
        resolution=DurationStats.of(tally.resolution),
        csat=CsatStats.of(tally.ratings),
        sla_breaches=tally.breaches,
    )


def _lines(figures: Sequence[TeamFigures]) -> list[LineFigures]:
    lines = []
    for level in LEVELS:
        members = [team for team in figures if team.level == level]
        if not members:
            continue
        received = sum(team.received for team in members)
        escalated = sum(team.escalated_up for team in members)
        lines.append(
            LineFigures(
                level=level,
                received=received,
                escalated_up=escalated,
                escalation_rate=_rate(escalated, received),
            )
        )
    return lines
