"""The line's hours in the conversation: the honest wait at handoff, "we're closed, we open at…",
the answer to "how long?", and the job that tells waiting customers the team is online and warns
agents before a ticket misses its service level."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import ExtBot

from bot.agents.desk import Desk
from bot.agents.team_topics import open_team_topics
from bot.context import FirstlineContext
from bot.customers.chat import Chat
from bot.customers.texts import Texts, texts_for
from bot.customers.when import describe_opening, describe_wait
from bot.formatting import escape
from bot.outbox import enqueue, text_params
from core.database import transaction
from core.queues import InboxUpdate, OutboxMessage, purge_finished
from handoff.conversations import record_message
from handoff.desk.teams import all_teams, team_of
from handoff.desk.tickets import owner_of
from handoff.line import availability
from handoff.line.hours import BusinessHours
from handoff.line.sla import SlaAlert, SlaKind, SlaStage, raise_sla_alerts, team_sla_targets
from handoff.models import Customer, Direction, MessageKind, Ticket
from handoff.services import Services

logger = logging.getLogger(__name__)

KEEP_UPDATES = timedelta(days=7)
KEEP_SENT = timedelta(days=30)


async def hours_of(session: AsyncSession, services: Services, ticket: Ticket) -> BusinessHours:
    """The schedule of the ticket's team."""
    return await availability.team_hours(session, services.settings, await team_of(session, ticket))


async def line_is_closed(services: Services, ticket: Ticket) -> bool:
    """The ticket's team is off duty now."""
    async with services.sessions() as session:
        hours = await hours_of(session, services, ticket)
    return not hours.is_open(services.clock())


async def wait_line(services: Services, ticket: Ticket, texts: Texts, language: str) -> str:
    """Where the ticket stands in its team's queue: the place and the honest wait (or when the
    team opens)."""
    async with services.sessions() as session:
        return await wait_line_in(session, services, ticket, texts, language)


async def wait_line_in(
    session: AsyncSession, services: Services, ticket: Ticket, texts: Texts, language: str
) -> str:
    """``wait_line`` read in the caller's session (which may hold the change it tells about)."""
    now = services.clock()
    hours = await hours_of(session, services, ticket)
    if ticket.assignee_id is not None:
        owner = await owner_of(session, ticket)
        return texts.wait_with_agent.format(agent=escape(owner.name if owner else "?"))
    if not hours.is_open(now):
        opening = hours.next_opening(now)
        if opening is None:
            return texts.out_of_hours_unknown
        return texts.wait_closed.format(opening=describe_opening(opening, now, language))
    estimate = await availability.expected_wait(session, ticket, hours, now)
    return texts.queue_wait.format(
        position=estimate.position, wait=describe_wait(estimate, language, now=now)
    )


async def status_at_handoff(chat: Chat, ticket: Ticket) -> str:
    """What follows the handoff message: "we're closed, a person answers at…" (once per closed
    period), else the place in the queue and the honest wait; empty when there is nothing new."""
    now = chat.services.clock()
    async with transaction(chat.services.sessions) as session:
        hours = await hours_of(session, chat.services, ticket)
        customer = await session.get(Customer, chat.customer.id)
        assert customer is not None
        closed = await availability.closed_notice(session, customer, hours, now)
    if closed is not None and closed.opening is None:
        return chat.texts.out_of_hours_unknown
    if closed is not None and closed.opening is not None:
        opening = describe_opening(closed.opening, now, chat.language)
        return chat.texts.out_of_hours.format(opening=opening)
    if not hours.is_open(now):
        return ""
    return await wait_line(chat.services, ticket, chat.texts, chat.language)


async def answer_wait_question(chat: Chat, ticket: Ticket) -> None:
    """ "How long?" from a customer whose ticket is open."""
    await chat.say(await wait_line(chat.services, ticket, chat.texts, chat.language))


# --- the job -------------------------------------------------------------------------------


