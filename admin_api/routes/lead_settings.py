"""Settings for support leads: business hours, SLA targets, canned replies (agents read them
too) and routing rules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin_api.deps import AdminDep, AgentDep, ServicesDep
from admin_api.errors import ERROR_RESPONSES, ApiError
from core.database import transaction
from handoff.desk.canned import save_canned_reply
from handoff.desk.routing import save_rule
from handoff.desk.teams import find_team
from handoff.line.availability import business_hours, save_business_hours
from handoff.line.hours import BusinessHours
from handoff.line.schedule import ScheduleError
from handoff.line.sla import SlaTargets, save_sla_targets, sla_targets
from handoff.models import CannedReply, Priority, RoutingRule, Team

router = APIRouter(prefix="/settings", tags=["settings"], responses=ERROR_RESPONSES)

TemplateName = Annotated[str, Path(pattern=r"^[\w-]{1,64}$", description="used as /reply <name>")]
RuleName = Annotated[str, Path(min_length=1, max_length=100)]


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class SpecialDayIn(BaseModel):
    date: date
    hours: list[str] = Field(
        default_factory=list, max_length=10, description='e.g. ["10:00-14:00"]; empty: closed'
    )
    note: str = Field("", max_length=200)


class BusinessHoursIn(BaseModel):
    timezone: str = Field(max_length=64, examples=["Europe/Kyiv"])
    weekly: dict[Weekday, list[str]] = Field(
        description="intervals per weekday (overnight like 22:00-06:00); missing days are closed",
        examples=[{"mon": ["09:00-18:00"], "sat": ["10:00-14:00"]}],
    )
    holidays: str | None = Field(
        None, max_length=8, description="country whose public holidays close the line, e.g. PL"
    )
    special_days: list[SpecialDayIn] = Field(default_factory=list, max_length=400)


class BusinessHoursOut(BusinessHoursIn):
    schedule: str = Field(description="the weekly hours in FIRSTLINE_BUSINESS_HOURS form")
    open_now: bool
    next_change: datetime | None = Field(description="when the line next opens or closes")


def _hours_out(hours: BusinessHours, now: datetime) -> BusinessHoursOut:
    open_now = hours.is_open(now)
    return BusinessHoursOut.model_validate(
        {
            **hours.to_dict(),
            "schedule": hours.describe(),
            "open_now": open_now,
            "next_change": hours.next_closing(now) if open_now else hours.next_opening(now),
        }
    )


@router.get("/business-hours", summary="When the line is open")
async def get_business_hours(services: ServicesDep, _token: AgentDep) -> BusinessHoursOut:
    async with services.sessions() as session:
        hours = await business_hours(session, services.settings)
    return _hours_out(hours, services.clock())


@router.put("/business-hours", summary="Set the weekly hours, holidays and special days")
async def put_business_hours(
    services: ServicesDep, _token: AdminDep, request: BusinessHoursIn
) -> BusinessHoursOut:
    """Customers who write while the line is closed are told when it opens, from now on."""
    try:
        hours = BusinessHours.from_dict(request.model_dump(mode="json"))
    except ScheduleError as error:
        raise ApiError(422, str(error)) from None
    async with transaction(services.sessions) as session:
        await save_business_hours(session, hours)
    return _hours_out(hours, services.clock())


@router.get("/sla", summary="Service-level targets")
async def get_sla(services: ServicesDep, _token: AgentDep) -> SlaTargets:
    async with services.sessions() as session:
        return await sla_targets(session)


@router.put("/sla", summary="Set the service-level targets")
async def put_sla(services: ServicesDep, _token: AdminDep, request: SlaTargets) -> SlaTargets:
    """Minutes of open hours per priority; agents are warned at ``warn_at`` of a target."""
    async with transaction(services.sessions) as session:
        await save_sla_targets(session, request)
    return request


class CannedReplyIn(BaseModel):
    text: str = Field(
        min_length=1, max_length=4000, description="{name} becomes the customer's first name"
    )
    team: str | None = Field(None, max_length=100, description="one team's own; null: shared")


class CannedReplyOut(BaseModel):
    name: str
    text: str
    team: str | None = None


async def _reply_out(session: AsyncSession, reply: CannedReply) -> CannedReplyOut:
    team = await session.get(Team, reply.team_id) if reply.team_id is not None else None
    return CannedReplyOut(name=reply.name, text=reply.text, team=team.name if team else None)


async def _named_team(session: AsyncSession, name: str | None) -> Team | None:
    """The team a request names (None when it names none); 422 for one that does not exist."""
    if not name:
        return None
    team = await find_team(session, name)
    if team is None:
        raise ApiError(422, f"there is no team '{name}': GET /api/v1/teams lists them")
    return team


class RoutingRuleIn(BaseModel):
    """Every condition given must hold; empty conditions match every handoff."""

    keywords: list[str] = Field(default_factory=list, max_length=200)
    language: str | None = Field(None, max_length=8)
    tag: str | None = Field(None, max_length=64, description="a tag of the FAQ entries considered")
    priority: Priority | None = None
    add_tags: list[str] = Field(default_factory=list, max_length=20)
    team: str | None = Field(None, max_length=100, description="the team it sends tickets to")
    returning_days: int | None = Field(
        None,
        ge=1,
        le=365,
        description="only for a customer whose earlier ticket this rule's team resolved within "
        "that many days (needs `team`)",
    )


class RoutingRuleOut(RoutingRuleIn):
    name: str
    enabled: bool


async def _rule_out(session: AsyncSession, rule: RoutingRule) -> RoutingRuleOut:
    team = await session.get(Team, rule.team_id) if rule.team_id is not None else None
    return RoutingRuleOut(
        name=rule.name,
        enabled=rule.enabled,
        keywords=rule.keywords,
        language=rule.language,
        tag=rule.tag,
        priority=Priority(rule.priority) if rule.priority else None,
        add_tags=rule.add_tags,
        team=team.name if team else None,
        returning_days=rule.returning_days,
    )


@router.get("/canned-replies", summary="Canned replies")
async def canned_replies(services: ServicesDep, _token: AgentDep) -> list[CannedReplyOut]:
    async with services.sessions() as session:
        replies = await session.scalars(select(CannedReply).order_by(CannedReply.name))
        return [await _reply_out(session, reply) for reply in replies]


@router.put("/canned-replies/{name}", summary="Create or replace a canned reply")
async def put_canned_reply(
    services: ServicesDep, _token: AdminDep, name: TemplateName, request: CannedReplyIn
) -> CannedReplyOut:
    """Shared by every team, or (``team``) only that team's agents see it."""
    try:
        async with transaction(services.sessions) as session:
            team = await _named_team(session, request.team)
            reply = await save_canned_reply(
                session, name, request.text, team_id=team.id if team else None
            )
            return await _reply_out(session, reply)
    except ValueError as error:
        raise ApiError(422, str(error)) from None


