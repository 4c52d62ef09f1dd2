"""Passing a ticket to another team: ``/escalate <team> [reason]``, ``/handback [reason]``, the
card's ⤴️ button, and the admin API.

Only the owner passes a ticket on (anyone while nobody owns it). Then, each through the outbox:
the first team's topic says where it went (and stays for reading), the card appears in the other
team's group with the reason and the whole conversation follows it, and the customer is told in
their language which specialists have it now, with that team's queue, wait or opening hours.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import buttons
from bot.agents.at_ticket import AtTicket
from bot.agents.desk import Desk
from bot.agents.topics import topic_of
from bot.customers.texts import texts_for
from bot.formatting import escape
from bot.line import wait_line_in
from bot.outbox import Purpose, enqueue, text_params
from core.database import transaction
from handoff.conversations import conversation, record_message
from handoff.desk import card
from handoff.desk.actions import ActionKind, ActionRefused, AgentAction, Refusal, check
from handoff.desk.escalation import Transfer, previous_team, transfer
from handoff.desk.teams import TeamError, all_teams, group_of, names_match, team_of
from handoff.models import Customer, Direction, MessageKind, Team, TeamLevel, Ticket


def level_name(team: Team) -> str:
    level = TeamLevel(team.level)
    return "a department" if level == TeamLevel.DEPARTMENT else f"the {level.value} line"


async def escalate_command(at: AtTicket, argument: str) -> None:
    """``/escalate <team> [reason]``: the team's name may have several words."""
    async with at.sessions() as session:
        teams = await all_teams(session)
        current = await team_of(session, at.ticket)
    team, reason = _team_and_reason(argument, teams)
    if team is None:
        names = ", ".join(team.name for team in teams if team.id != current.id) or "none yet"
        await at.say(escape(card.USAGE["escalate"].format(names=names)))
        return
    await _pass_and_say(at, team.id, reason)


async def hand_back_command(at: AtTicket, reason: str) -> None:
    """``/handback [reason]``: back to the team that passed the ticket on."""
    async with at.sessions() as session:
        back = await previous_team(session, at.ticket)
    if back is None:
        await at.say(
            f"Ticket #{at.ticket.id} was not passed on by another team: "
            + escape(card.USAGE["escalate"].split(" Teams:")[0])
        )
        return
    await _pass_and_say(at, back.id, reason.strip())


async def escalation_buttons(at: AtTicket) -> InlineKeyboardMarkup:
    """One button per team the ticket can go to, and the way back to the card's buttons."""
    async with at.sessions() as session:
        teams = await all_teams(session)
        current = await team_of(session, at.ticket)
    rows = [
        [
            InlineKeyboardButton(
                f"⤴️ {team.name}", callback_data=buttons.desk("escto", at.ticket.id, str(team.id))
            )
        ]
        for team in teams
        if team.id != current.id
    ]
    back = InlineKeyboardButton("↩ Back", callback_data=buttons.desk("card", at.ticket.id))
    return InlineKeyboardMarkup([*rows, [back]])


async def escalate_by_button(at: AtTicket, team_id: int) -> str:
    """A press on one of the teams: what the agent's screen says."""
    try:
        moved = await pass_ticket(at, team_id, "")
    except ActionRefused as refusal:
        return refusal.message
    return f"Ticket #{moved.ticket.id} passed to {moved.to_team.name}."


async def _pass_and_say(at: AtTicket, team_id: int, reason: str) -> None:
    try:
        await pass_ticket(at, team_id, reason)
    except ActionRefused as refusal:
        await at.say(escape(refusal.message))


