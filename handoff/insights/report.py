"""The support lead's report: its figures (the admin API's analytics response) and how each is
computed from the facts :mod:`handoff.insights.analytics` reads from the database."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel

TOP_FAQ_ENTRIES = 20
RATINGS = range(1, 6)


@dataclass(frozen=True)
class TicketFacts:
    reason: str
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    rating: int | None
    assignee_id: int | None
    assignee_name: str | None

    @property
    def first_response_seconds(self) -> float | None:
        if self.first_response_at is None:
            return None
        return (self.first_response_at - self.created_at).total_seconds()

    @property
    def resolution_seconds(self) -> float | None:
        if self.resolved_at is None:
            return None
        return (self.resolved_at - self.created_at).total_seconds()


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The value below which ``fraction`` of the values lie, interpolated linearly between the
    closest ranks (PostgreSQL's ``percentile_cont``, numpy's default); None for no values."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"a percentile's fraction is 0 to 1, not {fraction}")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _to_millisecond(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


class DurationStats(BaseModel):
    """How long something took, in seconds (to the millisecond), over ``count`` tickets."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> DurationStats:
        return cls(
            count=len(seconds),
            median_seconds=_to_millisecond(percentile(seconds, 0.5)),
            p90_seconds=_to_millisecond(percentile(seconds, 0.9)),
        )


class CsatStats(BaseModel):
    """Customers' 1–5 ratings of closed tickets."""

    count: int
    mean: float | None
    distribution: dict[int, int]  # every rating 1..5 -> how many gave it

    @classmethod
    def of(cls, ratings: Sequence[int]) -> CsatStats:
        given = Counter(ratings)
        return cls(
            count=len(ratings),
            mean=sum(ratings) / len(ratings) if ratings else None,
            distribution={rating: given[rating] for rating in RATINGS},
        )


class ServiceLevels(BaseModel):
    """Tickets opened in the period: how fast people answered and solved them, how it was rated."""

    tickets: int
    first_response: DurationStats  # opened -> an agent's first message to the customer
    resolution: DurationStats  # opened -> closed (tickets closed and not reopened since)
    csat: CsatStats

    @classmethod
    def of(cls, tickets: Sequence[TicketFacts]) -> ServiceLevels:
        return cls(
            tickets=len(tickets),
            first_response=DurationStats.of(
                [seconds for t in tickets if (seconds := t.first_response_seconds) is not None]
            ),
            resolution=DurationStats.of(
                [seconds for t in tickets if (seconds := t.resolution_seconds) is not None]
            ),
            csat=CsatStats.of([t.rating for t in tickets if t.rating is not None]),
        )


class AgentServiceLevels(BaseModel):
    """One agent's share: the tickets assigned to them now (a handed-over ticket counts for the
    colleague who has it)."""

    agent_id: int
    name: str
    service: ServiceLevels


class DayConversations(BaseModel):
    """One local day's conversations (by the day each began)."""

    day: date
    total: int
    resolved_by_bot: int


class ConversationStats(BaseModel):
    """Conversations begun in the period, and those the bot resolved without a person."""

    total: int
    resolved_by_bot: int
    bot_resolution_rate: float | None  # resolved_by_bot / total
    by_day: list[DayConversations]  # every local day of the period, in order


class HandoffStats(BaseModel):
    """Tickets opened in the period, each counted once by the reason the bot handed off."""

    total: int
    by_reason: dict[str, int]  # most frequent first
    # A handoff soon after a close reopens the old ticket: not in ``by_reason``, counted here.
    reopened: int


class MessageVolume(BaseModel):
    """Messages customers sent (not button presses or edits), by the local hour and weekday."""

    by_hour: dict[int, int]  # every hour 0..23
    by_weekday: dict[str, int]  # mon..sun


class FaqUsage(BaseModel):
    """How often the bot answered with an entry, and the customers' 👍 / 👎 on those answers."""

    faq_key: str
    question: str | None  # None when the knowledge base no longer has the key
    answers: int
    helpful: int
    not_helpful: int


class SupportReport(BaseModel):
    """The admin API's analytics response."""

    start: datetime
    end: datetime
    timezone: str
    conversations: ConversationStats
    handoffs: HandoffStats
    # Customers' questions handed off because nothing in the FAQ fits (reason low_confidence).
    uncovered_questions: int
    tickets: ServiceLevels
    # Service-level targets missed in the period (recorded by handoff.line.sla), by target.
    sla_breaches: dict[str, int]
    agents: list[AgentServiceLevels]  # the busiest first
    volume: MessageVolume
    top_faq: list[FaqUsage]  # the most answered first, at most TOP_FAQ_ENTRIES
