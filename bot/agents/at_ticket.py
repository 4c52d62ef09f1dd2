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
from core.database import transaction
from handoff.desk import tickets
from handoff.desk.teams import team_of, team_of_group
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
    """The agent (registered on first contact, a member of this group's team) and the ticket of
    the topic; None outside a ticket's topic of an agents' group."""
    async with transaction(desk.services.sessions) as session:
        team = await team_of_group(session, desk.services.settings, chat_id)
        if team is None:
            return None
        agent = await tickets.register_agent(session, _profile(user), team_id=team.id)
        if topic_id is None:
            return None
        known = await session.scalar(
            select(CustomerTopic).where(
                CustomerTopic.chat_id == chat_id, CustomerTopic.topic_id == topic_id
            )
        )
        customer = await session.get(Customer, known.customer_id) if known else None
        ticket = await tickets.latest_ticket(session, customer) if customer else None
        if customer is None or ticket is None:
            return None
        holder = await team_of(session, ticket)
    elsewhere = holder if holder.id != team.id else None
    return AtTicket(desk, agent, customer, ticket, message, Topic(chat_id, topic_id), elsewhere)
