"""The desk's rules, the one place they live, for agents in Telegram and over the admin API.

One owner per ticket (whoever writes first to an unowned ticket takes it), only the owner writes
to the customer or closes, notes never reach the customer. ``check`` applies them in the
database; a ``TicketDesk`` then carries an API action out — the bot's desk delivers replies to
the customer and keeps the agents' topic in step, the database desk (bot off) does what needs no
Telegram and refuses what does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import transaction
from handoff.desk import tickets
from handoff.models import Agent, Customer, Priority, Ticket


class ActionKind(StrEnum):
    TAKE = "take"
    REPLY = "reply"
    NOTE = "note"
    PRIORITY = "priority"
    CLOSE = "close"
    ESCALATE = "escalate"  # pass the ticket to another team (``team_id``; ``text`` is why)


@dataclass(frozen=True)
class AgentAction:
    ticket_id: int
    agent_id: int
    kind: ActionKind
    text: str | None = None
    priority: Priority | None = None
    team_id: int | None = None


class Refusal(StrEnum):
    NOT_FOUND = "not_found"
    CLOSED = "closed"
    OWNED = "owned"  # someone else's ticket
    UNAVAILABLE = "unavailable"  # the bot is off
    INVALID = "invalid"  # asked for what cannot be (a team that does not exist, the same team)
    PENDING = "pending"  # taking too long: it may still happen


class ActionRefused(Exception):
    def __init__(self, refusal: Refusal, message: str, *, owner: str | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message
        self.owner = owner  # the mention of whose ticket it is, when that is why


@dataclass(frozen=True)
class Checked:
    """An action the rules allow, with what it acts on (the ticket as it is after any take)."""

    action: AgentAction
    ticket: Ticket
    customer: Customer
    agent: Agent
    took: bool  # this action made the agent the owner


class TicketDesk(Protocol):
    async def perform(self, action: AgentAction) -> None:
        """Carry the action out, or raise ActionRefused saying why not."""


OWNER_ONLY = (ActionKind.REPLY, ActionKind.CLOSE, ActionKind.ESCALATE)


async def check(session: AsyncSession, action: AgentAction) -> Checked:
    """Apply the desk's rules; a reply or take on an unowned ticket takes it (atomically)."""
    ticket = await session.get(Ticket, action.ticket_id)
    agent = await session.get(Agent, action.agent_id)
    if ticket is None or agent is None:
        raise ActionRefused(Refusal.NOT_FOUND, f"there is no ticket #{action.ticket_id}")
    customer = await session.get(Customer, ticket.customer_id)
    assert customer is not None  # tickets belong to customers (ON DELETE CASCADE)
    needs_open = action.kind in (
        ActionKind.TAKE,
        ActionKind.REPLY,
        ActionKind.CLOSE,
        ActionKind.ESCALATE,
    )
    if needs_open and not ticket.is_active:
        raise ActionRefused(Refusal.CLOSED, f"ticket #{ticket.id} is closed")
    took = False
    if action.kind in (ActionKind.TAKE, ActionKind.REPLY) and ticket.assignee_id != agent.id:
        claim = await tickets.take(session, ticket, agent)
        if not claim.won:
            raise _owned(ticket, claim.owner)
        took = True
    if action.kind in OWNER_ONLY and ticket.assignee_id not in (None, agent.id):
        raise _owned(ticket, await tickets.owner_of(session, ticket))
    return Checked(action, ticket, customer, agent, took)


def _owned(ticket: Ticket, owner: Agent | None) -> ActionRefused:
    who = owner.mention if owner else "someone else"
    message = f"ticket #{ticket.id} is {who}'s: only the owner writes to the customer or closes it"
    return ActionRefused(Refusal.OWNED, message, owner=owner.mention if owner else None)


async def apply_in_database(session: AsyncSession, checked: Checked) -> None:
    """What a note, a priority change or a close does to the ticket itself."""
    action, ticket, agent = checked.action, checked.ticket, checked.agent
    if action.kind == ActionKind.NOTE:
        tickets.add_note(session, ticket, agent, action.text or "")
    elif action.kind == ActionKind.PRIORITY and action.priority is not None:
        tickets.set_priority(session, ticket, action.priority, agent)
    elif action.kind == ActionKind.CLOSE and not await tickets.close(session, ticket, agent):
        raise ActionRefused(Refusal.CLOSED, f"ticket #{ticket.id} is closed")


# What the bot must do for these actions, and cannot while it is off.
NEEDS_TELEGRAM = {
    ActionKind.REPLY: "a reply cannot reach the customer",
    ActionKind.ESCALATE: "the other team and the customer cannot be told",
}


class DatabaseDesk:
    """The desk while the bot is off: tickets change, nothing reaches the customer."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def perform(self, action: AgentAction) -> None:
        if action.kind in NEEDS_TELEGRAM:
            async with self.sessions() as session:
                if await session.get(Ticket, action.ticket_id) is None:
                    raise ActionRefused(
                        Refusal.NOT_FOUND, f"there is no ticket #{action.ticket_id}"
                    )
            raise ActionRefused(
                Refusal.UNAVAILABLE,
                "the Telegram bot is not running (no FIRSTLINE_TELEGRAM_TOKEN, or still "
                f"connecting to Telegram; see /readyz): {NEEDS_TELEGRAM[action.kind]}",
            )
        async with transaction(self.sessions) as session:
            await apply_in_database(session, await check(session, action))
