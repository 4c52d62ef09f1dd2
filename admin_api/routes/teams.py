"""Teams for support leads: the lines and departments, each with its own forum group, the
services (tags) it owns, its hours and service levels; agents see who is in which."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from admin_api.deps import AdminDep, AgentDep, RowId, ServicesDep
from admin_api.errors import ERROR_RESPONSES, ApiError
from admin_api.routes.lead_settings import BusinessHoursIn
from core.database import transaction
from core.settings import Settings
from handoff.desk.teams import find_team, group_of
from handoff.line.availability import team_hours
from handoff.line.hours import BusinessHours
from handoff.line.schedule import ScheduleError
from handoff.line.sla import SlaTargets
from handoff.models import ACTIVE_TICKET_STATUSES, Agent, Team, TeamLevel, Ticket

router = APIRouter(prefix="/teams", tags=["teams"], responses=ERROR_RESPONSES)

Tag = Field(min_length=1, max_length=64)


class TeamChanges(BaseModel):
    """What a lead may change; a field left out stays as it is."""

    name: str | None = Field(None, min_length=1, max_length=100, examples=["Billing"])
    level: TeamLevel | None = Field(None, description="first, second, third line, or department")
    agent_chat_id: int | None = Field(
        None,
        description="the team's Telegram forum group (topics on, the bot an admin in it); "
        "null for the default team: FIRSTLINE_AGENT_CHAT_ID",
        examples=[-1001234567890],
    )
    in_main_group: bool | None = Field(
        None,
        description="a small team without a group of its own: its tickets' topics open in the "
        "main agents' group (FIRSTLINE_AGENT_CHAT_ID), and the bot opens a topic there named "
        "after the team for its announcements; writing in it makes an agent one of the team",
    )
    tags: list[str] | None = Field(
        None, max_length=100, description="the services it owns: FAQ entries' tags", examples=[]
    )
    business_hours: BusinessHoursIn | None = Field(None, description="null: the line's hours")
    sla: SlaTargets | None = Field(None, description="null: the line's service levels")


class TeamIn(TeamChanges):
    name: str = Field(min_length=1, max_length=100, examples=["Billing"])
    level: TeamLevel = TeamLevel.SECOND


class Member(BaseModel):
    id: int
    name: str
    username: str | None
    last_active_at: datetime


class TeamOut(BaseModel):
    id: int
    name: str
    level: TeamLevel
    agent_chat_id: int | None
    group: int | None = Field(
        description="the forum group it works in (null: tickets kept for the API)"
    )
    in_main_group: bool
    topic_id: int | None = Field(
        description="a small team's own topic in the main group (null until the bot opens it)"
    )
    tags: list[str]
    is_default: bool
    business_hours: dict[str, object] | None = Field(description="its own; null: the line's")
    sla: SlaTargets | None = Field(description="its own; null: the line's")
    open_now: bool
    waiting: int = Field(description="its active tickets that nobody has taken yet")
    members: list[Member] = Field(description="agents who last acted in its group")


async def _team_out(
    session: AsyncSession, settings: Settings, team: Team, now: datetime
) -> TeamOut:
    members = await session.scalars(
        select(Agent).where(Agent.team_id == team.id).order_by(Agent.id)
    )
    waiting = await session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.team_id == team.id,
            Ticket.status.in_(ACTIVE_TICKET_STATUSES),
            Ticket.assignee_id.is_(None),
        )
    )
    hours = await team_hours(session, settings, team)
    return TeamOut(
        id=team.id,
        name=team.name,
        level=TeamLevel(team.level),
        agent_chat_id=team.agent_chat_id,
        group=group_of(team, settings),
        in_main_group=team.in_main_group,
        topic_id=team.desk_topic_id if team.in_main_group else None,
        tags=team.tags,
        is_default=team.is_default,
        business_hours=team.business_hours,
        sla=SlaTargets.model_validate(team.sla) if team.sla is not None else None,
        open_now=hours.is_open(now),
        waiting=waiting or 0,
        members=[
            Member(id=a.id, name=a.name, username=a.username, last_active_at=a.last_active_at)
            for a in members
        ],
    )


def _apply(team: Team, changes: TeamChanges) -> None:
    given = changes.model_fields_set
    if changes.name is not None:
        team.name = " ".join(changes.name.split())
    if changes.level is not None:
        team.level = changes.level.value
    if "agent_chat_id" in given:
        team.agent_chat_id = changes.agent_chat_id
    if changes.in_main_group is not None:
        team.in_main_group = changes.in_main_group
    if changes.tags is not None:
        team.tags = list(
            dict.fromkeys(tag.strip().casefold() for tag in changes.tags if tag.strip())
        )
    if "business_hours" in given:
        team.business_hours = _hours(changes.business_hours)
    if "sla" in given:
        team.sla = changes.sla.model_dump(mode="json") if changes.sla else None


def _hours(request: BusinessHoursIn | None) -> dict[str, object] | None:
    if request is None:
        return None
    try:
        return BusinessHours.from_dict(request.model_dump(mode="json")).to_dict()
    except ScheduleError as error:
        raise ApiError(422, str(error)) from None


def _check_where_it_works(team: Team) -> None:
    if team.in_main_group and team.agent_chat_id is not None:
        raise ApiError(
            422,
            "a team works either in a group of its own (agent_chat_id) or in the main "
            "group (in_main_group), not both",
        )
    if team.in_main_group and team.is_default:
        raise ApiError(422, "the default team works in the main group already: it is that group")


async def _check_unique(session: AsyncSession, team: Team) -> None:
    """A clear 409 rather than the database's refusal: names and groups are each one team's."""
    same_name = await find_team(session, team.name)
    if same_name is not None and same_name.id != team.id:
        raise ApiError(409, f"there is already a team '{same_name.name}'")
    if team.agent_chat_id is not None:
        same_group = await session.scalar(
            select(Team).where(Team.agent_chat_id == team.agent_chat_id, Team.id != team.id)
        )
        if same_group is not None:
            raise ApiError(409, f"the group {team.agent_chat_id} is team '{same_group.name}''s")


async def _get(session: AsyncSession, team_id: int) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise ApiError(404, f"there is no team {team_id}")
    return team


@router.get("", summary="Teams: lines and departments")
async def list_teams(services: ServicesDep, _token: AgentDep) -> list[TeamOut]:
    async with services.sessions() as session:
        teams = await session.scalars(select(Team).order_by(Team.id))
        return [
            await _team_out(session, services.settings, team, services.clock()) for team in teams
        ]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a team")
async def create_team(services: ServicesDep, _token: AdminDep, request: TeamIn) -> TeamOut:
    """Tickets whose FAQ entries carry one of its ``tags`` open in its group from now on, and
    agents can escalate to it."""
    try:
        async with transaction(services.sessions) as session:
            team = Team(tags=[], is_default=False)
            _apply(team, request)
            _check_where_it_works(team)
            await _check_unique(session, team)
            session.add(team)
            await session.flush()
            return await _team_out(session, services.settings, team, services.clock())
    except IntegrityError:  # created by someone else at the same moment
        raise ApiError(
            409, f"there is already a team '{request.name}' or one in that group"
        ) from None


@router.get("/{team_id}", summary="One team")
async def get_team(services: ServicesDep, _token: AgentDep, team_id: RowId) -> TeamOut:
    async with services.sessions() as session:
        return await _team_out(
            session, services.settings, await _get(session, team_id), services.clock()
        )


@router.patch("/{team_id}", summary="Change a team")
async def change_team(
    services: ServicesDep, _token: AdminDep, team_id: RowId, request: TeamChanges
) -> TeamOut:
    """Only the fields given change; ``null`` hours or service levels return the team to the
    line's."""
    try:
        async with transaction(services.sessions) as session:
            team = await _get(session, team_id)
            _apply(team, request)
            _check_where_it_works(team)
            await _check_unique(session, team)
            await session.flush()
            return await _team_out(session, services.settings, team, services.clock())
    except IntegrityError:
        raise ApiError(409, "another team has that name or that group") from None


@router.delete("/{team_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a team")
async def delete_team(services: ServicesDep, _token: AdminDep, team_id: RowId) -> Response:
    """Not the default team, and not while it has active tickets (escalate them first)."""
    async with transaction(services.sessions) as session:
        team = await _get(session, team_id)
        if team.is_default:
            raise ApiError(409, "the default team cannot be deleted: it takes every other ticket")
        active = await session.scalar(
            select(func.count(Ticket.id)).where(
                Ticket.team_id == team.id, Ticket.status.in_(ACTIVE_TICKET_STATUSES)
            )
        )
        if active:
            raise ApiError(
                409,
                f"team '{team.name}' has {active} active tickets: pass them to another team first",
            )
        await session.delete(team)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
