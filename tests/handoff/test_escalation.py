"""Passing a ticket between teams in the database: one owner at a time, and a pass that loses a
race to a colleague's take (or a close) changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import create_engine, create_session_factory, migrate, transaction
from handoff.conversations import CustomerProfile, register_customer
from handoff.desk import tickets
from handoff.desk.escalation import previous_team, transfer
from handoff.desk.teams import TeamError, default_team
from handoff.models import Agent, Team, Ticket, TicketStatus
from retrieval.decision import Decision, Outcome, Reason

Sessions = async_sessionmaker[AsyncSession]


async def _setup(sessions: Sessions) -> tuple[int, int, int, int]:
    """A ticket in the first line owned by Olga, a second-line team, and Petr."""
    async with transaction(sessions) as session:
        billing = Team(name="Billing", level="second", tags=[], is_default=False)
        session.add(billing)
        customer = await register_customer(session, CustomerProfile(1, 1, "Ann"))
        ticket, _ = await tickets.escalate(
            session,
            customer,
            subject="?",
            decision=Decision(Outcome.HANDOFF, Reason.LOW_CONFIDENCE, "ru"),
            opening_message_id=None,
        )
        olga = await tickets.register_agent(session, tickets.AgentProfile(1, "Olga", "olga"))
        petr = await tickets.register_agent(session, tickets.AgentProfile(2, "Petr", "petr"))
        assert (await tickets.take(session, ticket, olga)).won
        await session.flush()
        return ticket.id, billing.id, olga.id, petr.id


async def test_a_pass_clears_the_owner_and_the_other_team_takes_it(database_url: str) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    sessions = create_session_factory(engine)
    try:
        ticket_id, billing_id, olga_id, petr_id = await _setup(sessions)
        async with transaction(sessions) as session:
            ticket = await session.get(Ticket, ticket_id)
            billing, olga = await session.get(Team, billing_id), await session.get(Agent, olga_id)
            assert ticket is not None and billing is not None and olga is not None
            moved = await transfer(session, ticket, billing, olga, "charged twice")
            assert moved.upward and moved.from_team.is_default
            assert (ticket.team_id, ticket.assignee_id, ticket.status) == (billing_id, None, "new")
            assert ticket.queue_position == 1 and ticket.awaits_response
        async with transaction(sessions) as session:
            ticket = await session.get(Ticket, ticket_id)
            petr = await session.get(Agent, petr_id)
            assert ticket is not None and petr is not None
            assert (await tickets.take(session, ticket, petr)).won
            back = await previous_team(session, ticket)
            assert back is not None and back.id == (await default_team(session)).id
            billing = await session.get(Team, billing_id)
            assert billing is not None
            with pytest.raises(TeamError, match="already with Billing"):
                await transfer(session, ticket, billing, petr, "")
    finally:
        await engine.dispose()


async def test_a_pass_that_loses_to_a_colleague_s_take_changes_nothing(database_url: str) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    sessions = create_session_factory(engine)
    try:
        ticket_id, billing_id, olga_id, petr_id = await _setup(sessions)
        async with transaction(sessions) as session:  # Olga hands it over to Petr meanwhile
            ticket = await session.get(Ticket, ticket_id)
            olga, petr = await session.get(Agent, olga_id), await session.get(Agent, petr_id)
            assert ticket is not None and olga is not None and petr is not None
            tickets.hand_over(session, ticket, olga, petr)
        async with transaction(sessions) as session:
            ticket = await session.get(Ticket, ticket_id)
            billing, olga = await session.get(Team, billing_id), await session.get(Agent, olga_id)
            assert ticket is not None and billing is not None and olga is not None
            with pytest.raises(TeamError, match="changed meanwhile"):  # Olga no longer owns it
                await transfer(session, ticket, billing, olga, "too late")
        async with sessions() as session:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None
            assert (ticket.assignee_id, ticket.status) == (petr_id, TicketStatus.OPEN)
            assert ticket.team_id == (await default_team(session)).id
    finally:
        await engine.dispose()
