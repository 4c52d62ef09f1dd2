"""Constraints that let several replicas share one database: one active ticket per customer, one
SLA alert per ticket, kind, stage and round.

- ``uq_tickets_one_active_per_customer``: a partial unique index on ``tickets(customer_id)`` over
  the active statuses (new, open, waiting_for_customer). Before it is created, a customer with
  several active tickets (possible before: escalation read, then inserted) keeps the newest one
  (highest id); the others are closed now, each with a ``closed`` event by the bot whose
  details say ``{"duplicate_of": <kept id>}``, and a customer pointer (``latest_ticket_id``) at a
  closed one moves to the kept one.
- ``ticket_events.alert_key`` (``<stage>:<kind>:<round>``, NULL for other events) with a unique
  index on ``(ticket_id, alert_key)``. Existing ``sla_warning``/``sla_breach`` events get their
  key from their details; where the same alert was recorded more than once, the first event
  stays and the repeats are deleted (they would count a breach twice in the analytics).

The downgrade drops the index and the column; closed duplicates and deleted repeats stay so.

Revision ID: 0007_replica_constraints
Revises: 0006_inbox_outbox
Create Date: 2026-12-07
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from core.database import UtcDateTime

revision = "0007_replica_constraints"
down_revision = "0006_inbox_outbox"
branch_labels = None
depends_on = None

# Frozen here: a later change to the statuses gets its own migration.
ACTIVE = ("new", "open", "waiting_for_customer")
ACTIVE_SQL = "status IN ('new', 'open', 'waiting_for_customer')"
SLA_STAGES = ("sla_warning", "sla_breach")

tickets = sa.table(
    "tickets",
    sa.column("id", sa.Integer()),
    sa.column("customer_id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("resolved_at", UtcDateTime()),
    sa.column("updated_at", UtcDateTime()),
)
customers = sa.table(
    "customers", sa.column("id", sa.Integer()), sa.column("latest_ticket_id", sa.Integer())
)
ticket_events = sa.table(
    "ticket_events",
    sa.column("id", sa.Integer()),
    sa.column("ticket_id", sa.Integer()),
    sa.column("agent_id", sa.Integer()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("alert_key", sa.String()),
    sa.column("created_at", UtcDateTime()),
)


def upgrade() -> None:
    _close_duplicate_active_tickets()
    op.create_index(
        "uq_tickets_one_active_per_customer",
        "tickets",
        ["customer_id"],
        unique=True,
        postgresql_where=sa.text(ACTIVE_SQL),
        sqlite_where=sa.text(ACTIVE_SQL),
    )
    op.add_column("ticket_events", sa.Column("alert_key", sa.String(100), nullable=True))
    _key_recorded_alerts()
    op.create_index(
        "uq_ticket_events_alert", "ticket_events", ["ticket_id", "alert_key"], unique=True
    )


def _close_duplicate_active_tickets() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(tickets.c.id, tickets.c.customer_id)
        .where(tickets.c.status.in_(ACTIVE))
        .order_by(tickets.c.customer_id, tickets.c.id.desc())
    ).all()
    kept: dict[int, int] = {}
    closing: dict[int, int] = {}  # closed ticket -> the customer's kept ticket
    for ticket_id, customer_id in rows:
        if customer_id in kept:
            closing[ticket_id] = kept[customer_id]
        else:
            kept[customer_id] = ticket_id
    if not closing:
        return
    now = datetime.now(UTC)
    bind.execute(
        sa.update(tickets)
        .where(tickets.c.id.in_(list(closing)))
        .values(status="closed", resolved_at=now, updated_at=now)
    )
    op.bulk_insert(
        ticket_events,
        [
            {
                "ticket_id": closed,
                "agent_id": None,
                "actor": "bot",
                "action": "closed",
                "details": {"duplicate_of": kept_id},
                "created_at": now,
            }
            for closed, kept_id in closing.items()
        ],
    )
    for closed, kept_id in closing.items():
        bind.execute(
            sa.update(customers)
            .where(customers.c.latest_ticket_id == closed)
            .values(latest_ticket_id=kept_id)
        )


def _key_recorded_alerts() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(ticket_events.c.id, ticket_events.c.ticket_id, ticket_events.c.action)
        .add_columns(ticket_events.c.details)
        .where(ticket_events.c.action.in_(SLA_STAGES))
        .order_by(ticket_events.c.id)
    ).all()
    seen: set[tuple[int, str]] = set()
    repeats: list[int] = []
    for event_id, ticket_id, action, details in rows:
        details = details or {}
        key = f"{action}:{details.get('kind', '')}:{details.get('round', '')}"
        if (ticket_id, key) in seen:
            repeats.append(event_id)
            continue
        seen.add((ticket_id, key))
        bind.execute(
            sa.update(ticket_events).where(ticket_events.c.id == event_id).values(alert_key=key)
        )
    if repeats:
        bind.execute(sa.delete(ticket_events).where(ticket_events.c.id.in_(repeats)))


def downgrade() -> None:
    op.drop_index("uq_ticket_events_alert", "ticket_events")
    op.drop_column("ticket_events", "alert_key")
    op.drop_index("uq_tickets_one_active_per_customer", "tickets")