async def watch_the_line(context: FirstlineContext) -> None:
    """Every minute: welcome back those who wrote while closed; warn about service levels; show
    what Telegram did not take; open a new small team's topic in the main group.

    Each part runs whatever happened to the other, so one failure never silences SLA alerts.
    """
    services = context.services
    for part in (
        welcome_waiting_customers,
        warn_about_service_levels,
        show_unshown_tickets,
        open_team_topics,
        purge_the_queues,
    ):
        try:
            await part(services, context.bot)
        except Exception:  # logged; the next run tries again
            logger.exception("watching the line: %s failed", part.__name__)


async def welcome_waiting_customers(services: Services, bot: ExtBot[Any]) -> int:
    """Once a team's line opens: each customer told it was closed, whose ticket still waits for
    one of the team's agents, hears that the team is online. Once: each customer is claimed in
    the database before the message is queued, in the same transaction: the outbox delivers it
    once. How many were claimed."""
    now = services.clock()
    waiting: list[tuple[Customer, Ticket, BusinessHours]] = []
    async with services.sessions() as session:
        for team in await all_teams(session):
            hours = await availability.team_hours(session, services.settings, team)
            found = await availability.waiting_since_closed(session, hours, now, team=team)
            waiting += [(customer, ticket, hours) for customer, ticket in found]
    told = 0
    for customer, ticket, hours in waiting:
        async with transaction(services.sessions) as session:
            if not await availability.claim_open_notice(session, customer, now):
                continue
            estimate = await availability.expected_wait(session, ticket, hours, now)
            texts = texts_for(customer.language)
            html = texts.line_open.format(
                position=estimate.position,
                wait=describe_wait(estimate, customer.language, now=now),
            )
            # Claimed and queued in one transaction: told once, whatever crashes when.
            message = record_message(
                session, customer, Direction.OUTBOUND, MessageKind.TEXT, text=html
            )
            await enqueue(session, customer.chat_id, text_params(html), message=message)
        told += 1
    services.wake_outbox()
    return told


async def warn_about_service_levels(services: Services, bot: ExtBot[Any]) -> list[SlaAlert]:
    """Post due warnings and breaches in the tickets' topics, mentioning the owner (or the
    ticket's team by name)."""
    now = services.clock()
    alerts: list[SlaAlert] = []
    async with transaction(services.sessions) as session:
        for team in await all_teams(session):
            hours = await availability.team_hours(session, services.settings, team)
            targets = await team_sla_targets(session, team)
            alerts += await raise_sla_alerts(session, hours, targets, now, team=team)
        owners = [await owner_of(session, alert.ticket) for alert in alerts]
        holders = [await team_of(session, alert.ticket) for alert in alerts]
    desk = Desk(services, bot)
    for alert, owner, team in zip(alerts, owners, holders, strict=True):
        # The team by name: a small team's tickets share the main group with the first line's.
        who = escape(owner.mention if owner else team.name)
        await desk.notice(alert.customer, _alert_text(alert, who))
    return alerts


async def keep_cards_current(context: FirstlineContext) -> None:
    """Every few seconds: the cards and topic names Telegram did not take are edited again."""
    await Desk(context.services, context.bot).refresh_lagging()


async def show_unshown_tickets(services: Services, bot: ExtBot[Any]) -> None:
    """Tickets whose card could not be posted (Telegram was down) are shown once it is back."""
    await Desk(services, bot).show_unshown()


async def purge_the_queues(services: Services, bot: ExtBot[Any]) -> None:
    """Updates processed a week ago, and messages sent a month ago (a rating request's buttons
    count while its row is kept), leave the inbox and the outbox."""
    await purge_finished(services.sessions, InboxUpdate, InboxUpdate.finished_at, KEEP_UPDATES)
    await purge_finished(services.sessions, OutboxMessage, OutboxMessage.created_at, KEEP_SENT)


def _alert_text(alert: SlaAlert, who: str) -> str:
    what = "first response" if alert.kind == SlaKind.FIRST_RESPONSE else "resolution"
    target = _minutes(alert.target.total_seconds())
    if alert.stage == SlaStage.BREACH:
        return f"🚨 {who}: ticket #{alert.ticket.id} missed its {what} target of {target}."
    left = _minutes((alert.target - alert.elapsed).total_seconds())
    return f"⏰ {who}: ticket #{alert.ticket.id} is due a {what} in {left} (target {target})."


def _minutes(seconds: float) -> str:
    minutes = max(round(seconds / 60), 1)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"
