"""Each team on its own clock: the out-of-hours reply, the wait, "we're online" and service-level
alerts follow the hours and targets of the ticket's team (an offline bot, a controllable clock)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from bot.customers.texts import RU
from bot.line import warn_about_service_levels
from core.database import transaction
from handoff.desk.routing import save_rule
from handoff.line.hours import BusinessHours
from handoff.line.sla import SlaTarget, SlaTargets
from handoff.models import Priority, Team, Ticket
from tests.bot.test_line import (  # noqa: F401  (clock and line are fixtures)
    FRIDAY_EVENING,
    KYIV,
    MONDAY_OPENING,
    _say,
    _welcome,
    clock,
    line,
)
from tests.support.fake_bot_api import customer

# Asking for a person hands off whatever the test's keyword model makes of the rest.
CALLS_AN_OPERATOR = "позовите оператора"
TEN_MINUTES = SlaTargets(
    targets={
        priority: SlaTarget(first_response_minutes=10, resolution_minutes=60)
        for priority in Priority
    }
)


async def _evening_team(line: Any) -> int:  # noqa: F811
    """A team on 19:00–23:00 every day with 10-minute targets: a routing rule sends it those who
    call for an operator."""
    services = line[0]
    async with transaction(services.sessions) as session:
        team = Team(
            name="Evening",
            level="second",
            tags=[],
            is_default=False,
            business_hours=BusinessHours.parse("mon-sun 19:00-23:00", timezone=KYIV).to_dict(),
            sla=TEN_MINUTES.model_dump(mode="json"),
        )
        session.add(team)
        await session.flush()
        await save_rule(session, "operators", keywords=["оператора"], team_id=team.id)
        return team.id


async def test_a_team_open_in_the_evening_takes_tickets_while_the_line_is_closed(
    line: Any,  # noqa: F811
) -> None:
    services, app, request = line
    evening = await _evening_team(line)
    await _say(app, customer(21, "Анна"), CALLS_AN_OPERATOR)  # Friday 20:00 in Kyiv
    told = request.sent(21)[-1]["text"]
    assert RU.queue_wait.format(position=1, wait="примерно 15 минут") in told
    assert "понедельник" not in told
    await _say(app, customer(22, "Борис"), "хочу поговорить с человеком")
    assert "Специалист ответит в понедельник в 9:00" in request.sent(22)[-1]["text"]

    # Its own targets (10 minutes) on its own hours; the closed line's ticket raises nothing.
    async with transaction(services.sessions) as session:
        await session.execute(
            update(Ticket).where(Ticket.team_id == evening).values(created_at=FRIDAY_EVENING)
        )
        await session.execute(
            update(Ticket)
            .where(Ticket.team_id != evening)
            .values(created_at=FRIDAY_EVENING - timedelta(hours=1))
        )
    services.clock.now = FRIDAY_EVENING + timedelta(minutes=11)
    alerts = await warn_about_service_levels(services, app.bot)
    assert [(alert.customer.telegram_user_id, alert.stage) for alert in alerts] == [
        (21, "sla_breach")
    ]

    # Monday 9:00: the line opens; only the customer it told it was closed hears so.
    services.clock.now = MONDAY_OPENING + timedelta(minutes=1)
    assert await _welcome(services, app) == 1
    assert request.sent(22)[-1]["text"] == RU.line_open.format(position=1, wait="примерно 15 минут")
    assert not any(RU.line_open[:20] in message["text"] for message in request.sent(21))


async def test_a_customer_of_a_closed_team_hears_its_opening_while_the_line_is_open(
    line: Any,  # noqa: F811
) -> None:
    services, app, request = line
    await _evening_team(line)
    services.clock.now = MONDAY_OPENING + timedelta(hours=2)  # 11:00 in Kyiv
    await _say(app, customer(23, "Анна"), CALLS_AN_OPERATOR)
    assert "Специалист ответит сегодня в 19:00" in request.sent(23)[-1]["text"]
    await _say(app, customer(23, "Анна"), "скоро ответите?")
    assert request.sent(23)[-1]["text"] == RU.wait_closed.format(opening="сегодня в 19:00")
    services.clock.now = MONDAY_OPENING + timedelta(hours=10, minutes=1)  # 19:01 in Kyiv
    assert await _welcome(services, app) == 1
    assert request.sent(23)[-1]["text"] == RU.line_open.format(position=1, wait="примерно 15 минут")
