"""Analytics per team and per line over HTTP: what reached each team, what it passed up (the
escalation rate), first replies, closes, ratings and breaches credited to whoever held the ticket,
and the tickets the first line solved without escalation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from admin_api.tokens import Role
from core.database import transaction, utcnow
from core.settings import Settings
from handoff.conversations import CustomerProfile, register_customer
from handoff.desk import tickets
from handoff.desk.escalation import transfer
from handoff.desk.teams import default_team, find_team
from handoff.desk.tickets import Actor, record_event
from handoff.line.sla import SlaStage
from handoff.models import Team, Ticket
from retrieval.decision import Decision, Outcome, Reason
from tests.support.api_harness import ApiHarness, api_harness


@pytest.fixture
async def api(settings: Settings, database_url: str) -> AsyncIterator[ApiHarness]:
    async with api_harness(settings, database_url) as harness:
        yield harness


class Desk:
    """Tickets worked straight in the database, as the bot's desk would."""

    def __init__(self, api: ApiHarness) -> None:
        self.sessions = api.services.sessions
        self.users = iter(range(1, 1000))

    async def open(self, tags: list[str]) -> int:
        async with transaction(self.sessions) as session:
            user = next(self.users)
            customer = await register_customer(session, CustomerProfile(user, user, "Ann"))
            ticket, _ = await tickets.escalate(
                session,
                customer,
                subject="?",
                decision=Decision(Outcome.HANDOFF, Reason.LOW_CONFIDENCE, "ru"),
                opening_message_id=None,
                considered_tags=tags,
            )
            return ticket.id

    async def pass_to(self, ticket_id: int, team: str) -> None:
        async with transaction(self.sessions) as session:
            ticket = await session.get(Ticket, ticket_id)
            target = await find_team(session, team)
            assert ticket is not None and target is not None
            await transfer(session, ticket, target, None, "why")

    async def reply(self, ticket_id: int, user: int) -> None:
        async with transaction(self.sessions) as session:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None
            agent = await tickets.register_agent(session, tickets.AgentProfile(user, f"A{user}"))
            tickets.note_agent_reply(session, ticket, agent, "text")

    async def close(self, ticket_id: int, rating: int | None = None) -> None:
        async with transaction(self.sessions) as session:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None and await tickets.close(session, ticket, None)
            if rating is not None:
                tickets.rate(session, ticket, rating)

    async def breach(self, ticket_id: int) -> None:
        async with transaction(self.sessions) as session:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None
            record_event(session, ticket, SlaStage.BREACH.value, actor=Actor.BOT, kind="x")


async def test_escalation_rates_and_figures_per_team_and_per_line(api: ApiHarness) -> None:
    async with transaction(api.services.sessions) as session:
        session.add_all(
            [
                Team(name="Billing", level="second", tags=["billing"], is_default=False),
                Team(name="Legal", level="third", tags=[], is_default=False),
            ]
        )
        first_line = (await default_team(session)).name
    desk = Desk(api)
    solved = await desk.open([])  # the first line answers and closes it
    await desk.reply(solved, 1)
    await desk.close(solved, rating=5)
    up = await desk.open([])  # passed up to billing, answered and closed there
    await desk.pass_to(up, "Billing")
    await desk.breach(up)
    await desk.reply(up, 2)
    await desk.close(up, rating=4)
    back = await desk.open([])  # to billing and handed back, closed by the first line
    await desk.pass_to(back, "Billing")
    await desk.pass_to(back, first_line)
    await desk.close(back)
    on = await desk.open(["billing"])  # opens in billing, passed on to the third line
    await desk.pass_to(on, "Legal")

    report = await api.client.get("/api/v1/analytics/teams", headers=api.auth(Role.ADMIN))
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["tickets"], body["solved_by_first_line"]) == (4, 1)
    teams = {team["name"]: team for team in body["teams"]}
    counts = ("received", "opened_here", "escalated_up", "passed_elsewhere", "resolved_here")
    assert {name: [team[key] for key in counts] for name, team in teams.items()} == {
        "First line": [3, 3, 2, 0, 2],
        "Billing": [3, 1, 1, 1, 1],
        "Legal": [1, 0, 0, 0, 0],
    }
    assert teams["First line"]["escalation_rate"] == pytest.approx(2 / 3)
    assert teams["Billing"]["escalation_rate"] == pytest.approx(1 / 3)
    assert teams["Legal"]["escalation_rate"] == 0
    assert teams["First line"]["csat"]["mean"] == 5 and teams["Billing"]["csat"]["mean"] == 4
    assert (teams["Billing"]["sla_breaches"], teams["First line"]["sla_breaches"]) == (1, 0)
    assert teams["Billing"]["first_response"]["count"] == 1
    assert teams["First line"]["resolution"]["count"] == 2
    assert [(line["level"], line["received"], line["escalated_up"]) for line in body["lines"]] == [
        ("first", 3, 2),
        ("second", 3, 1),
        ("third", 1, 0),
    ]


async def test_a_period_without_tickets_and_a_bad_period(api: ApiHarness) -> None:
    end = utcnow() - timedelta(days=30)
    empty = await api.client.get(
        "/api/v1/analytics/teams",
        params={"start": (end - timedelta(days=1)).isoformat(), "end": end.isoformat()},
        headers=api.auth(Role.ADMIN),
    )
    body = empty.json()
    assert body["tickets"] == 0 and body["teams"][0]["escalation_rate"] is None
    reversed_period = await api.client.get(
        "/api/v1/analytics/teams",
        params={"start": end.isoformat(), "end": (end - timedelta(days=1)).isoformat()},
        headers=api.auth(Role.ADMIN),
    )
    assert reversed_period.status_code == 422 and "must be before" in reversed_period.text
    agents = await api.client.get("/api/v1/analytics/teams", headers=api.auth(Role.AGENT))
    assert agents.status_code == 403
