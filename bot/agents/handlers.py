"""The agents' side of the bot: what agents do in their forum group, one topic per customer.

In a ticket's topic the owner's messages reach the customer (text, photos, files, voice); a
message starting with ``//``, or a reply to the card containing ``#note``, is an internal note and
stays in the group. Commands: ``/reply <template>``, ``/faq <key>``, ``/assign @colleague``,
``/close``. Card buttons: Take, Priority, Close. Whoever writes first in an unowned ticket takes it.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import select
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot import buttons
from bot.agents.at_ticket import AtTicket, at_ticket, desk_of
from bot.agents.desk import priority_buttons
from bot.agents.escalation import (
    escalate_by_button,
    escalate_command,
    escalation_buttons,
    hand_back_command,
)
from bot.agents.ticket_acts import (
    check_action,
    close_ticket,
    record_reply,
    send_text,
    take,
)
from bot.context import FirstlineContext
from bot.customers.media import media_of
from bot.formatting import escape, render_messages
from bot.outbox import Purpose, copy_params, edit_params, enqueue
from core.database import transaction
from handoff.desk import card, tickets
from handoff.desk.actions import ActionKind, Refusal
from handoff.desk.canned import canned_names, canned_reply, fill
from handoff.desk.teams import group_of
from handoff.models import (
    ConversationMessage,
    Customer,
    CustomerTopic,
    Direction,
    MessageKind,
    Priority,
    Ticket,
)
from knowledge_base.repository import get_entry, propose_phrasing

logger = logging.getLogger(__name__)

NOTE_PREFIX = "//"
NOTE_TAG = "#note"
_COMMAND = re.compile(r"^/(?P<name>\w+)(?:@\w+)?(?:\s+(?P<argument>.*))?$", re.DOTALL)


# --- messages in the agents' group -----------------------------------------------------------


async def agent_message(update: Update, context: FirstlineContext) -> None:
    """An agent wrote in the group: a command, a note, or a reply for the customer."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or user.is_bot:
        return
    desk = desk_of(context)
    if message.chat.id not in await desk.groups():
        return  # a group that is not an agents' group: the bot says nothing there
    text = message.text or message.caption or ""
    command = _COMMAND.match(text) if message.text else None
    topic_id = message.message_thread_id if message.is_topic_message else None
    at = await at_ticket(desk, user, message.chat.id, topic_id, message)
    if at is None:
        if command:
            await message.reply_text(card.NOT_A_TICKET_TOPIC)
        return
    if at.elsewhere is not None and not _is_note(message, at.ticket, text):
        await at.say(moved_on(at))
        return
    if command:
        await _run_command(
            at, command.group("name").lower(), (command.group("argument") or "").strip()
        )
    elif _is_note(message, at.ticket, text):
        async with transaction(at.sessions) as session:
            ticket = await session.get(Ticket, at.ticket.id)
            assert ticket is not None
            tickets.add_note(session, ticket, at.agent, text)
    elif await _owned_for_reply(at):
        await _deliver(at, message)


def moved_on(at: AtTicket) -> str:
    team = escape(at.elsewhere.name) if at.elsewhere else "another team"
    here = at.topic.chat_id if at.topic else None
    if at.elsewhere and group_of(at.elsewhere, at.desk.services.settings) == here:
        return (
            f"Ticket #{at.ticket.id} is with <b>{team}</b>: their agents answer it in this topic, "
            f"and this was not sent. To help with it, write in {team}'s own topic to join them "
            "(// notes are still kept)."
        )
    return (
        f"Ticket #{at.ticket.id} is now with <b>{team}</b>: this topic is kept for reading, and "
        "nothing written here reaches the customer (// notes are still kept)."
    )


def _is_note(message: Message, ticket: Ticket, text: str) -> bool:
    if text.lstrip().startswith(NOTE_PREFIX):
        return True
    replied = message.reply_to_message
    return (
        replied is not None
        and replied.message_id == ticket.card_message_id
        and NOTE_TAG in text.casefold()
    )


