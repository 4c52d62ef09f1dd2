"""Tickets for agents: the queue, one ticket with its whole conversation, and the desk's actions
(take, reply, note, priority, close, escalate) under the same rules as in the agents' Telegram
groups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin_api.deps import AgentDep, Offset, RowId, ServicesDep
from admin_api.errors import ERROR_RESPONSES, UNAVAILABLE_RESPONSE, ApiError
from admin_api.tokens import ApiToken, agent_of
from core.database import transaction
from core.queues import delivery_states
from handoff.conversations import conversation
from handoff.desk.actions import ActionKind, ActionRefused, AgentAction, Refusal
from handoff.desk.teams import find_team
from handoff.models import (
    Agent,
    ConversationMessage,
    Customer,
    Direction,
    Priority,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from handoff.services import Services

# Actions go through the bot: 503 while it is not running, 504 when Telegram is too slow.
router = APIRouter(
    prefix="/tickets", tags=["tickets"], responses={**ERROR_RESPONSES, **UNAVAILABLE_RESPONSE}
)

CONVERSATION_LIMIT = 500
REFUSAL_STATUS = {
    Refusal.NOT_FOUND: 404,
    Refusal.CLOSED: 409,
    Refusal.OWNED: 409,
    Refusal.UNAVAILABLE: 503,
    Refusal.PENDING: 504,
    Refusal.INVALID: 409,
}


class TicketOut(BaseModel):
    id: int
    status: TicketStatus
    priority: Priority
    reason: str
    language: str
    subject: str
    tags: list[str]
    customer_id: int
    customer_name: str
    assignee_id: int | None
    assignee_name: str | None = Field(description="the owner's name as Telegram gave it")
    team_id: int | None = Field(description="the team that has it (see /teams)")
    faq_key: str | None
    rating: int | None
    rating_comment: str | None
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, ticket: Ticket, customer: Customer, assignee_name: str | None) -> TicketOut:
        return cls(
            id=ticket.id,
            status=TicketStatus(ticket.status),
            priority=Priority(ticket.priority),
            reason=ticket.reason,
            language=ticket.language,
            subject=ticket.subject,
            tags=ticket.tags,
            customer_id=customer.id,
            customer_name=customer.display_name,
            assignee_id=ticket.assignee_id,
            assignee_name=assignee_name,
            team_id=ticket.team_id,
            faq_key=ticket.faq_key,
            rating=ticket.rating,
            rating_comment=ticket.rating_comment,
            created_at=ticket.created_at,
            first_response_at=ticket.first_response_at,
            resolved_at=ticket.resolved_at,
        )


class TicketPage(BaseModel):
    items: list[TicketOut]
    total: int


class MessageOut(BaseModel):
    id: int
    direction: Literal["in", "out"]
    kind: str
    text: str | None
    outcome: str | None
    faq_key: str | None
    agent_id: int | None
    agent_name: str | None = Field(description="who wrote it, for an agent's message")
    ticket_id: int | None
    has_media: bool
    delivery: Literal["pending", "delivered", "failed"] | None = Field(
        None,
        description="a message to the customer: waiting for Telegram, delivered, or given up "
        "(blocked, or refused for a day); null for the customer's own messages",
    )
    created_at: datetime


class EventOut(BaseModel):
    action: str
    actor: str
    agent_id: int | None
    agent_name: str | None
    details: dict[str, Any] | None
    created_at: datetime


class TicketDetail(TicketOut):
    decision: dict[str, Any] | None = Field(description="the bot's view at handoff")
    conversation: list[MessageOut] = Field(description="the customer's messages, oldest first")
    events: list[EventOut] = Field(description="the audit trail, internal notes included")


class TextRequest(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)


class PriorityRequest(BaseModel):
    priority: Priority


class EscalationRequest(BaseModel):
    team: str = Field(min_length=1, max_length=100, description="the team's name (see /teams)")
    reason: str = Field("", max_length=1000, description="shown to the other team with the card")


@router.get("", summary="The ticket queue")
async def list_tickets(
    services: ServicesDep,
    _token: AgentDep,
    ticket_status: Annotated[TicketStatus | None, Query(alias="status")] = None,
    priority: Priority | None = None,
    assignee: Annotated[
        str | None,
        Query(pattern=r"^(none|[1-9][0-9]{0,8})$", description="an agent id, or 'none'"),
    ] = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    team_id: Annotated[int | None, Query(ge=1, description="a team's id")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TicketPage:
    """Newest first."""
    query = (
        select(Ticket, Customer, Agent.name)
        .join(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(Agent, Agent.id == Ticket.assignee_id)
    )
    if ticket_status:
        query = query.where(Ticket.status == ticket_status)
    if priority:
        query = query.where(Ticket.priority == priority)
    if language:
        query = query.where(Ticket.language == language)
    if team_id is not None:
        query = query.where(Ticket.team_id == team_id)
    if assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif assignee:
        query = query.where(Ticket.assignee_id == int(assignee))
    if tag:  # a JSON list: JSON_CONTAINS is not portable, so it filters here (no SQL paging)
        async with services.sessions() as session:
            rows = [
                row
                for row in (await session.execute(query.order_by(Ticket.id.desc()))).all()
                if tag in row[0].tags
            ]
        page, total = rows[offset : offset + limit], len(rows)
    else:
        async with services.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
            page = list(
                await session.execute(query.order_by(Ticket.id.desc()).offset(offset).limit(limit))
            )
    return TicketPage(items=[TicketOut.of(t, c, name) for t, c, name in page], total=total)


@router.get("/{ticket_id}", summary="One ticket with its whole conversation")
async def get_ticket(services: ServicesDep, _token: AgentDep, ticket_id: RowId) -> TicketDetail:
    async with services.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None:
            raise ApiError(404, f"there is no ticket #{ticket_id}")
        customer = await session.get(Customer, ticket.customer_id)
        assert customer is not None
        messages = await conversation(session, customer.id, limit=CONVERSATION_LIMIT)
        deliveries = await delivery_states(
            session, [m.id for m in messages if m.direction == Direction.OUTBOUND]
        )
        events = list(
            await session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket.id)
                .order_by(TicketEvent.id)
            )
        )
        names = await _agent_names(
            session,
            {ticket.assignee_id, *(m.agent_id for m in messages), *(e.agent_id for e in events)},
        )
    return TicketDetail(
        **TicketOut.of(ticket, customer, names.get(ticket.assignee_id or 0)).model_dump(),
        decision=ticket.decision,
        conversation=[_message(message, deliveries, names) for message in messages],
        events=[
            EventOut(
                action=e.action,
                actor=e.actor,
                agent_id=e.agent_id,
                agent_name=names.get(e.agent_id or 0),
                details=e.details,
                created_at=e.created_at,
            )
            for e in events
        ],
    )


async def _agent_names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    known = [agent_id for agent_id in ids if agent_id is not None]
    if not known:
        return {}
    rows = await session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(known)))
    return {agent_id: name for agent_id, name in rows.tuples()}


def _message(
    message: ConversationMessage, deliveries: dict[int, str], names: dict[int, str]
) -> MessageOut:
    outbound = message.direction == Direction.OUTBOUND
    # Messages sent before the outbox existed carry their Telegram id: they were delivered.
    sent_before = "delivered" if message.telegram_message_id is not None else None
    return MessageOut(
        id=message.id,
        direction="in" if message.direction == "in" else "out",
        kind=message.kind,
        text=message.text,
        outcome=message.outcome,
        faq_key=message.faq_key,
        agent_id=message.agent_id,
        agent_name=names.get(message.agent_id or 0),
        ticket_id=message.ticket_id,
        has_media=message.file_id is not None,
        delivery=deliveries.get(message.id, sent_before) if outbound else None,
        created_at=message.created_at,
    )


async def _act(
    services: Services,
    token: ApiToken,
    ticket_id: RowId,
    kind: ActionKind,
    *,
    text: str | None = None,
    priority: Priority | None = None,
    team_id: int | None = None,
) -> TicketOut:
    async with transaction(services.sessions) as session:
        agent: Agent = await agent_of(session, token)
    action = AgentAction(ticket_id, agent.id, kind, text=text, priority=priority, team_id=team_id)
    try:
        await services.desk.perform(action)
    except ActionRefused as refusal:
        raise ApiError(REFUSAL_STATUS[refusal.refusal], refusal.message) from None
    async with services.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        customer = await session.get(Customer, ticket.customer_id)
        assert customer is not None
        names = await _agent_names(session, {ticket.assignee_id})
    return TicketOut.of(ticket, customer, names.get(ticket.assignee_id or 0))


@router.post("/{ticket_id}/take", summary="Take the ticket")
async def take(services: ServicesDep, token: AgentDep, ticket_id: RowId) -> TicketOut:
    """409 when a colleague owns it: one chat, one responsible agent."""
    return await _act(services, token, ticket_id, ActionKind.TAKE)


@router.post("/{ticket_id}/reply", summary="Reply to the customer")
async def reply(
    services: ServicesDep, token: AgentDep, ticket_id: RowId, request: TextRequest
) -> TicketOut:
    """Delivered through the bot and shown in the ticket's topic; an unowned ticket is taken
    first; 409 when it is a colleague's or closed, 503 while the bot is off."""
    return await _act(services, token, ticket_id, ActionKind.REPLY, text=request.text)


