"""The customer's button presses: 👍/👎, "did you mean…" picks, "none of these", "talk to a
person", ratings after a close and the language — each stored in the customer's chat before it
is acted on, and each checked against what the pressed message offered (callback data is the
client's to forge)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot import buttons
from bot.context import FirstlineContext
from bot.customers.chat import Chat, Inbound
from bot.customers.handlers import (
    customer_chat,
    hand_off,
    offer_options,
    persistent_keyboard,
    send_answer,
)
from bot.customers.learning import learn_from_pick, withdraw_pick
from bot.customers.texts import LANGUAGE_NAMES
from bot.formatting import escape
from bot.outbox import Purpose, was_sent_for
from core.database import transaction
from handoff.conversations import record_vote, sent_message
from handoff.desk import tickets
from handoff.models import MessageKind, Ticket
from retrieval.decision import Candidate, Decision, Outcome, Reason

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Press:
    """A customer's press on one of our buttons: stored in their chat, not yet answered."""

    query: CallbackQuery
    chat: Chat
    message: Message | None  # the message the button was on

    @property
    def data(self) -> str:
        return self.query.data or ""


PressCallback = Callable[[Update, FirstlineContext], Coroutine[Any, Any, None]]


def on_press(act: Callable[[Press], Awaitable[str | None]]) -> PressCallback:
    """A CallbackQueryHandler's callback: the press stored in the customer's chat (answered at
    once outside a private chat or over the flood limit), ``act`` done, and the press answered
    with the text ``act`` returns (a toast; None for none)."""

    async def handle(update: Update, context: FirstlineContext) -> None:
        query = update.callback_query
        if query is None:
            return
        chat = await customer_chat(
            update, context, Inbound(MessageKind.BUTTON, text=query.data or "")
        )
        if chat is None:
            await query.answer()
            return
        message = query.message if isinstance(query.message, Message) else None
        await query.answer(await act(Press(query, chat, message)))

    handle.__doc__ = act.__doc__
    return handle


@on_press
async def vote_pressed(press: Press) -> str | None:
    """👍 / 👎 under an answer."""
    helpful = buttons.parse_vote(press.data)
    if helpful is None or press.message is None:
        return press.chat.texts.button_expired
    await _vote(press.chat, press.message, helpful=helpful)
    return press.chat.texts.vote_thanks


@on_press
async def pick_pressed(press: Press) -> str | None:
    """An entry from "did you mean…"."""
    faq_id = buttons.parse_pick(press.data)
    if faq_id is None:
        return press.chat.texts.button_expired
    await _pick(press.chat, faq_id, press.message)
    return None


@on_press
async def none_pressed(press: Press) -> str | None:
    """ "None of these": a person takes over."""
    await _clear_buttons(press.message)
    chat = press.chat
    await hand_off(chat, Decision(Outcome.HANDOFF, Reason.REPEATED_FAILURE, chat.language))
    return None


@on_press
async def human_pressed(press: Press) -> str | None:
    """ "Talk to a person"."""
    chat = press.chat
    await hand_off(chat, Decision(Outcome.HANDOFF, Reason.CUSTOMER_REQUEST, chat.language))
    return None


@on_press
async def rate_pressed(press: Press) -> str | None:
    """1–5 stars after a close."""
    rating = buttons.parse_rate(press.data)
    if rating is None or not await _rate(press.chat, *rating, press.message):
        return press.chat.texts.button_expired
    return press.chat.texts.vote_thanks


@on_press
async def language_pressed(press: Press) -> str | None:
    """ru / uk / en from /language."""
    code, chat = buttons.parse_language(press.data), press.chat
    if code not in LANGUAGE_NAMES:
        return chat.texts.button_expired
    await chat.speak(code, chosen=True)
    await _clear_buttons(press.message)
    await chat.say(chat.texts.language_set, reply_markup=persistent_keyboard(chat.texts))
    return None


@on_press
async def unknown_pressed(press: Press) -> str | None:
    """A button of ours no handler knows (an old message, a forged payload)."""
    return press.chat.texts.button_expired