async def pass_ticket(at: AtTicket, team_id: int, reason: str) -> Transfer:
    """Pass the ticket on by the desk's rules. The first team's notice and the customer's message
    are committed with the pass (the outbox delivers them however long Telegram takes); then the
    card goes to the other team's group, the whole conversation under it."""
    desk = at.desk
    settings = desk.services.settings
    groups = await desk.groups()
    action = AgentAction(at.ticket.id, at.agent.id, ActionKind.ESCALATE, text=reason)
    async with transaction(at.sessions) as session:
        checked = await check(session, action)
        team = await session.get(Team, team_id)
        if team is None:
            raise ActionRefused(Refusal.NOT_FOUND, f"there is no team {team_id}")
        try:
            moved = await transfer(session, checked.ticket, team, checked.agent, reason[:1000])
        except TeamError as error:
            raise ActionRefused(Refusal.INVALID, str(error)) from None
        shared = group_of(moved.from_team, settings) == group_of(moved.to_team, settings)
        await _note_where_it_went(session, groups, checked.customer, moved, shared=shared)
        await _tell_customer(session, desk, checked.customer, moved)
    at.ticket = moved.ticket
    desk.services.wake_outbox()
    await desk.show_ticket(moved.ticket.id)
    if not shared:  # in the same topic, the conversation is there already
        async with transaction(at.sessions) as session:
            await _post_transcript(session, groups, moved.ticket.id)
        desk.services.wake_outbox()
    return moved


async def _note_where_it_went(
    session: AsyncSession, groups: set[int], customer: Customer, moved: Transfer, *, shared: bool
) -> None:
    """In the first team's topic (the customer's current one until the card moves); ``shared``:
    both teams work in the same group (a small team in the main one), so in the same topic."""
    topic = topic_of(customer)
    if topic is None or topic.chat_id not in groups:
        return
    who = escape(moved.agent.mention) if moved.agent else "The bot"
    why = f": {escape(moved.reason)}" if moved.reason else ""
    where = (
        "Their agents answer in this topic."
        if shared
        else "This topic stays for reading; replies now come from their group."
    )
    html = (
        f"⤴️ {who} passed ticket #{moved.ticket.id} to <b>{escape(moved.to_team.name)}</b> "
        f"({level_name(moved.to_team)}){why}. {where}"
    )
    await enqueue(
        session,
        topic.chat_id,
        text_params(html, thread_id=topic.thread_id),
        purpose=Purpose.NOTICE,
        ticket_id=moved.ticket.id,
    )


async def _post_transcript(session: AsyncSession, groups: set[int], ticket_id: int) -> None:
    """The whole conversation under the card in the new team's topic, once the card is there
    (while Telegram is down the line's job posts the card later, without it)."""
    ticket = await session.get(Ticket, ticket_id)
    customer = await session.get(Customer, ticket.customer_id) if ticket else None
    topic = topic_of(customer) if customer else None
    if ticket is None or ticket.card_message_id is None or customer is None:
        return
    if topic is None or topic.chat_id not in groups:
        return
    for part in card.transcript(await conversation(session, customer.id)):
        await enqueue(
            session,
            topic.chat_id,
            text_params(part, thread_id=topic.thread_id),
            purpose=Purpose.NOTICE,
            ticket_id=ticket.id,
        )


async def _tell_customer(
    session: AsyncSession, desk: Desk, customer: Customer, moved: Transfer
) -> None:
    """In the customer's language: which specialists have the request now, and their queue and
    wait, or when they open."""
    texts = texts_for(customer.language)
    status = await wait_line_in(session, desk.services, moved.ticket, texts, customer.language)
    html = texts.passed_to_team.format(team=escape(moved.to_team.name)) + f"\n\n{status}"
    message = record_message(
        session,
        customer,
        Direction.OUTBOUND,
        MessageKind.TEXT,
        text=html,
        ticket_id=moved.ticket.id,
    )
    await enqueue(
        session, customer.chat_id, text_params(html), message=message, ticket_id=moved.ticket.id
    )


def _team_and_reason(argument: str, teams: list[Team]) -> tuple[Team | None, str]:
    """The team named by the longest run of leading words, and the rest as the reason."""
    words = argument.split()
    for count in range(len(words), 0, -1):
        name = " ".join(words[:count])
        for team in teams:
            if names_match(team.name, name):
                return team, " ".join(words[count:])
    return None, argument
