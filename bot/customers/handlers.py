"""The customer's side of the bot: what happens to each message and command (button presses:
``bot.customers.presses``)."""

from __future__ import annotations

import logging
import re

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType

from bot import buttons
from bot.context import FirstlineContext
from bot.customers.chat import Chat, Inbound, open_chat
from bot.customers.learning import withdraw_last_answer
from bot.customers.texts import HUMAN_BUTTONS, LANGUAGE_NAMES, Texts, texts_for
from bot.customers.topics import example_questions, quoted
from bot.formatting import TELEGRAM_MESSAGE_LIMIT, escape, render_messages, telegram_length
from bot.inbox import describe_error, is_transient
from bot.line import answer_wait_question, line_is_closed, status_at_handoff
from bot.outbox import enqueue, text_params
from core.database import transaction
from handoff.desk import tickets
from handoff.models import MessageKind, Ticket, TicketStatus
from handoff.services import Services
from retrieval.decision import Candidate, Decision, Outcome, Reason
from retrieval.intents import asks_about_wait
from retrieval.localize import in_language

logger = logging.getLogger(__name__)

BUTTON_LABEL_CHARS = 60
# A reply switches to the language of the message only when there are words enough to tell it.
LETTERS_TO_SWITCH_LANGUAGE = 12
_LETTER = re.compile(r"[^\W\d_]")
CONVERSATIONAL_REPLIES = {
    Reason.GREETING: "greeting_reply",
    Reason.THANKS: "thanks_reply",
    Reason.SMALLTALK: "smalltalk_reply",
    Reason.EMPTY: "not_text",
    Reason.NOT_TEXT: "not_text",
}
HANDOFF_REPLIES = {
    Reason.CUSTOMER_REQUEST: "handoff_requested",
    Reason.REPEATED_FAILURE: "handoff_not_helped",
}


async def customer_chat(update: Update, context: FirstlineContext, inbound: Inbound) -> Chat | None:
    """The customer's chat for a private update, with what they sent stored; None for others,
    and None for a message over the flood limit (stored all the same, answered once)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE:
        return None
    opened = await open_chat(
        context.services, context.bot, update, user, inbound, context.state.flood
    )
    if not await _admitted(opened):
        return None
    return opened


# --- commands ---------------------------------------------------------------------------------


async def start(update: Update, context: FirstlineContext) -> None:
    """Greet the customer in their language and say what the bot can do."""
    chat = await customer_chat(update, context, Inbound(MessageKind.COMMAND, text="/start"))
    if chat is None:
        return
    greeting = chat.texts.greeting.format(name=escape(chat.customer.first_name or ""))
    await chat.say(greeting, reply_markup=persistent_keyboard(chat.texts))


async def help_command(update: Update, context: FirstlineContext) -> None:
    """Explain how the bot helps."""
    chat = await customer_chat(update, context, Inbound(MessageKind.COMMAND, text="/help"))
    if chat is None:
        return
    await chat.say(chat.texts.help, reply_markup=persistent_keyboard(chat.texts))


async def human_command(update: Update, context: FirstlineContext) -> None:
    """Hand the chat to a person at once."""
    chat = await customer_chat(update, context, Inbound(MessageKind.COMMAND, text="/human"))
    if chat is None:
        return
    await hand_off(chat, Decision(Outcome.HANDOFF, Reason.CUSTOMER_REQUEST, chat.language))


async def language_command(update: Update, context: FirstlineContext) -> None:
    """Offer ru / uk / en."""
    chat = await customer_chat(update, context, Inbound(MessageKind.COMMAND, text="/language"))
    if chat is None:
        return
    choices = [
        InlineKeyboardButton(name, callback_data=buttons.language(code))
        for code, name in LANGUAGE_NAMES.items()
    ]
    await chat.say(chat.texts.choose_language, reply_markup=InlineKeyboardMarkup([choices]))


# --- text -------------------------------------------------------------------------------------


async def text_message(update: Update, context: FirstlineContext) -> None:
    """A customer's question: answer it, ask which entry they mean, or pass it to a person."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    text = message.text
    chat = await customer_chat(update, context, Inbound(MessageKind.TEXT, text=text))
    if chat is None or await handled_by_people(chat):
        return
    if text.strip() in HUMAN_BUTTONS:
        decision = Decision(Outcome.HANDOFF, Reason.CUSTOMER_REQUEST, chat.language)
    else:
        decision = await chat.services.decisions.decide(text, chat.language, chat.history)
    if decision.language and len(_LETTER.findall(text)) >= LETTERS_TO_SWITCH_LANGUAGE:
        await chat.speak(decision.language)
    await chat.note_decision(decision)
    if decision.reason is Reason.REPEATED_FAILURE:
        await withdraw_last_answer(chat, chat.history)
    await act(chat, decision)


