"""The support lead's report for a period: conversations, handoffs, response times, CSAT, volume.

Each figure covers the period [start, end) and nothing outside it. Messages count by when they
were sent, a conversation by when it began (judged on its messages within the period), a ticket
by when it was opened: its response, resolution and rating count with it, whenever they came.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.conversations import CONVERSATION_WINDOW
from handoff.insights.periods import check_period, time_zone
from handoff.insights.report import (
    TOP_FAQ_ENTRIES,
    AgentServiceLevels,
    ConversationStats,
    DayConversations,
    FaqUsage,
    HandoffStats,
    MessageVolume,
    ServiceLevels,
    SupportReport,
    TicketFacts,
)
from handoff.line.sla import SlaKind, SlaStage
from handoff.models import (
    Agent,
    AnswerVote,
    ConversationMessage,
    Direction,
    MessageKind,
    Ticket,
    TicketEvent,
)
from knowledge_base.models import FaqEntry
from retrieval.decision import Outcome, Reason

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Presses on the bot's buttons and edits of sent messages are not new messages from the customer.
NOT_VOLUME = (MessageKind.BUTTON, MessageKind.EDIT)


@dataclass(frozen=True)
class _LoggedMessage:
    customer_id: int
    created_at: datetime
    direction: str
    kind: str
    outcome: str | None
    reason: str | None
    faq_key: str | None
    opens_ticket: bool

    @property
    def is_bot_answer(self) -> bool:
        return self.direction == Direction.OUTBOUND and self.outcome == Outcome.ANSWER

    @property
    def is_handoff(self) -> bool:
        return self.outcome == Outcome.HANDOFF or self.opens_ticket


@dataclass
class _MessageActivity:
    conversations: int = 0
    resolved_by_bot: int = 0
    uncovered_questions: int = 0
    by_day: Counter[date] = field(default_factory=Counter)
    resolved_by_day: Counter[date] = field(default_factory=Counter)
    by_hour: Counter[int] = field(default_factory=Counter)
    by_weekday: Counter[int] = field(default_factory=Counter)
    faq_answers: Counter[str] = field(default_factory=Counter)


async def support_report(
    session: AsyncSession, *, start: datetime, end: datetime, timezone: str = "UTC"
) -> SupportReport:
    """The report for [start, end); hours and weekdays are read in ``timezone`` (an IANA name).

    Raises ValueError for an empty or reversed period, naive datetimes or an unknown time zone.
    """
    check_period(start, end)
    zone = time_zone(timezone)
    activity = await _message_activity(session, start=start, end=end, zone=zone)
    tickets = await _tickets_opened(session, start=start, end=end)
    reasons = Counter(ticket.reason for ticket in tickets)
    return SupportReport(
        start=start,
        end=end,
        timezone=timezone,
        conversations=ConversationStats(
            total=activity.conversations,
            resolved_by_bot=activity.resolved_by_bot,
            bot_resolution_rate=(
                activity.resolved_by_bot / activity.conversations
                if activity.conversations
                else None
            ),
            by_day=[
                DayConversations(
                    day=day,
                    total=activity.by_day[day],
                    resolved_by_bot=activity.resolved_by_day[day],
                )
                for day in _local_days(start, end, zone)
            ],
        ),
        handoffs=HandoffStats(
            total=len(tickets),
            by_reason=dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
            reopened=await _tickets_reopened(session, start=start, end=end),
        ),
        uncovered_questions=activity.uncovered_questions,
        tickets=ServiceLevels.of(tickets),
        sla_breaches=await _sla_breaches(session, start=start, end=end),
        agents=_per_agent(tickets),
        volume=MessageVolume(
            by_hour={hour: activity.by_hour[hour] for hour in range(24)},
            by_weekday={name: activity.by_weekday[day] for day, name in enumerate(WEEKDAYS)},
        ),
        top_faq=await _top_faq(session, start=start, end=end, answers=activity.faq_answers),
    )


def _local_days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    """Every local day that [start, end) touches."""
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


async def _message_activity(
    session: AsyncSession, *, start: datetime, end: datetime, zone: ZoneInfo
) -> _MessageActivity:
    activity = _MessageActivity()
    # The hour before the period tells whether its first messages continue an earlier conversation.
    messages = await _logged_messages(session, since=start - CONVERSATION_WINDOW, end=end)
    for run in _split_conversations(messages):
        if run[0].created_at >= start:
            resolved = _resolved_by_bot(run)
            day = run[0].created_at.astimezone(zone).date()
            activity.conversations += 1
            activity.resolved_by_bot += resolved
            activity.by_day[day] += 1
            activity.resolved_by_day[day] += resolved
        previous: _LoggedMessage | None = None
        for message in run:
            if message.created_at >= start:
                _count_message(activity, message, previous, zone)
            previous = message
    return activity


async def _logged_messages(
    session: AsyncSession, *, since: datetime, end: datetime
) -> list[_LoggedMessage]:
    """The period's messages (and those since ``since``), each customer's in order."""
    opening_messages = select(Ticket.opening_message_id).where(
        Ticket.opening_message_id.is_not(None), Ticket.created_at >= since
    )
    rows = await session.execute(
        select(
            ConversationMessage.customer_id,
            ConversationMessage.created_at,
            ConversationMessage.direction,
            ConversationMessage.kind,
            ConversationMessage.outcome,
            ConversationMessage.reason,
            ConversationMessage.faq_key,
            ConversationMessage.id.in_(opening_messages),
        )
        .where(ConversationMessage.created_at >= since, ConversationMessage.created_at < end)
        .order_by(
            ConversationMessage.customer_id,
            ConversationMessage.created_at,
            ConversationMessage.id,
        )
    )
    return [
        _LoggedMessage(customer, at, direction, kind, outcome, reason, key, bool(opens))
        for customer, at, direction, kind, outcome, reason, key, opens in rows
    ]


def _split_conversations(messages: Iterable[_LoggedMessage]) -> Iterator[list[_LoggedMessage]]:
    """Each customer's runs of messages with no gap over the conversation window (inclusive, as
    the bot reads its recent turns); ``messages`` are ordered by customer, then time."""
    for _, own in groupby(messages, key=lambda message: message.customer_id):
        run: list[_LoggedMessage] = []
        for message in own:
            if run and message.created_at - run[-1].created_at > CONVERSATION_WINDOW:
                yield run
                run = []
            run.append(message)
        yield run


def _resolved_by_bot(conversation: Sequence[_LoggedMessage]) -> bool:
    """The bot answered (a confident answer, or an offered entry the customer picked) and no one
    was handed the chat: no handoff decided, no ticket opened or reopened."""
    return any(m.is_bot_answer for m in conversation) and not any(
        m.is_handoff for m in conversation
    )


def _count_message(
    activity: _MessageActivity,
    message: _LoggedMessage,
    previous: _LoggedMessage | None,
    zone: ZoneInfo,
) -> None:
    if message.direction == Direction.INBOUND and message.kind not in NOT_VOLUME:
        local = message.created_at.astimezone(zone)
        activity.by_hour[local.hour] += 1
        activity.by_weekday[local.weekday()] += 1
    if (
        message.direction == Direction.INBOUND
        and message.kind == MessageKind.TEXT
        and message.outcome == Outcome.HANDOFF
        and message.reason == Reason.LOW_CONFIDENCE
    ):
        activity.uncovered_questions += 1
    if message.is_bot_answer and message.faq_key and not _continues_answer(message, previous):
        activity.faq_answers[message.faq_key] += 1


def _continues_answer(message: _LoggedMessage, previous: _LoggedMessage | None) -> bool:
    """A long answer goes out in several messages, each stored with the entry: one answer."""
    return previous is not None and previous.is_bot_answer and previous.faq_key == message.faq_key


async def _tickets_opened(
    session: AsyncSession, *, start: datetime, end: datetime
) -> list[TicketFacts]:
    rows = await session.execute(
        select(
            Ticket.reason,
            Ticket.created_at,
            Ticket.first_response_at,
            Ticket.resolved_at,
            Ticket.rating,
            Ticket.assignee_id,
            Agent.name,
        )
        .outerjoin(Agent, Agent.id == Ticket.assignee_id)
        .where(Ticket.created_at >= start, Ticket.created_at < end)
    )
    return [TicketFacts(*row) for row in rows]


async def _tickets_reopened(session: AsyncSession, *, start: datetime, end: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(
            TicketEvent.action == "reopened",  # written by handoff.desk.tickets.reopen
            TicketEvent.created_at >= start,
            TicketEvent.created_at < end,
        )
    )
    return count or 0


async def _sla_breaches(session: AsyncSession, *, start: datetime, end: datetime) -> dict[str, int]:
    details = await session.scalars(
        select(TicketEvent.details).where(
            TicketEvent.action == SlaStage.BREACH,
            TicketEvent.created_at >= start,
            TicketEvent.created_at < end,
        )
    )
    counts = Counter((detail or {}).get("kind", "unknown") for detail in details)
    return {kind.value: counts.get(kind.value, 0) for kind in SlaKind}


def _per_agent(tickets: Sequence[TicketFacts]) -> list[AgentServiceLevels]:
    assigned: dict[int, list[TicketFacts]] = {}
    for ticket in tickets:
        if ticket.assignee_id is not None:
            assigned.setdefault(ticket.assignee_id, []).append(ticket)
    agents = [
        AgentServiceLevels(
            agent_id=agent_id, name=own[0].assignee_name or "?", service=ServiceLevels.of(own)
        )
        for agent_id, own in assigned.items()
    ]
    return sorted(agents, key=lambda agent: (-agent.service.tickets, agent.name, agent.agent_id))


async def _top_faq(
    session: AsyncSession, *, start: datetime, end: datetime, answers: Counter[str]
) -> list[FaqUsage]:
    top = sorted(answers.items(), key=lambda item: (-item[1], item[0]))[:TOP_FAQ_ENTRIES]
    keys = [key for key, _ in top]
    if not keys:
        return []
    votes = await session.execute(
        select(
            ConversationMessage.faq_key,
            func.sum(case((AnswerVote.helpful, 1), else_=0)),
            func.sum(case((AnswerVote.helpful, 0), else_=1)),
        )
        .join(AnswerVote, AnswerVote.answer_message_id == ConversationMessage.id)
        .where(
            ConversationMessage.faq_key.in_(keys),
            ConversationMessage.direction == Direction.OUTBOUND,
            ConversationMessage.outcome == Outcome.ANSWER,
            ConversationMessage.created_at >= start,
            ConversationMessage.created_at < end,
        )
        .group_by(ConversationMessage.faq_key)
    )
    votes_by_key = {key: (int(up), int(down)) for key, up, down in votes}
    entries = await session.execute(
        select(FaqEntry.key, FaqEntry.question).where(FaqEntry.key.in_(keys))
    )
    questions = dict(entries.tuples().all())
    usage = []
    for key, count in top:
        helpful, not_helpful = votes_by_key.get(key, (0, 0))
        usage.append(
            FaqUsage(
                faq_key=key,
                question=questions.get(key),
                answers=count,
                helpful=helpful,
                not_helpful=not_helpful,
            )
        )
    return usage
