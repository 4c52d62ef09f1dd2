"""The agents' desk in Telegram: one forum topic per customer in the agents' supergroup.

A handoff opens (or reopens) the customer's topic, names it after the customer and the subject
with the ticket's status in front, and pins the ticket's context card there. While a ticket is
active the customer's messages are relayed into the topic. Database work and Telegram calls never
share a transaction: SQLite has one connection, and a slow Telegram must not hold it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot import buttons
from bot.agents.team_topics import arrival, open_team_topic
from bot.agents.topics import Topic, Topics, remember_topic, topic_of
from bot.delivery import SINGLE_ATTEMPT
from bot.formatting import TELEGRAM_MESSAGE_LIMIT, escape, render_messages
from bot.outbox import Purpose, copy_params, enqueue, is_not_modified, text_params
from core.database import transaction, utcnow
from core.queues import OutboxMessage
from handoff.conversations import conversation
from handoff.desk.card import CARD_MESSAGES, CardContext, render_card, topic_title
from handoff.desk.escalation import latest_transfer_note
from handoff.desk.teams import agent_groups, group_of, is_topic_team, team_of
from handoff.desk.tickets import owner_of, past_tickets
from handoff.models import (
    ACTIVE_TICKET_STATUSES,
    ConversationMessage,
    Customer,
    CustomerTopic,
    Direction,
    MessageKind,
    Priority,
    Team,
    Ticket,
)
from handoff.services import Services

logger = logging.getLogger(__name__)

# Messages older than this that never reached the topic are not relayed at a restart.
RESUME_WINDOW = timedelta(hours=24)
LAGGING_CARDS_PER_ROUND = 50
# Longer than a handoff takes to show its ticket (Telegram's calls and their retries included).
SHOW_GRACE = timedelta(seconds=60)
RELAYED_AS_TEXT = (MessageKind.TEXT, MessageKind.COMMAND, MessageKind.BUTTON, MessageKind.EDIT)
CUSTOMER_MARK = "👤"
EDIT_MARK = "✏️"


async def _mark_shown(session: AsyncSession, ticket_id: int, revision: int) -> None:
    """The card shows the ticket as it was at ``revision`` (a later change keeps it lagging)."""
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.card_shown_revision < revision)
        .values(card_shown_revision=revision, updated_at=Ticket.updated_at)
    )


def card_buttons(ticket: Ticket, *, teams: int = 1) -> InlineKeyboardMarkup | None:
    """Take, Priority, Close; and Escalate where there is another team to pass it to."""
    if ticket.status not in ACTIVE_TICKET_STATUSES:
        return None
    escalate = [InlineKeyboardButton("⤴️ Escalate", callback_data=buttons.desk("esc", ticket.id))]
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("🙋 Take", callback_data=buttons.desk("take", ticket.id)),
                InlineKeyboardButton("⚡ Priority", callback_data=buttons.desk("prio", ticket.id)),
                InlineKeyboardButton("✅ Close", callback_data=buttons.desk("close", ticket.id)),
            ],
            *([escalate] if teams > 1 else []),
        ]
    )


def priority_buttons(ticket: Ticket) -> InlineKeyboardMarkup:
    choices = [
        InlineKeyboardButton(
            ("• " if ticket.priority == priority else "") + priority.value,
            callback_data=buttons.desk("setprio", ticket.id, priority.value),
        )
        for priority in Priority
    ]
    back = InlineKeyboardButton("↩ Back", callback_data=buttons.desk("card", ticket.id))
    return InlineKeyboardMarkup([choices, [back]])


class Desk:
    """What the bot does in the agents' groups: each team's forum group (the default team's is
    ``FIRSTLINE_AGENT_CHAT_ID``); inert for a ticket whose team has no group."""

    def __init__(self, services: Services, bot: ExtBot[Any]) -> None:
        self.services = services
        self.bot = bot
        self.topics = Topics(services.sessions, bot)

    async def card_buttons(self, ticket: Ticket) -> InlineKeyboardMarkup | None:
        async with self.services.sessions() as session:
            teams = await session.scalar(select(func.count(Team.id)))
        return card_buttons(ticket, teams=teams or 0)

    async def groups(self) -> set[int]:
        """Every team's forum group."""
        async with self.services.sessions() as session:
            return await agent_groups(session, self.services.settings)

    # --- a ticket's topic and card -----------------------------------------------------------

    async def show_ticket(self, ticket_id: int) -> None:
        """Open (or reuse) the customer's topic in the group of the ticket's team, post the
        ticket's card there and pin it.

        The topic is saved before the card is posted: an agent who acts on the card at once
        finds the ticket, and a card that fails to post never makes a second topic (the line's
        job posts it again, see ``show_unshown``)."""
        settings = self.services.settings
        async with self.services.sessions() as session:
            ticket = await session.get(Ticket, ticket_id)
            if ticket is None:
                return
            customer = await session.get(Customer, ticket.customer_id)
            team = await team_of(session, ticket)
            group = group_of(team, settings)
            if customer is None or group is None:
                return
            context = await self._card_context(session, ticket, customer)
            known = await session.scalar(
                select(CustomerTopic).where(
                    CustomerTopic.customer_id == customer.id, CustomerTopic.chat_id == group
                )
            )
        small_team = is_topic_team(team, settings)
        title = self._title(customer, ticket, team)
        try:
            topic = await self.topics.ensure(customer, title, group, known)
            card = await self.bot.send_message(
                topic.chat_id,
                render_card(ticket, context),
                parse_mode=ParseMode.HTML,
                message_thread_id=topic.thread_id,
                reply_markup=await self.card_buttons(ticket),
            )
        except TelegramError as error:  # the ticket stands; the line's job shows it again
            logger.error("ticket #%s not shown in the agents' group yet: %s", ticket_id, error)
            return
        team_topic = await open_team_topic(self.services, self.bot, team) if small_team else None
        async with transaction(self.services.sessions) as session:
            await session.execute(
                update(Ticket).where(Ticket.id == ticket_id).values(card_message_id=card.message_id)
            )
            await _mark_shown(session, ticket_id, ticket.card_revision)
            if team_topic is not None:  # announced once: with the card's first showing
                html = arrival(ticket, title, context.transfer, topic)
                params = text_params(html, thread_id=team_topic.thread_id)
                await enqueue(session, group, params, purpose=Purpose.NOTICE, ticket_id=ticket_id)
        if team_topic is not None:
            self.services.wake_outbox(group)
        try:
            await self.bot.pin_chat_message(
                topic.chat_id, card.message_id, disable_notification=True
            )
        except TelegramError as error:  # the bot may lack the right to pin: the card still stands
            logger.warning("could not pin the card of ticket #%s: %s", ticket_id, error)

    async def show_unshown(self) -> None:
        """Show the active tickets whose card never got posted (Telegram was down, a crash).

        Only tickets that reached their team more than ``SHOW_GRACE`` ago: a younger one is
        being shown by its handoff (or its escalation) right now, and showing it twice at once
        would open two topics."""
        arrived = func.coalesce(Ticket.team_joined_at, Ticket.created_at)
        async with self.services.sessions() as session:
            unshown = list(
                await session.scalars(
                    select(Ticket.id).where(
                        Ticket.status.in_(ACTIVE_TICKET_STATUSES),
                        Ticket.card_message_id.is_(None),
                        arrived < utcnow() - SHOW_GRACE,
                    )
                )
            )
        for ticket_id in unshown:
            await self.show_ticket(ticket_id)

    async def refresh(self, ticket_id: int) -> None:
        """Bring the card and the topic's name in line with the ticket (status, owner, priority).

        One attempt: the change is committed (the ticket's card revision), so a card Telegram
        does not take now lags until ``refresh_lagging`` brings it up to date, and the agents'
        lane does not wait through retries in place."""
        async with self.services.sessions() as session:
            ticket = await session.get(Ticket, ticket_id)
            customer = await session.get(Customer, ticket.customer_id) if ticket else None
            if ticket is None or customer is None or ticket.card_message_id is None:
                return  # an unshown ticket is shown whole by show_unshown
            topic = topic_of(customer)
            if topic is None:
                return
            context = await self._card_context(session, ticket, customer)
            team = await team_of(session, ticket)
        title = self._title(customer, ticket, team)
        try:
            renamed = await self.topics.rename(topic, customer.topic_title, title)
            if renamed and title != customer.topic_title:
                async with transaction(self.services.sessions) as session:
                    await session.execute(
                        update(Customer).where(Customer.id == customer.id).values(topic_title=title)
                    )
                    await remember_topic(session, customer.id, topic, title)
            await self.bot.edit_message_text(
                render_card(ticket, context),
                chat_id=topic.chat_id,
                message_id=ticket.card_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=await self.card_buttons(ticket),
                rate_limit_args=SINGLE_ATTEMPT,
            )
        except BadRequest as error:  # "message is not modified" and cards agents deleted
            if not is_not_modified(error):
                logger.info("card of ticket #%s not updated: %s", ticket_id, error)
        except TelegramError as error:  # kept lagging: tried again in a few seconds
            logger.warning("card of ticket #%s not refreshed yet (%s)", ticket_id, error)
            return
        async with transaction(self.services.sessions) as session:
            await _mark_shown(session, ticket_id, ticket.card_revision)

    async def refresh_lagging(self) -> int:
        """Edit the cards (and topic names) that do not show their ticket as it is: Telegram
        refused the edit, or the process stopped before making it. How many were tried."""
        async with self.services.sessions() as session:
            lagging = list(
                await session.scalars(
                    select(Ticket.id)
                    .where(
                        Ticket.card_shown_revision < Ticket.card_revision,
                        Ticket.card_message_id.is_not(None),
                    )
                    .order_by(Ticket.id)
                    .limit(LAGGING_CARDS_PER_ROUND)
                )
            )
        for ticket_id in lagging:
            await self.refresh(ticket_id)
        return len(lagging)

    def _title(self, customer: Customer, ticket: Ticket, team: Team) -> str:
        """The topic's name; a small team's tickets carry its name: the whole main group sees them."""
        small_team = is_topic_team(team, self.services.settings)
        return topic_title(customer, ticket, team.name if small_team else None)

    async def _card_context(
        self, session: AsyncSession, ticket: Ticket, customer: Customer
    ) -> CardContext:
        return CardContext(
            customer=customer,
            owner=await owner_of(session, ticket),
            past=await past_tickets(session, customer.id, before=ticket.id),
            messages=await conversation(session, customer.id, limit=CARD_MESSAGES),
            transfer=await latest_transfer_note(session, ticket),
        )

    async def notice(self, customer: Customer, html: str) -> None:
        """A line from the bot in the customer's current topic (for the agents only), through
        the outbox."""
        topic = topic_of(customer)
        if topic is not None and topic.chat_id in await self.groups():
            await self.notice_in(topic, html, customer.latest_ticket_id)

    async def notice_in(self, topic: Topic, html: str, ticket_id: int | None) -> None:
        """A line from the bot in this topic (for the agents only), through the outbox."""
        async with transaction(self.services.sessions) as session:
            await enqueue(
                session,
                topic.chat_id,
                text_params(html, thread_id=topic.thread_id),
                purpose=Purpose.NOTICE,
                ticket_id=ticket_id,
            )
        self.services.wake_outbox(topic.chat_id)

    # --- the customer's messages into the topic ----------------------------------------------

    async def relay(self, customer: Customer, message: ConversationMessage) -> None:
        """Put one of the customer's messages into their topic, through the outbox (which
        remembers where it went). Without a topic yet, the next start relays it."""
        topic = topic_of(customer)
        if topic is None or topic.chat_id not in await self.groups():
            return
        async with transaction(self.services.sessions) as session:
            await self._enqueue_relay(session, topic, customer, message)
        self.services.wake_outbox(topic.chat_id)

    async def _enqueue_relay(
        self, session: AsyncSession, topic: Topic, customer: Customer, message: ConversationMessage
    ) -> None:
        if message.kind not in RELAYED_AS_TEXT and message.telegram_message_id is not None:
            params = copy_params(
                customer.chat_id, message.telegram_message_id, thread_id=topic.thread_id
            )
            await enqueue(
                session,
                topic.chat_id,
                params,
                method="copy_message",
                purpose=Purpose.RELAY,
                message=message,
                ticket_id=message.ticket_id,
            )
            return
        mark = EDIT_MARK if message.kind == MessageKind.EDIT else CUSTOMER_MARK
        parts = render_messages(message.text or "", TELEGRAM_MESSAGE_LIMIT - 3, as_html=escape)
        for number, part in enumerate(parts or [""]):  # the first part is the message's twin
            await enqueue(
                session,
                topic.chat_id,
                text_params(f"{mark} {part}", thread_id=topic.thread_id),
                purpose=Purpose.RELAY,
                message=message if number == 0 else None,
                ticket_id=message.ticket_id,
            )

    async def resume(self) -> None:
        """At start: show tickets whose card never got posted, relay what never reached a topic
        (messages that came while their topic did not exist yet)."""
        if not await self.groups():
            return
        await self.show_unshown()
        await self.refresh_lagging()
        relayed = select(OutboxMessage.id).where(
            OutboxMessage.conversation_message_id == ConversationMessage.id,
            OutboxMessage.purpose == Purpose.RELAY,
        )
        async with self.services.sessions() as session:
            pending = (
                await session.execute(
                    select(ConversationMessage, Customer)
                    .join(Ticket, Ticket.id == ConversationMessage.ticket_id)
                    .join(Customer, Customer.id == ConversationMessage.customer_id)
                    .where(
                        Ticket.status.in_(ACTIVE_TICKET_STATUSES),
                        ConversationMessage.direction == Direction.INBOUND,
                        ConversationMessage.topic_message_id.is_(None),
                        ConversationMessage.created_at >= utcnow() - RESUME_WINDOW,
                        ~exists(relayed),
                    )
                    .order_by(ConversationMessage.id)
                )
            ).all()
        if pending:
            logger.info("relaying %d customer messages that did not reach a topic", len(pending))
        for message, customer in pending:
            await self.relay(customer, message)