@router.delete(
    "/canned-replies/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete one"
)
async def delete_canned_reply(
    services: ServicesDep, _token: AdminDep, name: TemplateName
) -> Response:
    async with transaction(services.sessions) as session:
        result = await session.execute(
            delete(CannedReply).where(CannedReply.name == name.casefold())
        )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise ApiError(404, f"there is no canned reply '{name}'")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/routing-rules", summary="Routing rules")
async def routing_rules(services: ServicesDep, _token: AdminDep) -> list[RoutingRuleOut]:
    async with services.sessions() as session:
        rules = await session.scalars(select(RoutingRule).order_by(RoutingRule.id))
        return [await _rule_out(session, rule) for rule in rules]


@router.put("/routing-rules/{name}", summary="Create or replace a routing rule")
async def put_routing_rule(
    services: ServicesDep, _token: AdminDep, name: RuleName, request: RoutingRuleIn
) -> RoutingRuleOut:
    """Applied to every handoff from now on: the most urgent matching priority wins, tags add up,
    the first matching rule naming a team sends the ticket there."""
    if request.returning_days and not request.team:
        raise ApiError(422, "returning_days needs a team: the rule sends returning customers to it")
    async with transaction(services.sessions) as session:
        team = await _named_team(session, request.team)
        rule = await save_rule(
            session,
            name,
            keywords=request.keywords,
            language=request.language,
            tag=request.tag,
            priority=request.priority,
            add_tags=request.add_tags,
            team_id=team.id if team else None,
            returning_days=request.returning_days,
        )
        return await _rule_out(session, rule)


@router.delete(
    "/routing-rules/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete one"
)
async def delete_routing_rule(services: ServicesDep, _token: AdminDep, name: RuleName) -> Response:
    async with transaction(services.sessions) as session:
        result = await session.execute(delete(RoutingRule).where(RoutingRule.name == name))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise ApiError(404, f"there is no routing rule '{name}'")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