async def handled_by_people(chat: Chat) -> bool:
    """While a person handles the chat the message goes to their topic, not to the FAQ; right
    after a rating, the customer's words are the rating's comment."""
    desk = chat.desk
    ticket = chat.ticket
    if chat.with_person and ticket is not None:
        if ticket.status == TicketStatus.WAITING:  # the customer answered: the agent's turn
            async with transaction(chat.services.sessions) as session:
                stored = await session.get(Ticket, ticket.id)
                assert stored is not None
                tickets.note_customer_message(stored)
            await desk.refresh(ticket.id)
        await desk.relay(chat.customer, chat.inbound)
        text = chat.inbound.text if chat.inbound.kind == MessageKind.TEXT else None
        if text is not None and asks_about_wait(text):
            await answer_wait_question(chat, ticket)
            return True
        # Nobody has it yet and the line is closed: the bot answers from the FAQ meanwhile.
        return not (
            text is not None
            and ticket.assignee_id is None
            and await line_is_closed(chat.services, ticket)
        )
    if ticket is None or chat.inbound.kind != MessageKind.TEXT:
        return False
    if not tickets.awaits_rating_comment(ticket):
        return False
    async with transaction(chat.services.sessions) as session:
        stored = await session.get(Ticket, ticket.id)
        assert stored is not None
        tickets.comment_on_rating(session, stored, chat.inbound.text or "")
    await desk.notice(
        chat.customer,
        f"💬 Comment on the rating of #{ticket.id}: {escape(chat.inbound.text or '')}",
    )
    await chat.say(chat.texts.comment_thanks)
    return True


async def _admitted(chat: Chat) -> bool:
    """Within the chat's flood limit. Over it, the message stays stored (the conversation and
    the API have it) but is neither answered nor copied to the agents one by one: the customer
    and, while a person handles the chat, the topic hear once that the flood is held back."""
    if chat.admitted:
        return True
    if chat.warn_of_flood:
        await chat.say(chat.texts.rate_limited)
        if chat.with_person:
            await chat.desk.notice(
                chat.customer,
                "🌊 The customer is sending many messages at once: the rest are kept in the "
                "ticket's conversation (admin API); new ones show here again once they slow "
                "down.",
            )
    return False


async def act(chat: Chat, decision: Decision) -> None:
    """Carry out the engine's decision in the chat."""
    if decision.decision is Outcome.ANSWER and decision.answer is not None:
        await send_answer(chat, decision)
    elif decision.reason is Reason.OFF_TOPIC:
        await say_off_topic(chat, decision)
    elif decision.decision is Outcome.CLARIFY and decision.candidates:
        await offer_options(chat, decision, chat.texts.did_you_mean)
    elif decision.decision is Outcome.CLARIFY:
        reply = CONVERSATIONAL_REPLIES.get(decision.reason, "smalltalk_reply")
        await chat.say(getattr(chat.texts, reply), decision=decision)
    else:
        await hand_off(chat, decision)


async def send_answer(chat: Chat, decision: Decision) -> None:
    """The FAQ answer in the chat's language, split to fit, then the vote buttons and "anything
    else?". Without a translation into it: the entry's main language, and one line saying so."""
    decision = in_language(decision, chat.services.answers.entry, chat.language)
    closing = f"\n\n<i>{escape(chat.texts.anything_else)}</i>"
    opening = _not_translated_note(chat.texts, decision, chat.language)
    limit = TELEGRAM_MESSAGE_LIMIT - telegram_length(closing) - telegram_length(opening)
    parts = render_messages(decision.answer or "", limit)
    parts[0] = opening + parts[0]
    parts[-1] += closing
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(chat.texts.helped_button, callback_data=buttons.vote(True)),
                InlineKeyboardButton(chat.texts.not_that_button, callback_data=buttons.vote(False)),
            ],
            [InlineKeyboardButton(chat.texts.talk_button, callback_data=buttons.HUMAN)],
        ]
    )
    await chat.say_all(parts, reply_markup=keyboard, decision=decision)


def _not_translated_note(texts: Texts, decision: Decision, language: str) -> str:
    """The line before an answer sent in another language than the chat's ("" when it is not)."""
    sent_in = decision.answer_language
    if sent_in is None or sent_in == language or sent_in not in texts.in_language:
        return ""
    note = texts.not_translated.format(language=texts.in_language[sent_in])
    return f"<i>{escape(note)}</i>\n\n"


