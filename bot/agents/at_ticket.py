"""Where an agent acts: who they are, which customer's topic, the ticket there, and whether the
ticket has since moved on to another team (its old topic stays for reading)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Message, User

from bot.agents.desk import Desk
from bot.agents.topics import Topic
from bot.context import FirstlineContext
from bot.formatting import escape
from bot.outbox import Purpose, enqueue, text_params
from core.database import transaction
from handoff.desk import tickets
from handoff.desk.teams import acting_team, team_of
from handoff.models import Agent, Customer, CustomerTopic, Team, Ticket


@dataclass
class AtTicket:
    """An agent's action on a ticket: in a topic of an agents' group, or from the admin API."""

    desk: Desk
    agent: Agent
    customer: Customer
    ticket: Ticket
    message: Message | None = None
    # The topic the agent acts in; None from the API (the ticket's current topic answers).
    topic: Topic | None = None
    # The team the ticket has moved on to, when that is not this topic's team.
    elsewhere: Team | None = None

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.desk.services.sessions

    async def say(self, html: str) -> None:
        """Answer the agent where they act."""
        if self.topic is None:
            await self.desk.notice(self.customer, html)
        else:
            await self.desk.notice_in(self.topic, html, self.ticket.id)


def desk_of(context: FirstlineContext) -> Desk:
    return Desk(context.services, context.bot)


def _profile(user: User) -> tickets.AgentProfile:
    return tickets.AgentProfile(user.id, user.full_name, user.username)


async def at_ticket(
    desk: Desk, user: User, chat_id: int, topic_id: int | None, message: Message | None = None
) -> AtTicket | None:
    """The agent (registered on first contact, a member of the team they act for here) and the
    ticket of the topic; None outside a ticket's topic of an agents' group."""
    customer: Customer | None = None
    ticket: Ticket | None = None
    holder: Team | None = None
    async with transaction(desk.services.sessions) as session:
        agent = await tickets.register_agent(session, _profile(user))
        team = await acting_team(
            session, desk.services.settings, chat_id, topic_id, current=agent.team_id
        )
        if team is None:
            return None
        joined, agent.team_id = agent.team_id != team.id, team.id
        in_team_topic = topic_id is not None and topic_id == team.desk_topic_id
        if in_team_topic and joined:  # said once, in the small team's own topic
            html = f"👋 {escape(agent.mention)} is one of {escape(team.name)} now."
            params = text_params(html, thread_id=topic_id)
            await enqueue(session, chat_id, params, purpose=Purpose.NOTICE)
        elif topic_id is not None:
            customer = await _customer_of_topic(session, Topic(chat_id, topic_id))
            ticket = await tickets.latest_ticket(session, customer) if customer else None
            holder = await team_of(session, ticket) if ticket else None
    if in_team_topic:
        desk.services.wake_outbox(chat_id)
    if customer is None or ticket is None or holder is None or topic_id is None:
        return None
    elsewhere = holder if holder.id != team.id else None
    return AtTicket(desk, agent, customer, ticket, message, Topic(chat_id, topic_id), elsewhere)


async def _customer_of_topic(session: AsyncSession, topic: Topic) -> Customer | None:
    known = await session.scalar(
        select(CustomerTopic).where(
            CustomerTopic.chat_id == topic.chat_id, CustomerTopic.topic_id == topic.thread_id
        )
    )
    return await session.get(Customer, known.customer_id) if known else None
