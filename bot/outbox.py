"""Durable delivery: what the product sends is an outbox row committed with the decision that
caused it; ``OutboxSender`` delivers rows in order per destination chat, with retries that
survive restarts (hours, not seconds).

Exactly once as far as Telegram allows: a row is claimed (recorded) before the call and marked
after it. A crash in between leaves a row whose fate is unknown: it is sent again and logged as
possibly doubled (Telegram offers no idempotency key for messages).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram._utils.types import ReplyMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.delivery import SINGLE_ATTEMPT, retry_after_seconds
from bot.formatting import escape
from bot.inbox import CURRENT_UPDATE, describe_error, is_transient, retry_delay
from core.database import transaction, utcnow
from core.queues import Lane, LaneRunner, OutboxMessage, QueueStatus, claim_next, settle
from handoff.desk.tickets import Actor, record_event
from handoff.models import ConversationMessage, Customer, Ticket

logger = logging.getLogger(__name__)


class Purpose(StrEnum):
    REPLY = "reply"  # the bot to a customer
    AGENT_REPLY = "agent_reply"  # an agent to a customer
    RELAY = "relay"  # a customer's message copied into their topic
    NOTICE = "notice"  # the bot's line for the agents in a topic
    RATING = "rating_request"  # "rate the help": its buttons count only on this very message
    AGENT_EDIT = "agent_edit"  # an agent edited a reply: the customer's copy follows


TO_CUSTOMER = (Purpose.REPLY, Purpose.AGENT_REPLY, Purpose.RATING, Purpose.AGENT_EDIT)
SENDERS = {"send_message", "copy_message"}
# An edit names the message it changes by its ConversationMessage: the Telegram id is known only
# once that message is delivered, which the chat's order guarantees happens first.
EDITORS = {"edit_message_text", "edit_message_caption"}


def text_params(
    html: str, *, reply_markup: ReplyMarkup | None = None, thread_id: int | None = None
) -> dict[str, Any]:
    """``send_message``'s arguments (Telegram HTML), as the outbox keeps them."""
    params: dict[str, Any] = {"text": html, "parse_mode": ParseMode.HTML}
    if reply_markup is not None:
        params["reply_markup"] = reply_markup.to_dict()
    if thread_id is not None:
        params["message_thread_id"] = thread_id
    return params


def edit_params(html: str, *, caption: bool) -> tuple[str, dict[str, Any]]:
    """The outbox's method and arguments to change a delivered message's text or caption."""
    if caption:
        return "edit_message_caption", {"caption": html, "parse_mode": ParseMode.HTML}
    return "edit_message_text", {"text": html, "parse_mode": ParseMode.HTML}


def copy_params(
    from_chat_id: int, message_id: int, *, thread_id: int | None = None
) -> dict[str, Any]:
    params: dict[str, Any] = {"from_chat_id": from_chat_id, "message_id": message_id}
    if thread_id is not None:
        params["message_thread_id"] = thread_id
    return params


async def enqueue(
    session: AsyncSession,
    chat_id: int,
    params: dict[str, Any],
    *,
    method: str = "send_message",
    purpose: Purpose = Purpose.REPLY,
    message: ConversationMessage | None = None,
    ticket_id: int | None = None,
) -> OutboxMessage:
    """Add a delivery to the session: it is committed with the caller's transaction."""
    if method not in SENDERS | EDITORS:
        raise ValueError(f"the outbox does not send {method!r}")
    if method in EDITORS and message is None:
        raise ValueError("an edit names the message it changes")
    if message is not None and message.id is None:
        await session.flush()
    row = OutboxMessage(
        chat_id=chat_id,
        method=method,
        params=params,
        purpose=purpose,
        conversation_message_id=message.id if message is not None else None,
        ticket_id=ticket_id,
        update_id=work.update_id if (work := CURRENT_UPDATE.get()) is not None else None,
        status=QueueStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
        late_notice_sent=False,
    )
    session.add(row)
    return row