async def say_off_topic(chat: Chat, decision: Decision) -> None:
    """A question far from every entry: what the bot does help with, and the way to a person."""
    examples = example_questions(chat.services.answers.entries.values(), chat.language)
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(chat.texts.talk_button, callback_data=buttons.HUMAN)]]
    )
    reply = chat.texts.off_topic.format(topics=quoted(examples))
    await chat.say(reply, reply_markup=keyboard, decision=decision)


async def offer_options(chat: Chat, decision: Decision, prompt: str) -> None:
    """ "Did you mean…": the likely entries as buttons (in the chat's language where they have
    it), and "None of these"."""
    decision = in_language(decision, chat.services.answers.entry, chat.language)
    rows = [
        [InlineKeyboardButton(_label(candidate), callback_data=buttons.pick(candidate.faq_id))]
        for candidate in decision.candidates
    ]
    rows.append([InlineKeyboardButton(chat.texts.none_of_these, callback_data=buttons.NONE)])
    await chat.say(prompt, reply_markup=InlineKeyboardMarkup(rows), decision=decision)


def _label(candidate: Candidate) -> str:
    question = " ".join(candidate.question.split())
    if len(question) <= BUTTON_LABEL_CHARS:
        return question
    return question[: BUTTON_LABEL_CHARS - 1].rstrip() + "…"


async def hand_off(chat: Chat, decision: Decision) -> None:
    """Open (or reuse) the customer's ticket and say honestly what happens next."""
    subject = chat.last_question() or chat.inbound.text or ""
    reopening = chat.ticket is not None and not chat.ticket.is_active
    async with transaction(chat.services.sessions) as session:
        ticket, created = await tickets.escalate(
            session,
            chat.customer,
            subject=subject,
            decision=decision,
            opening_message_id=chat.inbound.id,
            texts=[turn.text for turn in chat.history if turn.from_customer],
            considered_tags=_considered_tags(chat, decision),
        )
        reopened = created and reopening and ticket.id == chat.ticket.id  # type: ignore[union-attr]
    if not created:
        reply = chat.texts.handoff_already
    elif reopened:
        reply = chat.texts.ticket_reopened
    else:
        reply = getattr(chat.texts, HANDOFF_REPLIES.get(decision.reason, "handoff_unsure"))
    status = await status_at_handoff(chat, ticket)
    await chat.say(f"{reply}\n\n{status}" if status else reply, decision=decision)
    if created:
        await chat.desk.show_ticket(ticket.id)


def _considered_tags(chat: Chat, decision: Decision) -> list[str]:
    """The tags of the FAQ entries the bot weighed: routing rules may match on them."""
    tags: list[str] = []
    for candidate in decision.candidates:
        entry = chat.services.answers.entry(candidate.faq_id)
        tags += [tag for tag in (entry.tags if entry else ()) if tag not in tags]
    return tags


def persistent_keyboard(texts: Texts) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[texts.human_button]], resize_keyboard=True, is_persistent=True)


# --- groups and errors ------------------------------------------------------------------------


async def added_to_group(update: Update, context: FirstlineContext) -> None:
    """Added to a group: say once that the bot works in private chats, then stay silent."""
    change = update.my_chat_member
    if change is None or change.chat.type == ChatType.PRIVATE:
        return
    if change.chat.id == context.services.settings.agent_chat_id:
        return
    joined = change.new_chat_member.status in (
        ChatMemberStatus.MEMBER,
        ChatMemberStatus.ADMINISTRATOR,
    )
    was_out = change.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
    if joined and was_out:
        logger.info(
            "added to the group %r, id %s (to make it the agents' desk, set "
            "FIRSTLINE_AGENT_CHAT_ID=%s)",
            change.chat.title,
            change.chat.id,
            change.chat.id,
        )
        language = change.from_user.language_code if change.from_user else None
        await context.bot.send_message(change.chat.id, texts_for(language).private_only)


async def on_error(update: object, context: FirstlineContext) -> None:
    """Log the failure by ids, never the customer's words; the inbox processes the update again
    and apologises to the customer only if it gives up (bot.inbox)."""
    error = context.error
    if isinstance(update, Update) and error is not None:
        chat = update.effective_chat
        logger.warning(
            "a handler failed on update %s (chat %s): %s",
            update.update_id,
            chat.id if chat else None,
            describe_error(error),
            # A passing fault (Telegram or the database away) needs no stack to be understood.
            exc_info=None if is_transient(error) else error,
        )
    else:
        logger.error("a handler failed on %s", type(update).__name__, exc_info=context.error)


async def apologise(services: Services, update: Update) -> None:
    """The update could not be processed at all: the customer gets an apology, never silence."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    texts = texts_for(user.language_code if user else None)
    async with transaction(services.sessions) as session:
        await enqueue(session, chat.id, text_params(texts.apology))
    services.wake_outbox(chat.id)
