"""Upgrading an installation with today's one agents' group: after migration 0011 it is the
default first-line team, and everything works as before (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import select

from core.database import UtcDateTime, create_engine, create_session_factory, migrate, transaction
from core.settings import Settings
from handoff.conversations import CustomerProfile, register_customer
from handoff.desk import tickets
from handoff.desk.routing import route
from handoff.desk.teams import agent_groups, default_team, group_of, team_of_group
from handoff.line.availability import expected_wait
from handoff.line.hours import BusinessHours
from handoff.line.queue import queue_position
from handoff.models import Agent, CustomerTopic, Team, Ticket
from retrieval.decision import Decision, Outcome, Reason
from tests.handoff.test_replicas import _migrate_to

GROUP = -1001234567890
TOPIC = 77


def _table(table: str, **columns: sa.types.TypeEngine[object]) -> sa.TableClause:
    return sa.table(table, *(sa.column(column, kind) for column, kind in columns.items()))


CUSTOMERS = _table(
    "customers",
    id=sa.Integer(),
    telegram_user_id=sa.BigInteger(),
    chat_id=sa.BigInteger(),
    first_name=sa.String(),
    language=sa.String(),
    language_chosen=sa.Boolean(),
    created_at=UtcDateTime(),
    last_seen_at=UtcDateTime(),
    latest_ticket_id=sa.Integer(),
    topic_chat_id=sa.BigInteger(),
    topic_id=sa.BigInteger(),
    topic_title=sa.String(),
)
AGENTS = _table(
    "agents",
    id=sa.Integer(),
    telegram_user_id=sa.BigInteger(),
    name=sa.String(),
    created_at=UtcDateTime(),
    last_active_at=UtcDateTime(),
)
TICKETS = _table(
    "tickets",
    id=sa.Integer(),
    customer_id=sa.Integer(),
    status=sa.String(),
    priority=sa.String(),
    reason=sa.String(),
    language=sa.String(),
    subject=sa.Text(),
    tags=sa.JSON(),
    created_at=UtcDateTime(),
    updated_at=UtcDateTime(),
    first_response_at=UtcDateTime(),
    assignee_id=sa.Integer(),
    queue_position=sa.Integer(),
    agents_on_duty=sa.Integer(),
)
RULES = _table(
    "routing_rules",
    name=sa.String(),
    keywords=sa.JSON(),
    priority=sa.String(),
    add_tags=sa.JSON(),
    enabled=sa.Boolean(),
)


async def _today_s_installation(database_url: str, now: datetime) -> sa.ext.asyncio.AsyncEngine:
    """A database as the release before teams left it: one customer with a topic in the group,
    their ticket answered by an agent, another customer's ticket waiting, a routing rule (ids
    clear of those PostgreSQL's sequences hand out next)."""
    engine = create_engine(database_url)
    await _migrate_to(engine, "0010_inbox_lane_index")
    customer = {"chat_id": 1, "first_name": "Ann", "language": "ru", "language_chosen": False}
    customer |= {"created_at": now, "last_seen_at": now}
    ticket = {"priority": "normal", "reason": "low_confidence", "language": "ru", "tags": []}
    opened = now - timedelta(hours=1)
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(CUSTOMERS),
            [
                customer
                | {"id": 101, "telegram_user_id": 1, "latest_ticket_id": 101}
                | {"topic_chat_id": GROUP, "topic_id": TOPIC, "topic_title": "🟢 Ann · где заказ"},
                customer
                | {"id": 102, "telegram_user_id": 2, "latest_ticket_id": 102}
                | {"topic_chat_id": None, "topic_id": None, "topic_title": None},
            ],
        )
        await connection.execute(
            sa.insert(AGENTS),
            [
                {"id": 101, "telegram_user_id": 900, "name": "Olga"}
                | {"created_at": now}
                | {"last_active_at": now}
            ],
        )
        await connection.execute(
            sa.insert(TICKETS),
            [
                ticket
                | {"id": 101, "customer_id": 101, "status": "waiting_for_customer"}
                | {"subject": "где заказ", "created_at": opened, "updated_at": now}
                | {"first_response_at": opened + timedelta(minutes=6), "assignee_id": 101}
                | {"queue_position": 1, "agents_on_duty": 1},
                ticket
                | {"id": 102, "customer_id": 102, "status": "new", "subject": "?"}
                | {"created_at": now, "updated_at": now, "first_response_at": None}
                | {"assignee_id": None, "queue_position": 1, "agents_on_duty": 1},
            ],
        )
        await connection.execute(
            sa.insert(RULES),
            [
                {"name": "twice", "keywords": ["дважды"], "priority": "urgent", "add_tags": []}
                | {"enabled": True}
            ],
        )
    await migrate(engine)
    return engine


async def test_the_single_group_becomes_the_default_first_line_team(database_url: str) -> None:
    now = datetime.now(UTC)
    engine = await _today_s_installation(database_url, now)
    settings = Settings(agent_chat_id=GROUP)
    try:
        async with create_session_factory(engine)() as session:
            [team] = (await session.scalars(select(Team))).all()
            assert (team.name, team.level, team.agent_chat_id, team.tags) == (
                "First line",
                "first",
                None,
                [],
            )
            assert team.is_default and team.business_hours is None and team.sla is None
            assert group_of(team, settings) == GROUP
            assert await agent_groups(session, settings) == {GROUP}
            assert await team_of_group(session, settings, GROUP) is team
            assert await team_of_group(session, settings, -100999) is None
            answered, waiting = (await session.scalars(select(Ticket).order_by(Ticket.id))).all()
            assert answered.team_id == waiting.team_id == team.id
            assert answered.team_first_response_at == answered.first_response_at
            assert (await session.get(Agent, 101)).team_id == team.id  # type: ignore[union-attr]
            topic = await session.scalar(
                select(CustomerTopic).where(
                    CustomerTopic.chat_id == GROUP, CustomerTopic.topic_id == TOPIC
                )
            )
            assert topic is not None and topic.customer_id == 101
            assert topic.title == "🟢 Ann · где заказ"
            assert await queue_position(session, waiting) == 1
            # The old first answer (6 minutes) still feeds the estimate; one agent on duty.
            estimate = await expected_wait(
                session, waiting, BusinessHours.parse("always", timezone="UTC"), now
            )
            assert estimate.position == 1 and estimate.minutes == 15
            routed = await route(session, texts=["списали дважды"], language="ru", tags=[])
            assert (routed.rules, routed.team_id) == (["twice"], None)
    finally:
        await engine.dispose()


async def test_a_handoff_after_the_upgrade_opens_in_the_default_team(database_url: str) -> None:
    engine = await _today_s_installation(database_url, datetime.now(UTC))
    sessions = create_session_factory(engine)
    try:
        async with transaction(sessions) as session:
            customer = await register_customer(session, CustomerProfile(3, 3, "Boris"))
            ticket, created = await tickets.escalate(
                session,
                customer,
                subject="где мой заказ",
                decision=Decision(Outcome.HANDOFF, Reason.LOW_CONFIDENCE, "ru"),
                opening_message_id=None,
                considered_tags=["billing"],
            )
            assert created and ticket.priority == "normal"
            assert ticket.team_id == (await default_team(session)).id
            assert ticket.queue_position == 2  # behind the ticket waiting before the upgrade
    finally:
        await engine.dispose()
