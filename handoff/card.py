"""What agents read in their forum group: topic titles, the ticket's context card, notices.

The agents' side is in English (one place for all of it); customers' words are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

from handoff.models import (
    Agent,
    ConversationMessage,
    Customer,
    Direction,
    Priority,
    Ticket,
    TicketStatus,
)

TOPIC_TITLE_LIMIT = 128  # Telegram's limit for a forum topic's name
CARD_MESSAGES = 10
CARD_MESSAGE_CHARS = 300
CARD_QUESTION_CHARS = 1000

STATUS_MARKS = {
    TicketStatus.NEW: "🆕",
    TicketStatus.OPEN: "🟢",
    TicketStatus.WAITING: "⏳",
    TicketStatus.RESOLVED: "✅",
    TicketStatus.CLOSED: "✅",
}
PRIORITY_MARKS = {Priority.URGENT: "🔥", Priority.HIGH: "❗"}
REASONS = {
    "customer_request": "the customer asked for a person",
    "repeated_failure": "the bot's answers did not help",
    "low_confidence": "no FAQ entry fits well enough",
    "ambiguous": "several entries fit equally",
    "unsure": "the bot was not sure",
}

USAGE = {
    "reply": "Usage: /reply <template> — sends a stored reply. Templates: {names}",
    "faq": "Usage: /faq <key> — sends that FAQ answer and links the ticket to it.",
    "assign": "Usage: /assign @username — hands your ticket to a colleague.",
}
NOT_A_TICKET_TOPIC = "This is not a ticket's topic: commands work inside a ticket's topic."
UNKNOWN_COMMAND = "Unknown command. In a ticket's topic: /reply, /faq, /assign; // starts a note."


@dataclass(frozen=True)
class CardContext:
    """Everything the context card shows besides the ticket itself."""

    customer: Customer
    owner: Agent | None
    past: Sequence[Ticket]
    messages: Sequence[ConversationMessage]


def topic_title(customer: Customer, ticket: Ticket) -> str:
    """ "🆕 Olena Petrenko · charged twice for May": status (and urgency) first, kept current."""
    mark = STATUS_MARKS[TicketStatus(ticket.status)]
    mark += PRIORITY_MARKS.get(Priority(ticket.priority), "")
    subject = " ".join(ticket.subject.split())
    title = (
        f"{mark} {customer.display_name} · {subject}"
        if subject
        else f"{mark} {customer.display_name}"
    )
    if len(title) > TOPIC_TITLE_LIMIT:
        title = title[: TOPIC_TITLE_LIMIT - 1].rstrip() + "…"
    return title


def render_card(ticket: Ticket, context: CardContext) -> str:
    """The pinned context card: who, what they asked, what the bot tried, the conversation."""
    customer = context.customer
    lines = [
        f"<b>Ticket #{ticket.id}</b> · {_status_name(ticket)} · priority {ticket.priority}"
        + (f" · tags: {escape(', '.join(ticket.tags))}" if ticket.tags else ""),
        f"👤 <b>{escape(customer.display_name)}</b>"
        + (f" @{escape(customer.username)}" if customer.username else "")
        + f" · {customer.language} · Telegram id {customer.telegram_user_id}",
        _past_line(context.past),
        f"Owner: {escape(context.owner.mention) if context.owner else 'nobody yet — press Take'}",
        "",
        "❓ <b>Question</b>",
        escape(_clip(ticket.subject, CARD_QUESTION_CHARS)),
        "",
        f"🤖 <b>Why a person</b>: {REASONS.get(ticket.reason, ticket.reason)}",
    ]
    candidates = (ticket.decision or {}).get("candidates") or []
    if candidates:
        lines.append("The bot's candidates:")
        lines += [
            f"{n}. <code>{escape(c['faq_key'])}</code> — {escape(_clip(c['question'], 120))} "
            f"({c['score']:.2f})"
            for n, c in enumerate(candidates, 1)
        ]
    if context.messages:
        lines += ["", "💬 <b>Last messages</b>"]
        lines += [_message_line(message) for message in context.messages[-CARD_MESSAGES:]]
    lines += ["", "Write here to answer the customer; start with // for an internal note."]
    return "\n".join(lines)


def _status_name(ticket: Ticket) -> str:
    return TicketStatus(ticket.status).value.replace("_", " ")


def _past_line(past: Sequence[Ticket]) -> str:
    if not past:
        return "First ticket of this customer."
    shown = [f"#{t.id} {'★' + str(t.rating) if t.rating else 'not rated'}" for t in past[:5]]
    return f"Earlier tickets: {len(past)} — " + ", ".join(shown)


def _message_line(message: ConversationMessage) -> str:
    who = "👤" if message.direction == Direction.INBOUND else ("🧑‍💼" if message.agent_id else "🤖")
    time = message.created_at.strftime("%H:%M")
    text = message.text if message.text else f"[{message.kind}]"
    if message.direction == Direction.OUTBOUND:
        text = _strip_tags(text)
    return f"{who} {time} {escape(_clip(text, CARD_MESSAGE_CHARS))}"


class _Words(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []

    def handle_data(self, data: str) -> None:
        self.words.append(data)


def _strip_tags(html: str) -> str:
    """The bot's own replies are stored as Telegram HTML: show their words only."""
    parser = _Words()
    parser.feed(html)
    parser.close()
    return "".join(parser.words)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def taken_by(agent: Agent, ticket: Ticket) -> str:
    return f"🙋 {escape(agent.mention)} took ticket #{ticket.id}."


def owned_by(owner: Agent | None) -> str:
    return f"Ticket is {escape(owner.mention)}'s." if owner else "Ticket is closed."
