"""The support lead's numbers for a period."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from admin_api.deps import AdminDep, Moment, ServicesDep
from admin_api.errors import ERROR_RESPONSES, ApiError
from core.database import utcnow
from handoff.insights.analytics import support_report
from handoff.insights.report import SupportReport
from handoff.insights.team_report import TeamsReport, teams_report

router = APIRouter(prefix="/analytics", tags=["analytics"], responses=ERROR_RESPONSES)

DEFAULT_PERIOD = timedelta(days=7)
# The report reads the period's whole conversation log: a bound keeps one call affordable.
MAX_PERIOD = timedelta(days=366)

Start = Annotated[Moment | None, Query(description="default: 7 days before end")]
End = Annotated[Moment | None, Query(description="default: now")]


def _period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The period asked for, its defaults filled in; 422 when it is too long."""
    end = end or utcnow()
    start = start or end - DEFAULT_PERIOD
    if end - start > MAX_PERIOD:
        raise ApiError(422, f"a report covers at most {MAX_PERIOD.days} days: ask per quarter")
    return start, end


@router.get("", summary="Conversations, self-service, handoffs, response times, CSAT, volume")
async def analytics(
    services: ServicesDep,
    _token: AdminDep,
    start: Start = None,
    end: End = None,
    timezone: Annotated[
        str | None,
        Query(max_length=64, description="for hours and weekdays; default FIRSTLINE_TIMEZONE"),
    ] = None,
) -> SupportReport:
    """Every figure covers [start, end): conversations by when they began, tickets by when they
    were opened (their response, resolution and rating count with them)."""
    start, end = _period(start, end)
    try:
        async with services.sessions() as session:
            return await support_report(
                session, start=start, end=end, timezone=timezone or services.settings.timezone
            )
    except ValueError as error:
        raise ApiError(422, str(error)) from None


@router.get("/teams", summary="Per team and per line: volume, escalation rates, responses, CSAT")
async def teams_analytics(
    services: ServicesDep, _token: AdminDep, start: Start = None, end: End = None
) -> TeamsReport:
    """Tickets opened in [start, end), each credited to the teams it went through: what reached
    each team, what it passed up to the next line, its first reply and close, the ratings of what
    it closed, breaches while it held the ticket; the first line's tickets solved without
    escalation (the bot's own share is ``conversations.resolved_by_bot`` in /analytics)."""
    start, end = _period(start, end)
    try:
        async with services.sessions() as session:
            return await teams_report(session, start=start, end=end)
    except ValueError as error:
        raise ApiError(422, str(error)) from None
