"""Tickets in the database (SQLite and PostgreSQL): claiming, reopening, routing, templates."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import create_engine, create_session_factory, migrate, transaction, utcnow
from handoff.conversations import CustomerProfile, register_customer
from handoff.desk import tickets
from handoff.desk.canned import canned_reply, fill, save_canned_reply
from handoff.desk.routing import save_rule
from handoff.models import Priority, Team, Ticket, TicketEvent, TicketStatus
from knowledge_base.formats import FaqEntryData
from knowledge_base.repository import get_entry, import_entries, propose_phrasing
from retrieval.decision import Decision, Outcome, Reason

Sessions = async_sessionmaker[AsyncSession]
HANDOFF = Decision(Outcome.HANDOFF, Reason.LOW_CONFIDENCE, "ru")


async def _open_ticket(sessions: Sessions, subject: str = "где мой заказ", user_id: int = 1) -> int:
    async with transaction(sessions) as session:
        customer = await register_customer(session, CustomerProfile(user_id, user_id, "Ann"))
        ticket, created = await tickets.escalate(
            session, customer, subject=subject, decision=HANDOFF, opening_message_id=None
        )
        assert created
        return ticket.id


async def _agent(sessions: Sessions, user_id: int, name: str) -> int:
    async with transaction(sessions) as session:
        agent = await tickets.register_agent(
            session, tickets.AgentProfile(user_id, name, name.lower())
        )
        return agent.id


async def test_of_two_agents_taking_at_once_exactly_one_wins(database_url: str) -> None:
    """Two connections, both see the ticket unowned, both press Take at the same moment."""
    engines = [create_engine(database_url), create_engine(database_url)]
    try:
        await migrate(engines[0])
        factories = [create_session_factory(engine) for engine in engines]
        ticket_id = await _open_ticket(factories[0])
        agent_ids = [await _agent(factories[0], 10, "Olga"), await _agent(factories[0], 11, "Petr")]
        both_read = asyncio.Barrier(2)

        async def press(factory: Sessions, agent_id: int) -> tickets.Claim:
            async with transaction(factory) as session:
                ticket = await session.get(Ticket, ticket_id)
                agent = await session.get(tickets.Agent, agent_id)
                assert ticket is not None and agent is not None and ticket.assignee_id is None
                await both_read.wait()
                return await tickets.take(session, ticket, agent)

        claims = await asyncio.gather(
            *(press(f, a) for f, a in zip(factories, agent_ids, strict=True))
        )
        assert sorted(claim.won for claim in claims) == [False, True]
        winner = next(claim for claim in claims if claim.won)
        loser = next(claim for claim in claims if not claim.won)
        assert loser.owner is not None and winner.owner is not None
        assert loser.owner.id == winner.owner.id
        async with factories[0]() as session:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None
            assert (ticket.assignee_id, ticket.status) == (winner.owner.id, TicketStatus.OPEN)
            taken = await session.scalars(select(TicketEvent).where(TicketEvent.action == "taken"))
            assert len(taken.all()) == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_handoff_soon_after_a_close_reopens_the_same_ticket(sessions: Sessions) -> None:
    ticket_id = await _open_ticket(sessions)
    olga = await _agent(sessions, 10, "Olga")
    async with transaction(sessions) as session:
        ticket = await session.get(Ticket, ticket_id)
        agent = await session.get(tickets.Agent, olga)
        assert ticket is not None and agent is not None
        assert (await tickets.take(session, ticket, agent)).won
        assert await tickets.close(session, ticket, agent)
        tickets.rate(session, ticket, 2)
    async with transaction(sessions) as session:
        customer = await register_customer(session, CustomerProfile(1, 1, "Ann"))
        again, created = await tickets.escalate(
            session, customer, subject="всё ещё нет", decision=HANDOFF, opening_message_id=None
        )
        assert (again.id, created, again.status, again.assignee_id) == (
            ticket_id,
            True,
            TicketStatus.OPEN,
            olga,
        )
        actions = await session.scalars(
            select(TicketEvent.action)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.id)
        )
        assert actions.all() == ["created", "taken", "closed", "rated", "reopened"]


async def test_routing_rules_set_priority_and_tags(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        await save_rule(
            session,
            "double charge",
            keywords=["списали дважды", "charged twice"],
            priority=Priority.URGENT,
            add_tags=["billing"],
        )
        await save_rule(session, "ukrainian", language="uk", add_tags=["uk-team"])
    ticket_id = await _open_ticket(sessions, "Деньги СПИСАЛИ  дважды за май!")
    calm_id = await _open_ticket(sessions, "списали дваждыы?", user_id=2)
    async with sessions() as session:
        urgent = await session.get(Ticket, ticket_id)
        calm = await session.get(Ticket, calm_id)
        assert urgent is not None and calm is not None
        assert (urgent.priority, urgent.tags) == (Priority.URGENT, ["billing"])
        assert (calm.priority, calm.tags) == (Priority.NORMAL, [])


async def test_a_customer_a_team_helped_lately_goes_back_to_that_team(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        billing = Team(name="Billing", level="second", tags=[], is_default=False)
        session.add(billing)
        await session.flush()
        await save_rule(session, "back to billing", team_id=billing.id, returning_days=7)
        billing_id = billing.id
    helped = {1: timedelta(days=3), 2: timedelta(days=20)}  # customer -> when billing resolved
    for user_id, ago in helped.items():
        earlier = await _open_ticket(sessions, "первый вопрос", user_id=user_id)
        async with transaction(sessions) as session:
            await session.execute(
                update(Ticket)
                .where(Ticket.id == earlier)
                .values(
                    team_id=billing_id,
                    status=TicketStatus.CLOSED,
                    resolved_at=utcnow() - ago,
                )
            )
    back_soon = await _open_ticket(sessions, "снова о том же", user_id=1)
    back_late = await _open_ticket(sessions, "снова о том же", user_id=2)
    never_helped = await _open_ticket(sessions, "снова о том же", user_id=3)
    async with sessions() as session:
        teams = [
            (await session.get_one(Ticket, ticket_id)).team_id
            for ticket_id in (back_soon, back_late, never_helped)
        ]
    assert teams[0] == billing_id
    assert billing_id not in teams[1:]  # the default team


async def test_canned_replies_fill_the_name_and_reject_bad_names(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        await save_canned_reply(session, "Hello", "Здравствуйте, {name}! {не трогать}")
        for name, text in (("two words", "x"), ("ok", "  ")):
            try:
                await save_canned_reply(session, name, text)
            except ValueError:
                continue
            raise AssertionError(f"{name!r} / {text!r} was accepted")
    async with sessions() as session:
        reply = await canned_reply(session, "hello")
        assert reply is not None
        assert fill(reply.text, name="Ann") == "Здравствуйте, Ann! {не трогать}"


async def test_a_question_is_proposed_as_a_phrasing_once(sessions: Sessions) -> None:
    entry_data = FaqEntryData.model_validate(
        {"key": "refund", "question": "Как вернуть деньги?", "answer": "Напишите нам."}
    )
    async with transaction(sessions) as session:
        await import_entries(session, [entry_data], author="test")
    async with transaction(sessions) as session:
        entry = await get_entry(session, key="refund")
        assert entry is not None
        first = await propose_phrasing(session, entry, "верните  бабки", source="ticket:1")
        again = await propose_phrasing(session, entry, "верните бабки", source="ticket:2")
        known = await propose_phrasing(session, entry, "как вернуть деньги?", source="ticket:3")
        assert first is not None and again is None and known is None
        assert entry.alt_questions == []  # proposed, never published by itself