async def _owned_for_reply(at: AtTicket) -> bool:
    """Whether this agent may write to the customer now, by the desk's rules (an unowned ticket
    is taken first)."""
    refusal = await check_action(at, ActionKind.REPLY)
    if refusal is None:
        return True
    if refusal.refusal == Refusal.CLOSED:
        await at.say(
            f"Ticket #{at.ticket.id} is closed: this was not sent. Within 24 hours, a message "
            "from the customer that the bot cannot answer reopens it."
        )
    else:
        owner = escape(refusal.owner) if refusal.owner else "nobody's"
        await at.say(
            f"Not sent: ticket #{at.ticket.id} is {owner}. Only the owner writes to the "
            "customer; start with // for a note."
        )
    return False


async def _deliver(at: AtTicket, message: Message) -> None:
    """Copy the owner's message to the customer's chat (through the outbox) and store it."""
    kind, file_id = media_of(message)
    if message.text:
        kind = MessageKind.TEXT
    await record_reply(
        at,
        kind,
        copy_params(message.chat_id, message.message_id),
        method="copy_message",
        text=message.text or message.caption,
        topic_message_id=message.message_id,
        file_id=file_id,
    )


async def agent_edit(update: Update, context: FirstlineContext) -> None:
    """The owner edited a reply: the customer's copy is edited too, through the outbox (after
    the reply itself, however long Telegram takes)."""
    message, user = update.edited_message, update.effective_user
    if message is None or user is None or user.is_bot or not message.is_topic_message:
        return
    desk = desk_of(context)
    async with transaction(desk.services.sessions) as session:
        # Message ids count per chat: the reply is the one written in this group's topic.
        sent = await session.scalar(
            select(ConversationMessage)
            .join(CustomerTopic, CustomerTopic.customer_id == ConversationMessage.customer_id)
            .where(
                CustomerTopic.chat_id == message.chat.id,
                CustomerTopic.topic_id == message.message_thread_id,
                ConversationMessage.topic_message_id == message.message_id,
                ConversationMessage.direction == Direction.OUTBOUND,
            )
        )
        customer = await session.get(Customer, sent.customer_id) if sent else None
        if sent is None or customer is None:
            return  # a note or a refused message: nothing went to the customer
        sent.text = message.text or message.caption
        html = message.text_html if message.text is not None else message.caption_html
        method, params = edit_params(html, caption=message.text is None)
        await enqueue(
            session,
            customer.chat_id,
            params,
            method=method,
            purpose=Purpose.AGENT_EDIT,
            message=sent,
            ticket_id=sent.ticket_id,
        )
    desk.services.wake_outbox()


# --- commands ----------------------------------------------------------------------------------


async def _run_command(at: AtTicket, name: str, argument: str) -> None:
    if name == "reply":
        await _canned(at, argument)
    elif name == "faq":
        await _faq(at, argument)
    elif name == "assign":
        await _assign(at, argument)
    elif name == "close":
        await close_ticket(at)
    elif name == "escalate":
        await escalate_command(at, argument)
    elif name == "handback":
        await hand_back_command(at, argument)
    else:
        await at.say(escape(card.UNKNOWN_COMMAND))


async def _canned(at: AtTicket, name: str) -> None:
    team = at.ticket.team_id
    async with at.sessions() as session:
        template = await canned_reply(session, name, team_id=team) if name else None
        names = await canned_names(session, team_id=team)
    if template is None:
        listed = ", ".join(names) if names else "none yet (leads add them in the admin API)"
        await at.say(escape(card.USAGE["reply"].format(names=listed)))
        return
    if not await _owned_for_reply(at):
        return
    text = fill(template.text, name=at.customer.first_name or "")
    await send_text(
        at, escape(text), text, echo=f"📤 Template <b>{escape(template.name)}</b> sent."
    )


