"""The agents' desk in Telegram: one forum topic per customer in the agents' supergroup.

A handoff opens (or reopens) the customer's topic, names it after the customer and the subject
with the ticket's status in front, and pins the ticket's context card there. While a ticket is
active the customer's messages are relayed into the topic. Database work and Telegram calls never
share a transaction: SQLite has one connection, and a slow Telegram must not hold it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot import buttons
from bot.delivery import SINGLE_ATTEMPT
from bot.formatting import TELEGRAM_MESSAGE_LIMIT, escape, render_messages
from bot.outbox import Purpose, copy_params, enqueue, is_not_modified, text_params
from core.database import transaction, utcnow
from core.queues import OutboxMessage
from handoff.conversations import conversation
from handoff.desk.card import CARD_MESSAGES, CardContext, render_card, topic_title
from handoff.desk.tickets import owner_of, past_tickets
from handoff.models import (
    ACTIVE_TICKET_STATUSES,
    ConversationMessage,
    Customer,
    Direction,
    MessageKind,
    Priority,
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


@dataclass(frozen=True)
class Topic:
    chat_id: int
    thread_id: int


def card_buttons(ticket: Ticket) -> InlineKeyboardMarkup | None:
    if ticket.status not in ACTIVE_TICKET_STATUSES:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("🙋 Take", callback_data=buttons.desk("take", ticket.id)),
                InlineKeyboardButton("⚡ Priority", callback_data=buttons.desk("prio", ticket.id)),
                InlineKeyboardButton("✅ Close", callback_data=buttons.desk("close", ticket.id)),
            ]
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


def topic_of(customer: Customer) -> Topic | None:
    if customer.topic_chat_id is None or customer.topic_id is None:
        return None
    return Topic(customer.topic_chat_id, customer.topic_id)


class Desk:
    """What the bot does in the agents' group; inert when ``FIRSTLINE_AGENT_CHAT_ID`` is unset."""

    def __init__(self, services: Services, bot: ExtBot[Any]) -> None:
        self.services = services
        self.bot = bot

    @property
    def chat_id(self) -> int | None:
        return self.services.settings.agent_chat_id

    # --- a ticket's topic and card -----------------------------------------------------------

    async def show_ticket(self, ticket_id: int) -> None:
        """Open (or reuse) the customer's topic, post the ticket's card there and pin it.

        The topic is saved before the card is posted: an agent who acts on the card at once
        finds the ticket, and a card that fails to post never makes a second topic (the line's
        job posts it again, see ``show_unshown``)."""
        if self.chat_id is None:
            return
        async with self.services.sessions() as session:
            ticket = await session.get(Ticket, ticket_id)
            if ticket is None:
                return
            customer = await session.get(Customer, ticket.customer_id)
            if customer is None:
                return
            context = await self._card_context(session, ticket, customer)
        title = topic_title(customer, ticket)
        try:
            topic = await self._ensure_topic(customer, title)
            card = await self.bot.send_message(
                topic.chat_id,
                render_card(ticket, context),
                parse_mode=ParseMode.HTML,
                message_thread_id=topic.thread_id,
                reply_markup=card_buttons(ticket),
            )
        except TelegramError as error:  # the ticket stands; the line's job shows it again
            logger.error("ticket #%s not shown in the agents' group yet: %s", ticket_id, error)
            return
        async with transaction(self.services.sessions) as session:
            await session.execute(
                update(Ticket).where(Ticket.id == ticket_id).values(card_message_id=card.message_id)
            )
            await _mark_shown(session, ticket_id, ticket.card_revision)
        try:
            await self.bot.pin_chat_message(
                topic.chat_id, card.message_id, disable_notification=True
            )
        except TelegramError as error:  # the bot may lack the right to pin: the card still stands
            logger.warning("could not pin the card of ticket #%s: %s", ticket_id, error)

    async def show_unshown(self) -> None:
        """Show the active tickets whose card never got posted (Telegram was down, a crash).

        Only tickets older than ``SHOW_GRACE``: a younger one is being shown by its handoff right
        now, and showing it twice at once would open two topics."""
        if self.chat_id is None:
            return
        async with self.services.sessions() as session:
            unshown = list(
                await session.scalars(
                    select(Ticket.id).where(
                        Ticket.status.in_(ACTIVE_TICKET_STATUSES),
                        Ticket.card_message_id.is_(None),
                        Ticket.created_at < utcnow() - SHOW_GRACE,
                    )
                )
            )
        for ticket_id in unshown:
            await self.show_ticket(ticket_id)

    async def _ensure_topic(self, customer: Customer, title: str) -> Topic:
        """The customer's topic, renamed to ``title``; a new one (saved at once) when they have
        none in this group or agents deleted it."""
        topic = topic_of(customer)
        if (
            topic is not None
            and topic.chat_id == self.chat_id
            and await self._rename(topic, customer.topic_title, title)
        ):
            if title != customer.topic_title:
                await self._save_topic(customer, topic, title)
            return topic
        assert self.chat_id is not None
        created = await self.bot.create_forum_topic(self.chat_id, title)
        topic = Topic(self.chat_id, created.message_thread_id)
        await self._save_topic(customer, topic, title)
        return topic

    async def _save_topic(self, customer: Customer, topic: Topic, title: str) -> None:
        async with transaction(self.services.sessions) as session:
            await session.execute(
                update(Customer)
                .where(Customer.id == customer.id)
                .values(topic_chat_id=topic.chat_id, topic_id=topic.thread_id, topic_title=title)
            )
        customer.topic_chat_id, customer.topic_id = topic.chat_id, topic.thread_id
        customer.topic_title = title

    async def _rename(self, topic: Topic, old: str | None, new: str) -> bool:
        """Keep the topic's name current; False when the topic is gone (agents deleted it)."""
        if old == new:
            return True
        try:
            await self.bot.edit_forum_topic(
                topic.chat_id, topic.thread_id, name=new, rate_limit_args=SINGLE_ATTEMPT
            )
        except BadRequest as error:
            if is_not_modified(error) or "topic_not_modified" in str(error).lower():
                return True
            logger.warning("the topic %s is gone (%s): opening a new one", topic.thread_id, error)
            return False
        return True

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
        title = topic_title(customer, ticket)
        try:
            renamed = await self._rename(topic, customer.topic_title, title)
            if renamed and title != customer.topic_title:
                async with transaction(self.services.sessions) as session:
                    await session.execute(
                        update(Customer).where(Customer.id == customer.id).values(topic_title=title)
                    )
            await self.bot.edit_message_text(
                render_card(ticket, context),
                chat_id=topic.chat_id,
                message_id=ticket.card_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=card_buttons(ticket),
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
        if self.chat_id is None:
            return 0
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

    async def _card_context(
        self, session: AsyncSession, ticket: Ticket, customer: Customer
    ) -> CardContext:
        return CardContext(
            customer=customer,
            owner=await owner_of(session, ticket),
            past=await past_tickets(session, customer.id, before=ticket.id),
            messages=await conversation(session, customer.id, limit=CARD_MESSAGES),
        )

    async def notice(self, customer: Customer, html: str) -> None:
        """A line from the bot in the customer's topic (for the agents only), through the outbox."""
        topic = topic_of(customer)
        if topic is None or topic.chat_id != self.chat_id:
            return
        async with transaction(self.services.sessions) as session:
            await enqueue(
                session,
                topic.chat_id,
                text_params(html, thread_id=topic.thread_id),
                purpose=Purpose.NOTICE,
                ticket_id=customer.latest_ticket_id,
            )
        self.services.wake_outbox()

    # --- the customer's messages into the topic ----------------------------------------------

    async def relay(self, customer: Customer, message: ConversationMessage) -> None:
        """Put one of the customer's messages into their topic, through the outbox (which
        remembers where it went). Without a topic yet, the next start relays it."""
        topic = topic_of(customer)
        if topic is None or topic.chat_id != self.chat_id:
            return
        async with transaction(self.services.sessions) as session:
            await self._enqueue_relay(session, topic, customer, message)
        self.services.wake_outbox()

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
        if self.chat_id is None:
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