async def was_sent_for(
    session: AsyncSession, purpose: Purpose, ticket_id: int, chat_id: int, message_id: int
) -> bool:
    """Whether this message in this chat is the one the outbox delivered for the ticket."""
    found = await session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.ticket_id == ticket_id,
            OutboxMessage.purpose == purpose,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.telegram_message_id == message_id,
        )
    )
    return found is not None


def is_not_modified(error: BadRequest) -> bool:
    """Telegram's "message is not modified": the edit asked for what is already there."""
    return "not modified" in str(error).lower().replace("_", " ")


def _markup(data: dict[str, Any] | None) -> ReplyMarkup | None:
    if data is None:
        return None
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.de_json(data, None)
    if "keyboard" in data:
        return ReplyKeyboardMarkup.de_json(data, None)
    return ReplyKeyboardRemove.de_json(data, None)


class OutboxSender(LaneRunner):
    """Delivers the outbox, chat by chat: a chat's rows in order, a failed row holding back the
    rows after it until it is delivered or given up."""

    def __init__(
        self,
        bot: ExtBot[Any],
        sessions: async_sessionmaker[AsyncSession],
        *,
        retry_seconds: float = 2.0,
        max_retry_seconds: float = 300.0,
        give_up_after: timedelta = timedelta(hours=24),
        poll_seconds: float = 1.0,
    ) -> None:
        super().__init__(
            "outbox", sessions, OutboxMessage, OutboxMessage.chat_id, poll_seconds=poll_seconds
        )
        self.bot = bot
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.give_up_after = give_up_after

    async def step(self, chat: Lane) -> bool:
        """Claim and deliver the chat's oldest pending row."""
        claimed = await claim_next(self.sessions, OutboxMessage, OutboxMessage.chat_id, chat)
        if claimed is None:
            return False
        row = claimed.row
        if claimed.interrupted:
            logger.warning(
                "outbox %s (%s to chat %s): an earlier attempt was cut off; sending again, it "
                "may arrive twice",
                row.id,
                row.purpose,
                row.chat_id,
            )
        try:
            sent = await self._call(row)
        except TelegramError as error:
            return await self._failed(row, error) and claimed.more
        await self._delivered(row, sent)
        return claimed.more

    async def _call(self, row: OutboxMessage) -> int:
        """One attempt (the rate limiter's retries in place would hold the chat's lane): the
        row's back-off takes over from here."""
        params = dict(row.params)
        if row.method in EDITORS:
            return await self._edit(row, params)
        if row.method == "copy_message":
            copied = await self.bot.copy_message(
                row.chat_id, **params, rate_limit_args=SINGLE_ATTEMPT
            )
            return copied.message_id
        params["reply_markup"] = _markup(params.get("reply_markup"))
        sent = await self.bot.send_message(row.chat_id, **params, rate_limit_args=SINGLE_ATTEMPT)
        return sent.message_id

    async def _edit(self, row: OutboxMessage, params: dict[str, Any]) -> int:
        async with self.sessions() as session:
            edited = await session.get(ConversationMessage, row.conversation_message_id)
        if edited is None or edited.telegram_message_id is None:
            raise BadRequest("the message to edit never reached the chat")
        try:
            await getattr(self.bot, row.method)(
                chat_id=row.chat_id,
                message_id=edited.telegram_message_id,
                **params,
                rate_limit_args=SINGLE_ATTEMPT,
            )
        except BadRequest as error:
            if not is_not_modified(error):  # a copy made after the edit already shows it
                raise
        return edited.telegram_message_id

    async def _delivered(self, row: OutboxMessage, message_id: int) -> None:
        """Mark the row delivered and, in the same transaction, give its conversation message
        the id Telegram gave it (a reply's or an edit's target, a relay's place in the topic)."""
        store_message_id = None
        if row.conversation_message_id is not None:
            column = "topic_message_id" if row.purpose == Purpose.RELAY else "telegram_message_id"
            store_message_id = (
                update(ConversationMessage)
                .where(ConversationMessage.id == row.conversation_message_id)
                .values({column: message_id})
            )
        await settle(
            self.sessions,
            OutboxMessage,
            row.id,
            along=store_message_id,
            status=QueueStatus.DONE,
            sent_at=utcnow(),
            telegram_message_id=message_id,
            last_error=None,
        )

    async def _failed(self, row: OutboxMessage, error: TelegramError) -> bool:
        """Schedule a retry (False: the chat's later rows wait) or give the row up (True)."""
        now = utcnow()
        if is_transient(error) and now - row.created_at < self.give_up_after:
            delay = retry_delay(row.attempts, self.retry_seconds, self.max_retry_seconds)
            if isinstance(error, RetryAfter):
                delay = max(delay, retry_after_seconds(error))
            logger.warning(
                "outbox %s to chat %s not delivered (%s, attempt %d); retrying in %.0f s",
                row.id,
                row.chat_id,
                describe_error(error),
                row.attempts,
                delay,
            )
            await settle(
                self.sessions,
                OutboxMessage,
                row.id,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=describe_error(error),
            )
            if row.purpose in TO_CUSTOMER:
                await self._tell_agents_late(row.chat_id)
            return False
        logger.error(
            "outbox %s to chat %s given up: %s", row.id, row.chat_id, describe_error(error)
        )
        await settle(
            self.sessions,
            OutboxMessage,
            row.id,
            status=QueueStatus.FAILED,
            last_error=describe_error(error),
        )
        if row.purpose in TO_CUSTOMER:
            await self._tell_agents_failed(row, error)
        elif isinstance(error, BadRequest):
            logger.error("outbox %s was refused by Telegram as malformed", row.id)
        return True

    async def _tell_agents_late(self, chat_id: int) -> None:
        """The customer's chat refuses for now: agents whose replies wait there hear it (once)."""
        try:
            async with transaction(self.sessions) as session:
                waiting = list(
                    await session.scalars(
                        select(OutboxMessage.id).where(
                            OutboxMessage.chat_id == chat_id,
                            OutboxMessage.status == QueueStatus.PENDING,
                            OutboxMessage.purpose == Purpose.AGENT_REPLY,
                            OutboxMessage.late_notice_sent.is_(False),
                        )
                    )
                )
                if not waiting:
                    return
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(waiting))
                    .values(late_notice_sent=True)
                )
                what = "A reply is" if len(waiting) == 1 else f"{len(waiting)} replies are"
                await self._notice(
                    session,
                    chat_id,
                    f"⏳ {what} not delivered yet: Telegram does not accept messages to the "
                    "customer right now. Kept, in order, and sent as soon as Telegram does.",
                )
        except Exception:
            logger.exception("the agents were not told that chat %s waits", chat_id)
        self.wake()

    async def _tell_agents_failed(self, row: OutboxMessage, error: TelegramError) -> None:
        """A message to the customer will never arrive: the ticket's trail and topic say so."""
        what = "The edit did not reach the customer" if row.method in EDITORS else "Not delivered"
        if isinstance(error, Forbidden):
            why = (
                "the customer has blocked the bot or deleted the chat. They can write again any "
                "time; the ticket stays as it is."
            )
        elif row.method in EDITORS:
            why = escape(str(error))
        else:
            why = "Telegram kept refusing this message; it was given up."
        html = f"⚠️ {what}: {why}"
        try:
            async with transaction(self.sessions) as session:
                if row.ticket_id is not None:
                    ticket = await session.get(Ticket, row.ticket_id)
                    if ticket is not None:
                        record_event(session, ticket, "undeliverable", actor=Actor.BOT)
                await self._notice(session, row.chat_id, html, ticket_id=row.ticket_id)
        except Exception:
            logger.exception("the agents were not told about outbox %s", row.id)
        self.wake()

    async def _notice(
        self, session: AsyncSession, chat_id: int, html: str, *, ticket_id: int | None = None
    ) -> None:
        """Queue a line in the topic of the customer of this chat (if they have one)."""
        customer = await session.scalar(
            select(Customer).where(Customer.chat_id == chat_id).limit(1)
        )
        if customer is None or customer.topic_id is None or customer.topic_chat_id is None:
            return
        await enqueue(
            session,
            customer.topic_chat_id,
            text_params(html, thread_id=customer.topic_id),
            purpose=Purpose.NOTICE,
            ticket_id=ticket_id or customer.latest_ticket_id,
        )
