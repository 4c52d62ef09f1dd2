"""Customers, their conversations with the bot, votes on answers, and the tickets for humans."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UtcDateTime, utcnow


class Direction(StrEnum):
    INBOUND = "in"  # from the customer
    OUTBOUND = "out"  # from the bot (or, later, an agent) to the customer


class MessageKind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"  # an inline button the customer pressed
    EDIT = "edit"
    FORWARD = "forward"
    STICKER = "sticker"
    PHOTO = "photo"
    VOICE = "voice"
    VIDEO = "video"
    VIDEO_NOTE = "video_note"
    AUDIO = "audio"
    ANIMATION = "animation"
    DOCUMENT = "document"
    LOCATION = "location"
    CONTACT = "contact"
    OTHER = "other"


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting_for_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


ACTIVE_TICKET_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING)
# The same statuses as SQL, for the partial index that keeps one active ticket per customer.
_CARD_LAGGING_SQL = "card_shown_revision < card_revision"
_ACTIVE_TICKET_SQL = "status IN ({})".format(
    ", ".join(f"'{status.value}'" for status in ACTIVE_TICKET_STATUSES)
)


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TeamLevel(StrEnum):
    """Where a team stands in the lines: requests pass from the first line up to the third."""

    FIRST = "first"
    SECOND = "second"
    THIRD = "third"
    DEPARTMENT = "department"


class Team(Base):
    """A group of agents with its own forum group, hours, service levels and queue.

    The default team is the installation's first line: it works in FIRSTLINE_AGENT_CHAT_ID
    (``agent_chat_id`` None) on the line's hours and targets until a lead gives it its own.
    A small team may work in that main group too (``in_main_group``): its tickets' topics open
    there, and the bot keeps a topic of the team's own (``desk_topic_id``) for its announcements;
    writing in that topic makes an agent one of the team.
    ``tags`` are the services it owns: a ticket whose FAQ entries carry one of them opens here.
    """

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    level: Mapped[str] = mapped_column(String(16), default=TeamLevel.FIRST)
    agent_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)
    in_main_group: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    desk_topic_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # None: the line's own (FIRSTLINE_BUSINESS_HOURS or what a lead set for the line).
    business_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    sla: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Customer(Base):
    """A person who wrote to the bot in a private chat."""

    __tablename__ = "customers"
    # A message in the agents' group is routed to its customer by the topic it was written in.
    __table_args__ = (Index("ix_customers_topic", "topic_chat_id", "topic_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    username: Mapped[str | None] = mapped_column(String(100), nullable=True)
    language: Mapped[str] = mapped_column(String(8))
    # Chosen with /language: the customer's word beats what we detect from their messages.
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The customer's topic in the agents' forum group, reused for every ticket of theirs.
    topic_chat_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    topic_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    topic_title: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # The customer's newest ticket, so that each incoming message finds it by primary key (no
    # foreign key: tickets reference customers, and a cycle would complicate deletes).
    latest_ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # When we last told them the line is closed (once per closed period), and that it is open.
    closed_notice_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    open_notice_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Their flood limit's token bucket (bot.delivery.FloodGuard), shared by every replica.
    flood_tokens: Mapped[float | None] = mapped_column(Float, nullable=True)
    flood_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    flood_warned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or "?"


class CustomerTopic(Base):
    """Every topic a customer has had in an agents' group, one per group: a ticket passed back
    to a team reuses its topic there, and a topic the ticket left still knows whose it is."""

    __tablename__ = "customer_topics"
    __table_args__ = (
        UniqueConstraint("customer_id", "chat_id"),
        Index("ix_customer_topics_topic", "chat_id", "topic_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    topic_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(128))


class ConversationMessage(Base):
    """Every message in and out of a customer's chat, media included (kept for the agent)."""

    __tablename__ = "conversation_messages"
    __table_args__ = (
        Index("ix_conversation_messages_customer", "customer_id", "id"),
        # Button presses by what was pressed, newest last: "None of these" is read every 30 s
        # (handoff.insights.labels) from a table that only grows.
        Index(
            "ix_conversation_messages_presses",
            "text",
            "id",
            sqlite_where=text("kind = 'button'"),
            postgresql_where=text("kind = 'button'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    telegram_update_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    file_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # What the bot decided about an inbound message, or answered with in an outbound one.
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    faq_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Set while a person handles the chat: the ticket, the agent who wrote an outbound message,
    # and the message's twin in the ticket's topic (None until relayed: a restart relays it).
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True, index=True
    )
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    topic_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AnswerVote(Base):
    """A customer's 👍 / 👎 on one answer the bot gave (one vote per answer; a new press changes it)."""

    __tablename__ = "answer_votes"
    __table_args__ = (UniqueConstraint("answer_message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answer_message_id: Mapped[int] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="CASCADE")
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    faq_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("faq_entries.id", ondelete="SET NULL"), nullable=True, index=True
    )
    faq_key: Mapped[str] = mapped_column(String(100))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CustomerChoice(Base):
    """An entry a customer picked from "did you mean…" for their question: it stands for the
    proposal it made until their 👎 or "not that" withdraws it."""

    __tablename__ = "customer_choices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("faq_entries.id", ondelete="CASCADE"), index=True
    )
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("phrasing_proposals.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(1000))
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Ticket(Base):
    """A request for a human: opened at handoff, one active ticket per customer."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_customer_status", "customer_id", "status"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        # Held by the database, not by a read before the insert: two replicas (or two handlers)
        # escalating for one customer at once cannot both open a ticket (see tickets.escalate).
        Index(
            "uq_tickets_one_active_per_customer",
            "customer_id",
            unique=True,
            postgresql_where=text(_ACTIVE_TICKET_SQL),
            sqlite_where=text(_ACTIVE_TICKET_SQL),
        ),
        # The few tickets whose card lags, found every few seconds without a scan.
        Index(
            "ix_tickets_card_lagging",
            "id",
            postgresql_where=text(_CARD_LAGGING_SQL),
            sqlite_where=text(_CARD_LAGGING_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(24), default=TicketStatus.NEW)
    priority: Mapped[str] = mapped_column(String(16), default=Priority.NORMAL)
    reason: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(Text)
    # The bot's view at handoff: its candidates and scores, for the agent's context card.
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The conversation message that opened it: the context starts before it.
    opening_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The FAQ entry an agent answered with (/faq <key>): the knowledge-gap reports read it.
    faq_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # What the card and the topic's name show lags what the ticket is: every change raises
    # ``card_revision`` in its own transaction, and the desk raises ``card_shown_revision`` once
    # Telegram took the edit. The line's job brings any card that lags up to date.
    card_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    card_shown_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The latest reopening (None: never reopened) and the latest agent reply reaching the
    # customer: after a reopening the customer waits for an answer again.
    reopened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The queue it joined when opened: its place among unassigned tickets, the agents on duty.
    queue_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agents_on_duty: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The team that has it (None only for tickets made outside the bot, read as the default
    # team), since when (None: since it opened), and that team's first answer: a ticket passed
    # to another team waits for that team again.
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True, index=True
    )
    team_joined_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    team_first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_TICKET_STATUSES

    @property
    def waiting_since(self) -> datetime:
        """When the current round began: the opening, the latest reopening, or the moment it
        reached its team."""
        return max(
            moment
            for moment in (self.created_at, self.reopened_at, self.team_joined_at)
            if moment is not None
        )

    @property
    def awaits_response(self) -> bool:
        """No agent has answered the customer since the current round began."""
        return self.responded_at is None or any(
            since is not None and self.responded_at < since
            for since in (self.reopened_at, self.team_joined_at)
        )


class Agent(Base):
    """A member of the agents' group, known from the first time they act on a ticket."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None for an agent who works only through the admin API.
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The team whose group they last acted in: a member of it, counted on its duty.
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True
    )

    @property
    def mention(self) -> str:
        return f"@{self.username}" if self.username else self.name


class TicketEvent(Base):
    """The audit trail: who did what to a ticket, and internal notes (never sent to the customer)."""

    __tablename__ = "ticket_events"
    # An SLA warning or breach is recorded once per ticket, kind, stage and round, whichever
    # replica raises it first (other events have no key: NULLs never collide).
    __table_args__ = (Index("uq_ticket_events_alert", "ticket_id", "alert_key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(16))  # agent, customer, bot
    action: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    alert_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CannedReply(Base):
    """A stored reply an agent sends with ``/reply <name>``; ``{name}`` is the customer's name.
    One team's own (``team_id``), or shared by every team (None)."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class RoutingRule(Base):
    """When a handed-off conversation matches every given condition, set priority, add tags and,
    if it names one, send the ticket to a team.

    Conditions: any of ``keywords`` in the customer's messages, the ticket's ``language``,
    ``tag`` among the tags of the FAQ entries the bot considered, or (``returning_days``) a
    customer whose earlier ticket the rule's team resolved within that many days. Empty
    conditions match all.
    """

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    tag: Mapped[str | None] = mapped_column(String(64), nullable=True)
    priority: Mapped[str | None] = mapped_column(String(16), nullable=True)
    add_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True
    )
    returning_days: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SupportSetting(Base):
    """A setting a lead changes over the admin API (business hours, SLA targets), as JSON."""

    __tablename__ = "support_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
