"""One customer's chat while an update is handled: who they are, what they said, what we send.

Every message in and out goes through here, so the conversation in the database is complete:
the handoff context and the analytics read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Update, User
from telegram import Message as TelegramMessage
from telegram._utils.types import ReplyMarkup
from telegram.constants import ParseMode

from bot.texts import Texts, texts_for
from core.database import transaction
from core.wiring import Services
from handoff.conversations import CustomerProfile, recent_turns, record_message, register_customer
from handoff.models import ConversationMessage, Customer, Direction, MessageKind
from retrieval.decision import Decision, Turn


@dataclass
class Chat:
    services: Services
    bot: Bot
    update: Update
    customer: Customer
    # Changes to flush with the next message we record (one transaction instead of several).
    _pending: list[Any] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        return self.customer.chat_id

    @property
    def language(self) -> str:
        return self.customer.language

    @property
    def texts(self) -> Texts:
        return texts_for(self.customer.language)

    async def history(self) -> list[Turn]:
        """The conversation so far, as the answer engine reads it."""
        async with self.services.sessions() as session:
            return await recent_turns(session, self.customer.id)

    async def last_question(self) -> str | None:
        """The customer's latest question in this conversation."""
        turns = await self.history()
        return next((turn.text for turn in reversed(turns) if turn.from_customer), None)

    async def record_inbound(
        self,
        kind: MessageKind,
        *,
        text: str | None = None,
        file_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> ConversationMessage:
        """Store what the customer sent before anything else happens: nothing is ever lost."""
        message = self.update.effective_message
        async with transaction(self.services.sessions) as session:
            session.add_all(self._take_pending())
            return record_message(
                session,
                self.customer,
                Direction.INBOUND,
                kind,
                text=text,
                telegram_message_id=message.message_id if message else None,
                telegram_update_id=self.update.update_id,
                file_id=file_id,
                details=details or None,
            )

    async def note_decision(self, inbound: ConversationMessage, decision: Decision) -> None:
        """Remember what the bot decided about a message (stored with the reply)."""
        inbound.outcome = decision.decision.value
        inbound.reason = decision.reason.value
        inbound.faq_key = decision.faq_key
        self._pending.append(inbound)

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
    ) -> TelegramMessage:
        """Send one message (Telegram HTML) and store it with what the bot decided."""
        sent = await self.bot.send_message(
            self.chat_id, html, parse_mode=ParseMode.HTML, reply_markup=reply_markup
        )
        async with transaction(self.services.sessions) as session:
            session.add_all(self._take_pending())
            record_message(
                session,
                self.customer,
                Direction.OUTBOUND,
                MessageKind.TEXT,
                text=html,
                telegram_message_id=sent.message_id,
                decision=decision,
                details=_decision_details(decision),
            )
        return sent

    def _take_pending(self) -> list[Any]:
        pending, self._pending = self._pending, []
        return pending


def _decision_details(decision: Decision | None) -> dict[str, Any] | None:
    """What a later button press needs: the entry answered and the other candidates."""
    if decision is None or (decision.faq_id is None and not decision.candidates):
        return None
    data = decision.to_dict()
    return {"faq_id": data["faq_id"], "score": data["score"], "candidates": data["candidates"]}


async def open_chat(services: Services, bot: Bot, update: Update, user: User) -> Chat:
    """The customer behind a private-chat update, registered on first contact."""
    chat = update.effective_chat
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
    return Chat(services, bot, update, customer)
