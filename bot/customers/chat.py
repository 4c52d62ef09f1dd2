"""One customer's chat while an update is handled: who they are, what they said, what we send.

Every message in and out goes through here, so the conversation in the database is complete:
the handoff context and the analytics read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram import Update, User
from telegram._utils.types import ReplyMarkup
from telegram.ext import ExtBot

from bot.agents.desk import Desk
from bot.customers.texts import Texts, texts_for
from bot.delivery import FloodBucket, FloodGuard
from bot.inbox import may_be_replay, replying
from bot.outbox import enqueue, text_params
from core.database import transaction, utcnow
from handoff.conversations import (
    CustomerProfile,
    inbound_of_update,
    recent_turns,
    record_message,
    register_customer,
)
from handoff.desk.tickets import latest_ticket
from handoff.models import ConversationMessage, Customer, Direction, MessageKind, Ticket
from handoff.services import Services
from retrieval.decision import Decision, Turn


@dataclass
class Chat:
    services: Services
    bot: ExtBot[Any]
    update: Update
    customer: Customer
    inbound: ConversationMessage  # what the customer just sent, already stored
    history: list[Turn]  # the conversation before it, as the answer engine reads it
    # The customer's newest ticket as it was when the message came (None: never handed off).
    ticket: Ticket | None = None
    # Within the chat's flood limit; over it, whether to say so now (once per flood).
    admitted: bool = True
    warn_of_flood: bool = False
    # Changes to flush with the next message we record (one transaction instead of several).
    _pending: list[Any] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        return self.customer.chat_id

    @property
    def language(self) -> str:
        return self.customer.language

    @property
    def desk(self) -> Desk:
        return Desk(self.services, self.bot)

    @property
    def with_person(self) -> bool:
        """A person handles the chat: the bot relays instead of answering from the FAQ."""
        return self.ticket is not None and self.ticket.is_active

    @property
    def texts(self) -> Texts:
        return texts_for(self.customer.language)

    def last_question(self) -> str | None:
        """The customer's latest question in this conversation (this message included)."""
        texts = [turn.text for turn in self.history if turn.from_customer]
        if self.inbound.kind == MessageKind.TEXT and self.inbound.text:
            texts.append(self.inbound.text)
        return texts[-1] if texts else None

    async def note_decision(self, decision: Decision) -> None:
        """Remember what the bot decided about the message (stored with the reply)."""
        self.inbound.outcome = decision.decision.value
        self.inbound.reason = decision.reason.value
        self.inbound.faq_key = decision.faq_key
        self._pending.append(self.inbound)

    async def speak(self, language: str, *, chosen: bool = False) -> None:
        """Reply in this language from now on; a language the customer chose sticks."""
        if self.customer.language_chosen and not chosen:
            return
        if self.customer.language == language and not chosen:
            return
        self.customer.language = language
        self.customer.language_chosen = self.customer.language_chosen or chosen
        self._pending.append(self.customer)

    async def say(
        self,
        html: str,
        *,
        reply_markup: ReplyMarkup | None = None,
        decision: Decision | None = None,
    ) -> ConversationMessage:
        """Send one message (Telegram HTML): stored with what the bot decided, and committed to
        the outbox in the same transaction; the outbox sender delivers it."""
        return (await self.say_all([html], reply_markup=reply_markup, decision=decision))[-1]

    async def say_all(
        self,
        parts: list[str],
        *,
        reply_markup: ReplyMarkup | None = None,
        decision: Decision | None = None,
    ) -> list[ConversationMessage]:
        """Several messages in one transaction (a long answer): all of them go out, or none is
        stored and the update is processed again. The buttons go under the last one."""
        stored: list[ConversationMessage] = []
        async with replying(self.services.sessions) as session:
            session.add_all(self._take_pending())
            for number, html in enumerate(parts):
                last = number == len(parts) - 1
                message = record_message(
                    session,
                    self.customer,
                    Direction.OUTBOUND,
                    MessageKind.TEXT,
                    text=html,
                    telegram_update_id=self.update.update_id,
                    decision=decision,
                    details=_decision_details(decision, self.language),
                )
                params = text_params(html, reply_markup=reply_markup if last else None)
                await enqueue(session, self.chat_id, params, message=message)
                stored.append(message)
        self.services.wake_outbox(self.chat_id)
        return stored

    def _take_pending(self) -> list[Any]:
        pending, self._pending = self._pending, []
        return pending


def _decision_details(decision: Decision | None, language: str) -> dict[str, Any] | None:
    """What a later button press needs: the entry answered and the other candidates; for an
    answer, the chat's language and the answer's (the analytics count the ones that differ)."""
    if decision is None or (decision.faq_id is None and not decision.candidates):
        return None
    data = decision.to_dict()
    details = {"faq_id": data["faq_id"], "score": data["score"], "candidates": data["candidates"]}
    if decision.answer_language is not None:
        details |= {"language": language, "answer_language": decision.answer_language}
    return details


@dataclass(frozen=True)
class Inbound:
    """What the customer sent, to be stored before anything else happens: nothing is lost."""

    kind: MessageKind
    text: str | None = None
    file_id: str | None = None
    details: dict[str, Any] | None = None


async def open_chat(
    services: Services,
    bot: ExtBot[Any],
    update: Update,
    user: User,
    inbound: Inbound,
    flood: FloodGuard,
) -> Chat:
    """Register the customer (on first contact), count the message against their flood limit,
    read the conversation so far and store the new message, in one transaction."""
    chat = update.effective_chat
    message = update.effective_message
    profile = CustomerProfile(
        user_id=user.id,
        chat_id=chat.id if chat else user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )
    async with transaction(services.sessions) as session:
        customer = await register_customer(session, profile)
        admitted, warn = count_against_the_limit(customer, flood)
        ticket = await latest_ticket(session, customer)
        replayed = None
        if may_be_replay():
            replayed = await inbound_of_update(session, customer.id, update.update_id)
        if replayed is not None:  # processed before a crash or a fault: stored once
            history = await recent_turns(session, customer.id, before=replayed.id)
            return Chat(services, bot, update, customer, replayed, history, ticket, admitted, warn)
        history = await recent_turns(session, customer.id)
        stored = record_message(
            session,
            customer,
            Direction.INBOUND,
            inbound.kind,
            text=inbound.text,
            telegram_message_id=message.message_id if message else None,
            telegram_update_id=update.update_id,
            file_id=inbound.file_id,
            details=inbound.details or None,
            ticket_id=ticket.id if ticket is not None and ticket.is_active else None,
        )
    return Chat(services, bot, update, customer, stored, history, ticket, admitted, warn)


def count_against_the_limit(customer: Customer, flood: FloodGuard) -> tuple[bool, bool]:
    """(admitted, warn now), the customer's token bucket updated on their row — which one
    worker at a time changes: a chat's updates are processed in order, one after another."""
    bucket = None
    if customer.flood_at is not None and customer.flood_tokens is not None:
        bucket = FloodBucket(customer.flood_tokens, customer.flood_at, customer.flood_warned)
    admitted, warn, after = flood.admit(bucket, utcnow())
    customer.flood_tokens, customer.flood_at = after.tokens, after.at
    customer.flood_warned = after.warned
    return admitted, warn
