"""Service levels: first-response and resolution targets per priority, counted in open hours.

A ticket about to miss a target gets a warning in its topic, one that missed it a breach; both
are recorded in the ticket's audit trail (once each per round: a reopened ticket starts its
clocks again), which the analytics read. "Once" is held by a unique key in the database, so
replicas raising alerts at the same time record (and post) each alert once between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import utcnow
from handoff.desk.tickets import Actor
from handoff.line.availability import save_setting
from handoff.line.hours import BusinessHours
from handoff.line.queue import of_team
from handoff.models import (
    ACTIVE_TICKET_STATUSES,
    Customer,
    Priority,
    SupportSetting,
    Team,
    Ticket,
    TicketEvent,
)

SLA_SETTING = "sla"


class SlaKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class SlaStage(StrEnum):
    WARNING = "sla_warning"
    BREACH = "sla_breach"


class SlaTarget(BaseModel):
    """Minutes of open hours within which a ticket of one priority gets its first answer and is
    resolved."""

    first_response_minutes: int = Field(ge=1, le=60 * 24 * 30)
    resolution_minutes: int = Field(ge=1, le=60 * 24 * 90)

    @model_validator(mode="after")
    def _resolution_after_response(self) -> SlaTarget:
        if self.resolution_minutes < self.first_response_minutes:
            raise ValueError("resolution cannot be due before the first response")
        return self


class SlaTargets(BaseModel):
    """Targets per priority, and how early (share of the target gone) agents are warned."""

    targets: dict[Priority, SlaTarget]
    warn_at: float = Field(0.8, gt=0, lt=1, description="share of the target elapsed")

    @model_validator(mode="after")
    def _every_priority(self) -> SlaTargets:
        missing = [priority.value for priority in Priority if priority not in self.targets]
        if missing:
            raise ValueError(f"give targets for every priority; missing: {', '.join(missing)}")
        return self


DEFAULT_TARGETS = SlaTargets(
    targets={
        Priority.URGENT: SlaTarget(first_response_minutes=15, resolution_minutes=4 * 60),
        Priority.HIGH: SlaTarget(first_response_minutes=60, resolution_minutes=8 * 60),
        Priority.NORMAL: SlaTarget(first_response_minutes=4 * 60, resolution_minutes=24 * 60),
        Priority.LOW: SlaTarget(first_response_minutes=8 * 60, resolution_minutes=48 * 60),
    }
)


async def sla_targets(session: AsyncSession) -> SlaTargets:
    stored = await session.get(SupportSetting, SLA_SETTING)
    return SlaTargets.model_validate(stored.value) if stored else DEFAULT_TARGETS


async def team_sla_targets(session: AsyncSession, team: Team) -> SlaTargets:
    """The team's own targets, else the line's."""
    if team.sla is not None:
        return SlaTargets.model_validate(team.sla)
    return await sla_targets(session)


async def save_sla_targets(session: AsyncSession, targets: SlaTargets) -> None:
    await save_setting(session, SLA_SETTING, targets.model_dump(mode="json"))


@dataclass(frozen=True)
class SlaAlert:
    ticket: Ticket
    customer: Customer
    kind: SlaKind
    stage: SlaStage
    target: timedelta
    elapsed: timedelta


def _due(ticket: Ticket, target: SlaTarget) -> list[tuple[SlaKind, timedelta]]:
    due: list[tuple[SlaKind, timedelta]] = []
    if ticket.awaits_response:
        due.append((SlaKind.FIRST_RESPONSE, timedelta(minutes=target.first_response_minutes)))
    if ticket.resolved_at is None:
        due.append((SlaKind.RESOLUTION, timedelta(minutes=target.resolution_minutes)))
    return due


def _round(ticket: Ticket) -> str:
    """Which round of the ticket an alert belongs to: a reopening starts the clocks again."""
    return ticket.waiting_since.astimezone(UTC).isoformat()


def alert_key(stage: SlaStage, kind: SlaKind, round_: str) -> str:
    """What makes an alert unique within its ticket (``ticket_events.alert_key``)."""
    return f"{stage.value}:{kind.value}:{round_}"


async def _raised(session: AsyncSession, ticket_ids: list[int]) -> set[tuple[int, str]]:
    """(ticket, alert key) of the warnings and breaches already recorded."""
    rows = await session.execute(
        select(TicketEvent.ticket_id, TicketEvent.alert_key).where(
            TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.alert_key.is_not(None)
        )
    )
    return {(ticket_id, key) for ticket_id, key in rows.tuples() if key is not None}


async def _record_alert(
    session: AsyncSession, ticket: Ticket, stage: SlaStage, kind: SlaKind, round_: str
) -> bool:
    """Record the alert in the ticket's audit trail unless it is there already; True if this
    call recorded it. The unique key decides, not a read before: of two replicas raising the
    same alert at once, the second one's insert waits for the first and then does nothing."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    recorded = await session.execute(
        insert(TicketEvent)
        .values(
            ticket_id=ticket.id,
            actor=Actor.BOT,
            action=stage.value,
            details={"kind": kind.value, "round": round_},
            alert_key=alert_key(stage, kind, round_),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["ticket_id", "alert_key"])
        .returning(TicketEvent.id)
    )
    return recorded.scalar_one_or_none() is not None


async def raise_sla_alerts(
    session: AsyncSession,
    hours: BusinessHours,
    targets: SlaTargets,
    now: datetime,
    *,
    team: Team | None = None,
) -> list[SlaAlert]:
    """Record the warnings and breaches of the team's (None: every) tickets that are due now, each once, and
    return the ones this call recorded (another replica's are its own to post)."""
    rows = (
        await session.execute(
            select(Ticket, Customer)
            .join(Customer, Customer.id == Ticket.customer_id)
            .where(Ticket.status.in_(ACTIVE_TICKET_STATUSES), of_team(team))
            .order_by(Ticket.id)
        )
    ).all()
    raised = await _raised(session, [ticket.id for ticket, _ in rows])
    alerts: list[SlaAlert] = []
    for ticket, customer in rows:
        target = targets.targets[Priority(ticket.priority)]
        due = _due(ticket, target)
        if not due:
            continue
        elapsed = hours.open_time_between(ticket.waiting_since, now)
        round_ = _round(ticket)
        for kind, limit in due:
            stage = (
                SlaStage.BREACH
                if elapsed >= limit
                else SlaStage.WARNING
                if elapsed >= limit * targets.warn_at
                else None
            )
            if stage is None or (ticket.id, alert_key(stage, kind, round_)) in raised:
                continue
            if await _record_alert(session, ticket, stage, kind, round_):
                alerts.append(SlaAlert(ticket, customer, kind, stage, limit, elapsed))
    return alerts
