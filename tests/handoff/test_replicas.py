"""Two replicas on one database (PostgreSQL, and one SQLite file): the database, not a read
before a write, keeps one active ticket per customer and one SLA alert per round (each replica's index following
the other's FAQ edits: tests/retrieval/test_replica_index.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.database import (
    UtcDateTime,
    alembic_config,
    create_engine,
    create_session_factory,
    migrate,
    transaction,
    utcnow,
)
from handoff.conversations import CustomerProfile, register_customer
from handoff.desk import tickets
from handoff.line import sla
from handoff.line.hours import BusinessHours
from handoff.line.sla import DEFAULT_TARGETS, SlaAlert, raise_sla_alerts
from handoff.models import Customer, Ticket, TicketEvent, TicketStatus
from retrieval.decision import Decision, Outcome, Reason

Sessions = async_sessionmaker[AsyncSession]
HANDOFF = Decision(Outcome.HANDOFF, Reason.LOW_CONFIDENCE, "ru")
ALWAYS_OPEN = BusinessHours.parse("always", timezone="UTC")


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[tuple[Sessions, Sessions]]:
    """Two engines (two connection pools) on one database: what two processes would have."""
    engines: list[AsyncEngine] = [create_engine(database_url), create_engine(database_url)]
    await migrate(engines[0])
    yield create_session_factory(engines[0]), create_session_factory(engines[1])
    for engine in engines:
        await engine.dispose()


def _at_once(database_url: str) -> bool:
    """PostgreSQL runs both writers at once. SQLite takes one writer at a time (and refuses a
    writer whose reads went stale), so there the race is played in turn: the second replica
    acts on what it read before the first one committed."""
    return database_url.startswith("postgresql")


async def _customer(sessions: Sessions, user_id: int = 1) -> Customer:
    async with transaction(sessions) as session:
        return await register_customer(session, CustomerProfile(user_id, user_id, "Ann"))


# --- one active ticket per customer ------------------------------------------------------------


async def _escalate_from_both(
    replicas: tuple[Sessions, Sessions], customer_id: int, database_url: str
) -> list[tuple[int, bool]]:
    """Both replicas read the customer (no active ticket yet), then both escalate."""
    both_read = asyncio.Barrier(2)

    async def escalate(sessions: Sessions, customer: Customer | None = None) -> tuple[int, bool]:
        async with transaction(sessions) as session:
            if customer is None:  # read here, and wait until the other replica read it too
                customer = await session.get(Customer, customer_id)
                assert customer is not None
                await both_read.wait()
            ticket, created = await tickets.escalate(
                session,
                customer,
                subject="где мой заказ",
                decision=HANDOFF,
                opening_message_id=None,
            )
            return ticket.id, created

    if _at_once(database_url):
        return list(await asyncio.gather(escalate(replicas[0]), escalate(replicas[1])))
    async with replicas[1]() as session:  # the bot reads the customer when the message arrives
        read_before = await session.get(Customer, customer_id)
    assert read_before is not None
    async with transaction(replicas[0]) as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        first = await tickets.escalate(
            session, customer, subject="где мой заказ", decision=HANDOFF, opening_message_id=None
        )
    return [(first[0].id, first[1]), await escalate(replicas[1], read_before)]


async def _active_tickets(sessions: Sessions, customer_id: int) -> list[Ticket]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Ticket).where(
                Ticket.customer_id == customer_id,
                Ticket.status.in_(tickets.ACTIVE_TICKET_STATUSES),
            )
        )
        return list(rows)


async def test_two_replicas_escalating_at_once_share_one_ticket(
    replicas: tuple[Sessions, Sessions], database_url: str
) -> None:
    customer = await _customer(replicas[0])
    results = await _escalate_from_both(replicas, customer.id, database_url)
    [active] = await _active_tickets(replicas[0], customer.id)
    assert {ticket_id for ticket_id, _ in results} == {active.id}
    assert sorted(created for _, created in results) == [False, True]
    async with replicas[0]() as session:
        stored = await session.get(Customer, customer.id)
        assert stored is not None and stored.latest_ticket_id == active.id
        created_events = await session.scalar(
            select(func.count(TicketEvent.id)).where(TicketEvent.action == "created")
        )
        assert created_events == 1


async def test_two_replicas_reopening_at_once_reopen_once(
    replicas: tuple[Sessions, Sessions], database_url: str
) -> None:
    customer = await _customer(replicas[0])
    async with transaction(replicas[0]) as session:
        ticket, _ = await tickets.escalate(
            session, customer, subject="где мой заказ", decision=HANDOFF, opening_message_id=None
        )
        assert await tickets.close(session, ticket, None)

    results = await _escalate_from_both(replicas, customer.id, database_url)
    [active] = await _active_tickets(replicas[0], customer.id)
    assert active.id == ticket.id and {ticket_id for ticket_id, _ in results} == {ticket.id}
    assert sorted(created for _, created in results) == [False, True]
    async with replicas[0]() as session:
        reopened = await session.scalar(
            select(func.count(TicketEvent.id)).where(TicketEvent.action == "reopened")
        )
        assert reopened == 1


async def test_the_database_refuses_a_second_active_ticket(
    replicas: tuple[Sessions, Sessions],
) -> None:
    customer = await _customer(replicas[0])
    async with transaction(replicas[0]) as session:
        await tickets.escalate(
            session, customer, subject="где мой заказ", decision=HANDOFF, opening_message_id=None
        )
    with pytest.raises(sa.exc.IntegrityError):
        async with transaction(replicas[1]) as session:
            session.add(
                Ticket(customer_id=customer.id, reason="low_confidence", language="ru", subject="x")
            )
    async with transaction(replicas[1]) as session:  # closed ones may be many
        for _ in range(2):
            session.add(
                Ticket(
                    customer_id=customer.id,
                    status=TicketStatus.CLOSED,
                    reason="low_confidence",
                    language="ru",
                    subject="x",
                )
            )


# --- one alert per ticket, SLA kind, stage and round ------------------------------------------


async def _overdue_tickets(sessions: Sessions, count: int) -> list[int]:
    """Tickets opened five hours ago: each has missed its first-response target (4 h)."""
    ids = []
    for user_id in range(1, count + 1):
        customer = await _customer(sessions, user_id)
        async with transaction(sessions) as session:
            ticket, _ = await tickets.escalate(
                session,
                customer,
                subject="где мой заказ",
                decision=HANDOFF,
                opening_message_id=None,
            )
            ticket.created_at = utcnow() - timedelta(hours=5)
            ids.append(ticket.id)
    return ids


async def test_two_replicas_raising_sla_alerts_at_once_record_each_once(
    replicas: tuple[Sessions, Sessions], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket_ids = await _overdue_tickets(replicas[0], 3)
    read_raised = sla._raised
    both_read = asyncio.Barrier(2)
    at_once = _at_once(database_url)

    async def raised_as_read_before_the_other(
        session: AsyncSession, ids: list[int]
    ) -> set[tuple[int, str]]:
        if not at_once:  # played in turn: each replica read before the other wrote anything
            return set()
        raised = await read_raised(session, ids)
        await both_read.wait()
        return raised

    monkeypatch.setattr(sla, "_raised", raised_as_read_before_the_other)

    async def raise_alerts(sessions: Sessions) -> list[SlaAlert]:
        async with transaction(sessions) as session:
            return await raise_sla_alerts(session, ALWAYS_OPEN, DEFAULT_TARGETS, utcnow())

    posted: list[list[SlaAlert]]
    if at_once:
        posted = list(await asyncio.gather(raise_alerts(replicas[0]), raise_alerts(replicas[1])))
    else:
        posted = [await raise_alerts(replicas[0]), await raise_alerts(replicas[1])]

    # Each alert is returned (so posted in its topic) by exactly one replica.
    returned = [(a.ticket.id, a.kind, a.stage) for alerts in posted for a in alerts]
    assert sorted(returned) == [(i, "first_response", "sla_breach") for i in ticket_ids]
    async with replicas[0]() as session:
        recorded = await session.execute(
            select(TicketEvent.ticket_id, TicketEvent.alert_key).where(
                TicketEvent.action.in_(["sla_warning", "sla_breach"])
            )
        )
        rows = recorded.tuples().all()
    assert sorted(ticket_id for ticket_id, _ in rows) == ticket_ids
    assert all(key and key.startswith("sla_breach:first_response:") for _, key in rows)

    monkeypatch.setattr(sla, "_raised", read_raised)
    assert await raise_alerts(replicas[1]) == []  # and a later run raises nothing again


async def test_a_reopened_ticket_is_alerted_again_in_its_new_round(
    replicas: tuple[Sessions, Sessions],
) -> None:
    [ticket_id] = await _overdue_tickets(replicas[0], 1)
    async with transaction(replicas[0]) as session:
        assert len(await raise_sla_alerts(session, ALWAYS_OPEN, DEFAULT_TARGETS, utcnow())) == 1
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(status=TicketStatus.OPEN, reopened_at=utcnow() - timedelta(hours=4, minutes=30))
        )
    async with transaction(replicas[1]) as session:
        [again] = await raise_sla_alerts(session, ALWAYS_OPEN, DEFAULT_TARGETS, utcnow())
        assert (again.ticket.id, again.stage) == (ticket_id, "sla_breach")


# --- the migration: old data that broke the rules --------------------------------------------


async def _migrate_to(engine: AsyncEngine, revision: str) -> None:
    def upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)


async def test_the_migration_keeps_the_newest_active_ticket_and_one_event_per_alert(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await _migrate_to(engine, "0006_inbox_outbox")
        now = datetime.now(UTC)
        customers = sa.table(
            "customers",
            sa.column("id", sa.Integer()),
            sa.column("telegram_user_id", sa.BigInteger()),
            sa.column("chat_id", sa.BigInteger()),
            sa.column("first_name", sa.String()),
            sa.column("language", sa.String()),
            sa.column("language_chosen", sa.Boolean()),
            sa.column("created_at", UtcDateTime()),
            sa.column("last_seen_at", UtcDateTime()),
            sa.column("latest_ticket_id", sa.Integer()),
        )
        old_tickets = sa.table(
            "tickets",
            sa.column("id", sa.Integer()),
            sa.column("customer_id", sa.Integer()),
            sa.column("status", sa.String()),
            sa.column("priority", sa.String()),
            sa.column("reason", sa.String()),
            sa.column("language", sa.String()),
            sa.column("subject", sa.Text()),
            sa.column("tags", sa.JSON()),
            sa.column("created_at", UtcDateTime()),
            sa.column("updated_at", UtcDateTime()),
        )
        events = sa.table(
            "ticket_events",
            sa.column("ticket_id", sa.Integer()),
            sa.column("actor", sa.String()),
            sa.column("action", sa.String()),
            sa.column("details", sa.JSON()),
            sa.column("created_at", UtcDateTime()),
        )
        customer = {"chat_id": 1, "first_name": "Ann", "language": "ru"}
        ticket: dict[str, object] = {"priority": "normal", "reason": "low_confidence"}
        ticket |= {"language": "ru"}
        ticket |= {"subject": "?", "tags": [], "created_at": now, "updated_at": now}
        breach = {"ticket_id": 2, "actor": "bot", "action": "sla_breach", "created_at": now}
        round_ = {"kind": "first_response", "round": now.isoformat()}
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(customers),
                [
                    customer
                    | {"id": i, "telegram_user_id": i, "language_chosen": False}
                    | {"created_at": now, "last_seen_at": now, "latest_ticket_id": latest}
                    for i, latest in ((1, 2), (2, 4))
                ],
            )
            await connection.execute(
                sa.insert(old_tickets),
                [
                    ticket | {"id": 1, "customer_id": 1, "status": "open"},
                    ticket | {"id": 2, "customer_id": 1, "status": "waiting_for_customer"},
                    ticket | {"id": 3, "customer_id": 1, "status": "closed"},
                    ticket | {"id": 4, "customer_id": 2, "status": "new"},
                ],
            )
            await connection.execute(
                sa.insert(events),
                [breach | {"details": round_}, breach | {"details": round_}],
            )
        await migrate(engine)

        async with create_session_factory(engine)() as session:
            statuses = dict(
                (await session.execute(select(Ticket.id, Ticket.status).order_by(Ticket.id)))
                .tuples()
                .all()
            )
            assert statuses == {1: "closed", 2: "waiting_for_customer", 3: "closed", 4: "new"}
            closing = await session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == 1))
            assert closing is not None and closing.details == {"duplicate_of": 2}
            keys = (
                await session.scalars(
                    select(TicketEvent.alert_key).where(TicketEvent.action == "sla_breach")
                )
            ).all()
            assert keys == [f"sla_breach:first_response:{now.isoformat()}"]
    finally:
        await engine.dispose()
