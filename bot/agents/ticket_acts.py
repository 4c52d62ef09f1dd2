"""What an agent's action does to a ticket, however it came — a message or a command in the
topic, a press on the card, a call to the admin API: the desk's rules applied, the reply stored
and committed to the outbox, the customer told, the card refreshed."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import buttons
from bot.agents.at_ticket import AtTicket
from bot.customers.texts import texts_for
from bot.formatting import escape
from bot.outbox import Purpose, enqueue, text_params
from core.database import transaction
from handoff.conversations import record_message
from handoff.desk import card, tickets
from handoff.desk.actions import ActionKind, ActionRefused, AgentAction, Refusal, check
from handoff.models import Direction, MessageKind, Ticket

RATING_BUTTONS = range(1, 6)


async def check_action(at: AtTicket, kind: ActionKind) -> ActionRefused | None:
    """The desk's rules (``handoff.desk.actions.check``) applied to this agent's action here;
    None when allowed, and a take the action implies is announced."""
    try:
        async with transaction(at.sessions) as session:
            checked = await check(session, AgentAction(at.ticket.id, at.agent.id, kind))
    except ActionRefused as refusal:
        return refusal
    at.ticket = checked.ticket
    if checked.took:
        await announce_take(at)
    return None


async def record_reply(
    at: AtTicket,
    kind: MessageKind,
    params: dict[str, Any],
    *,
    method: str = "send_message",
    text: str | None,
    topic_message_id: int | None,
    file_id: str | None = None,
    faq_key: str | None = None,
) -> None:
    """Store the agent's reply and commit it to the outbox in one transaction: the first
    response counts from here, and the reply reaches the customer however long Telegram takes."""
    async with transaction(at.sessions) as session:
        ticket = await session.get(Ticket, at.ticket.id)
        if ticket is None:
            return
        stored = record_message(
            session,
            at.customer,
            Direction.OUTBOUND,
            kind,
            text=text,
            file_id=file_id,
            faq_key=faq_key,
            ticket_id=ticket.id,
            agent_id=at.agent.id,
            topic_message_id=topic_message_id,
        )
        await enqueue(
            session,
            at.customer.chat_id,
            params,
            method=method,
            purpose=Purpose.AGENT_REPLY,
            message=stored,
            ticket_id=ticket.id,
        )
        tickets.note_agent_reply(session, ticket, at.agent, kind.value)
    at.desk.services.wake_outbox()
    await at.desk.refresh(at.ticket.id)


async def send_text(
    at: AtTicket, html: str, plain: str, *, faq_key: str | None = None, echo: str | None = None
) -> None:
    """Send the owner's text to the customer (through the outbox) and store it."""
    await record_reply(
        at,
        MessageKind.TEXT,
        text_params(html),
        text=html,
        topic_message_id=None,
        faq_key=faq_key,
    )
    if echo:
        await at.say(f"{echo}\n{escape(plain)}")


async def tell_customer(
    at: AtTicket,
    html: str,
    markup: InlineKeyboardMarkup | None = None,
    purpose: Purpose = Purpose.REPLY,
) -> None:
    """A line from the bot to the customer about their ticket, through the outbox."""
    async with transaction(at.sessions) as session:
        await enqueue(
            session,
            at.customer.chat_id,
            text_params(html, reply_markup=markup),
            purpose=purpose,
            ticket_id=at.ticket.id,
        )
    at.desk.services.wake_outbox()


async def take(at: AtTicket) -> tickets.Claim:
    async with transaction(at.sessions) as session:
        ticket = await session.get(Ticket, at.ticket.id)
        assert ticket is not None
        already_owned = ticket.assignee_id == at.agent.id
        claim = await tickets.take(session, ticket, at.agent)
        at.ticket = ticket
    if claim.won and not already_owned:
        await announce_take(at)
    return claim


async def announce_take(at: AtTicket) -> None:
    await at.desk.refresh(at.ticket.id)
    await at.say(card.taken_by(at.agent, at.ticket))
    texts = texts_for(at.ticket.language)
    first_name = escape(at.agent.name.split()[0] if at.agent.name.split() else at.agent.name)
    await tell_customer(at, texts.agent_joined.format(agent=first_name))


async def close_ticket(at: AtTicket) -> bool:
    """Close the ticket (owner, or anyone while unowned) and ask the customer for a rating."""
    refusal = await check_action(at, ActionKind.CLOSE)
    if refusal is not None:
        if refusal.refusal == Refusal.CLOSED:
            await at.say(f"Ticket #{at.ticket.id} is already closed.")
        else:
            await at.say(card.owned_by(refusal.owner) + " Only the owner closes it.")
        return False
    async with transaction(at.sessions) as session:
        ticket = await session.get(Ticket, at.ticket.id)
        assert ticket is not None
        closed = await tickets.close(session, ticket, at.agent)
    if not closed:  # closed meanwhile (from the API, or a second press)
        await at.say(f"Ticket #{at.ticket.id} is already closed.")
        return False
    await at.desk.refresh(at.ticket.id)
    await at.say(f"✅ {escape(at.agent.mention)} closed ticket #{at.ticket.id}.")
    texts = texts_for(at.ticket.language)
    stars = [
        InlineKeyboardButton(
            "⭐" * n if n < 4 else f"{n}⭐", callback_data=buttons.rate(at.ticket.id, n)
        )
        for n in RATING_BUTTONS
    ]
    await tell_customer(at, texts.rate_request, InlineKeyboardMarkup([stars]), Purpose.RATING)
    return True