async def _rate(chat: Chat, ticket_id: int, rating: int, pressed: Message | None) -> bool:
    """The customer's 1–5 after a close; a low rating calls the agents' attention. False when
    the press does not stand for a rating we asked for."""
    async with transaction(chat.services.sessions) as session:
        ticket = await session.get(Ticket, ticket_id)
        # Callback data is the client's to forge: the rating counts only on the request we sent
        # for this customer's closed ticket, and only once.
        if (
            ticket is None
            or ticket.customer_id != chat.customer.id
            or ticket.is_active
            or ticket.rating is not None
            or pressed is None
            or not await was_sent_for(
                session, Purpose.RATING, ticket.id, chat.chat_id, pressed.message_id
            )
        ):
            logger.warning("a rating press refused in chat %s (ticket %s)", chat.chat_id, ticket_id)
            return False
        tickets.rate(session, ticket, rating)
        owner = await tickets.owner_of(session, ticket)
    await _clear_buttons(pressed)
    await chat.say(chat.texts.rating_thanks)
    notice = f"{'⭐' * rating} The customer rated ticket #{ticket.id}: {rating}/5."
    if rating <= tickets.LOW_RATING:
        who = escape(owner.mention) if owner else "team"
        notice = f"⚠️ Low rating, please look, {who}: {notice}"
    await chat.desk.notice(chat.customer, notice)
    return True


async def _vote(chat: Chat, pressed: Message, *, helpful: bool) -> None:
    async with transaction(chat.services.sessions) as session:
        answer = await sent_message(session, chat.customer.id, pressed.message_id)
        if answer is None or answer.faq_key is None:
            return
        details = answer.details or {}
        await record_vote(session, answer, helpful=helpful, faq_entry_id=details.get("faq_id"))
    await _keep_only_talk_button(chat, pressed)
    if helpful:
        return
    if answer.reason == Reason.CUSTOMER_CHOICE:
        await withdraw_pick(chat, details.get("faq_id"))
    others = [
        Candidate(**candidate)
        for candidate in details.get("candidates", [])
        if candidate["faq_key"] != answer.faq_key
    ]
    if others:
        decision = Decision(Outcome.CLARIFY, Reason.UNSURE, chat.language, candidates=others)
        await offer_options(chat, decision, chat.texts.other_options)
    else:
        await hand_off(chat, Decision(Outcome.HANDOFF, Reason.REPEATED_FAILURE, chat.language))


async def _pick(chat: Chat, faq_id: int, pressed: Message | None) -> None:
    """An entry from "did you mean…": only one the pressed message offered counts."""
    entry = chat.services.answers.entry(faq_id)
    offered = await _offered_candidates(chat, pressed)
    picked = next((c for c in offered if c.faq_id == faq_id), None)
    await _clear_buttons(pressed)
    if entry is None or picked is None:
        await chat.say(chat.texts.button_expired)
        return
    others = [candidate for candidate in offered if candidate is not picked]
    decision = Decision(
        Outcome.ANSWER,
        Reason.CUSTOMER_CHOICE,
        chat.language,
        faq_id=entry.id,
        faq_key=entry.key,
        answer=entry.answer,
        candidates=[picked, *others],
    )
    await send_answer(chat, decision)
    if pressed is not None:
        await learn_from_pick(chat, entry.id, pressed)


async def _offered_candidates(chat: Chat, pressed: Message | None) -> list[Candidate]:
    """The entries the bot offered in the message whose button was pressed."""
    if pressed is None:
        return []
    async with chat.services.sessions() as session:
        offer = await sent_message(session, chat.customer.id, pressed.message_id)
    details = (offer.details if offer else None) or {}
    return [Candidate(**candidate) for candidate in details.get("candidates", [])]


async def _clear_buttons(message: Message | None) -> None:
    if message is None:
        return
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramError as error:  # already gone or too old to edit: the press still counts
        logger.info("could not remove buttons from message %s: %s", message.message_id, error)


async def _keep_only_talk_button(chat: Chat, message: Message) -> None:
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(chat.texts.talk_button, callback_data=buttons.HUMAN)]]
    )
    try:
        await message.edit_reply_markup(reply_markup=keyboard)
    except TelegramError as error:
        logger.info("could not update buttons of message %s: %s", message.message_id, error)