async def _faq(at: AtTicket, key: str) -> None:
    async with at.sessions() as session:
        entry = await get_entry(session, key=key) if key else None
    if entry is None or not entry.is_live:
        hint = card.USAGE["faq"] + (f" No published entry '{key}'." if key else "")
        await at.say(escape(hint))
        return
    if not await _owned_for_reply(at):
        return
    answer = entry.answer_in(at.customer.language)  # the customer's, where it is translated
    for part in render_messages(answer):
        await send_text(at, part, answer, faq_key=entry.key)
    async with transaction(at.sessions) as session:
        ticket = await session.get(Ticket, at.ticket.id)
        stored_entry = await get_entry(session, key=entry.key)
        assert ticket is not None and stored_entry is not None
        ticket.faq_key = entry.key
        tickets.record_event(
            session, ticket, "faq_sent", actor=tickets.Actor.AGENT, agent=at.agent, key=entry.key
        )
        proposal = await propose_phrasing(
            session, stored_entry, ticket.subject, source=f"ticket:{ticket.id}"
        )
    echo = f"📤 FAQ <code>{escape(entry.key)}</code> sent."
    if proposal is not None:
        echo += " The customer's question is proposed to editors as a new phrasing of it."
    await at.say(echo)


async def _assign(at: AtTicket, who: str) -> None:
    if not who:
        await at.say(escape(card.USAGE["assign"]))
        return
    if at.ticket.assignee_id not in (None, at.agent.id) or not at.ticket.is_active:
        await at.say("Only the ticket's owner hands it over, and only while it is open.")
        return
    async with transaction(at.sessions) as session:
        colleague = await tickets.find_agent(session, who)
        ticket = await session.get(Ticket, at.ticket.id)
        assert ticket is not None
        if colleague is not None:
            tickets.hand_over(session, ticket, at.agent, colleague)
    if colleague is None:
        await at.say(
            f"I don't know {escape(who)} yet: a colleague becomes known once they write in this "
            "group."
        )
        return
    await at.desk.refresh(at.ticket.id)
    await at.say(
        f"➡️ {escape(at.agent.mention)} handed ticket #{at.ticket.id} to {escape(colleague.mention)}."
    )


# --- card buttons ------------------------------------------------------------------------------


async def agent_button(update: Update, context: FirstlineContext) -> None:
    """Take / Priority / Close on a ticket's card."""
    query = update.callback_query
    if query is None or query.from_user is None:
        return
    press = buttons.parse_desk(query.data or "")
    desk = desk_of(context)
    pressed = query.message if isinstance(query.message, Message) else None
    # Telegram does not check callback data: a press counts only on a card in an agents' group
    # (whoever sees that group is an agent), and is checked against the topic's ticket.
    if pressed is None or pressed.chat.id not in await desk.groups():
        logger.warning(
            "a desk button pressed outside the agents' groups by user %s", query.from_user.id
        )
        await query.answer("This button works only in the agents' group.", show_alert=True)
        return
    at = await at_ticket(desk, query.from_user, pressed.chat.id, pressed.message_thread_id)
    if at is None or press is None or at.ticket.id != press.ticket_id:
        await query.answer("This card belongs to an older ticket.", show_alert=True)
        return
    if at.elsewhere is not None:
        await query.answer(f"Ticket #{at.ticket.id} is now with {at.elsewhere.name}.")
        return
    action, argument = press.action, press.argument
    if action == "take":
        claim = await take(at)
        owner = claim.owner.mention if claim.owner else "nobody"
        text = f"Ticket #{at.ticket.id} is yours." if claim.won else f"Ticket is {owner}'s."
        await query.answer(text, show_alert=not claim.won)
    elif action == "prio":
        await _edit_markup(pressed, priority_buttons(at.ticket))
        await query.answer()
    elif action == "setprio" and argument in set(Priority):
        async with transaction(at.sessions) as session:
            ticket = await session.get(Ticket, at.ticket.id)
            assert ticket is not None
            tickets.set_priority(session, ticket, Priority(argument), at.agent)
        await desk.refresh(at.ticket.id)
        await query.answer(f"Priority: {argument}")
    elif action == "card":
        await _edit_markup(pressed, await desk.card_buttons(at.ticket))
        await query.answer()
    elif action == "close":
        await close_ticket(at)
        await query.answer()
    elif action == "esc":
        await _edit_markup(pressed, await escalation_buttons(at))
        await query.answer()
    elif action == "escto" and argument is not None and argument.isdigit():
        await query.answer(await escalate_by_button(at, int(argument)))
    else:
        await query.answer("This button no longer works.")


async def _edit_markup(message: Message, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await message.edit_reply_markup(reply_markup=markup)
    except BadRequest as error:
        logger.info("card buttons not changed: %s", error)