@router.post("/{ticket_id}/notes", status_code=status.HTTP_201_CREATED, summary="Internal note")
async def note(
    services: ServicesDep, token: AgentDep, ticket_id: RowId, request: TextRequest
) -> TicketOut:
    """For the agents only: never sent to the customer."""
    return await _act(services, token, ticket_id, ActionKind.NOTE, text=request.text)


@router.post("/{ticket_id}/priority", summary="Change the priority")
async def change_priority(
    services: ServicesDep, token: AgentDep, ticket_id: RowId, request: PriorityRequest
) -> TicketOut:
    return await _act(services, token, ticket_id, ActionKind.PRIORITY, priority=request.priority)


@router.post("/{ticket_id}/close", summary="Close the ticket")
async def close(services: ServicesDep, token: AgentDep, ticket_id: RowId) -> TicketOut:
    """The customer is asked to rate the help (when the bot runs)."""
    return await _act(services, token, ticket_id, ActionKind.CLOSE)


@router.post("/{ticket_id}/escalate", summary="Pass the ticket to another team")
async def escalate(
    services: ServicesDep, token: AgentDep, ticket_id: RowId, request: EscalationRequest
) -> TicketOut:
    """The owner (anyone while nobody owns it) passes the ticket on: its card appears in that
    team's group with the reason and the whole conversation, the customer is told who has it and
    how long they wait; nobody owns it until one of that team takes it. 404 for an unknown
    team, 409 when it is a colleague's, closed or already with that team."""
    async with services.sessions() as session:
        team = await find_team(session, request.team)
    if team is None:
        raise ApiError(404, f"there is no team '{request.team}': GET /api/v1/teams lists them")
    return await _act(
        services, token, ticket_id, ActionKind.ESCALATE, text=request.reason, team_id=team.id
    )
