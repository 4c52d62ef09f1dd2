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

# Telegram's limits, in UTF-16 code units (an emoji outside the BMP counts twice): a message's
# visible text, after its HTML is parsed, and a forum topic's name.
CARD_LIMIT = 4096
TOPIC_TITLE_LIMIT = 128
CARD_MESSAGES = 10
# Every part of the card but the conversation has a cap, so that together they take at most
# about 3,000 units and the newest messages always get the rest of the card.
CARD_MESSAGE_CHARS = 300
CARD_QUESTION_CHARS = 1000
CARD_NAME_CHARS = 128  # Telegram's first and last names are 64 each
CARD_SHORT_CHARS = 64  # usernames, languages, mentions, FAQ keys
CARD_TAGS_CHARS = 200
CARD_CANDIDATES = 5
CARD_CANDIDATE_CHARS = 120
CARD_FOOTER = "Write here to answer the customer; start with // for an internal note."

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
    "escalate": "Usage: /escalate <team> [reason] — passes the ticket to that team. Teams: {names}",
    "handback": "Usage: /handback [reason] — returns the ticket to the team that passed it on.",
}
NOT_A_TICKET_TOPIC = "This is not a ticket's topic: commands work inside a ticket's topic."
UNKNOWN_COMMAND = (
    "Unknown command. In a ticket's topic: /reply, /faq, /assign, /escalate, /handback, /close;"
    " // starts a note."
)


@dataclass(frozen=True)
class CardContext:
    """Everything the context card shows besides the ticket itself."""

    customer: Customer
    owner: Agent | None
    past: Sequence[Ticket]
    messages: Sequence[ConversationMessage]
    # Where the ticket came from when another team passed it on, and why.
    transfer: str | None = None


def topic_title(customer: Customer, ticket: Ticket, team: str | None = None) -> str:
    """ "🆕 Olena Petrenko · charged twice for May": status (and urgency) first, kept current;
    "🆕 Billing: Olena…" for a small team's ticket in the main group, whose topics all teams see.

    At most 128 UTF-16 units (Telegram's limit) and never empty: the mark always leads.
    """
    mark = STATUS_MARKS[TicketStatus(ticket.status)]
    mark += PRIORITY_MARKS.get(Priority(ticket.priority), "")
    if team:
        mark += f" {_fold(team)}:"
    name = _fold(customer.display_name) or "?"
    subject = _fold(ticket.subject)
    title = f"{mark} {name} · {subject}" if subject else f"{mark} {name}"
    return _clip(title, TOPIC_TITLE_LIMIT)


def render_card(ticket: Ticket, context: CardContext) -> str:
    """The pinned context card: who, what they asked, what the bot tried, the conversation.

    Telegram HTML whose visible text fits one message (:data:`CARD_LIMIT`): the other parts are
    capped, and the conversation takes what is left, newest messages first, saying how many
    earlier ones it leaves out.
    """
    customer = context.customer
    tags = _clip(", ".join(ticket.tags), CARD_TAGS_CHARS) if ticket.tags else ""
    owner = (
        escape(_clip(context.owner.mention, CARD_SHORT_CHARS))
        if context.owner
        else "nobody yet — press Take"
    )
    lines = [
        f"<b>Ticket #{ticket.id}</b> · {_status_name(ticket)} · priority "
        f"{escape(_clip(ticket.priority, CARD_SHORT_CHARS))}"
        + (f" · tags: {escape(tags)}" if tags else ""),
        f"👤 <b>{escape(_clip(customer.display_name, CARD_NAME_CHARS) or '?')}</b>"
        + (f" @{escape(_clip(customer.username, CARD_SHORT_CHARS))}" if customer.username else "")
        + f" · {escape(_clip(customer.language, CARD_SHORT_CHARS))}"
        + f" · Telegram id {customer.telegram_user_id}",
        _past_line(context.past),
        f"Owner: {owner}",
        "",
        "❓ <b>Question</b>",
        escape(_clip(ticket.subject, CARD_QUESTION_CHARS)),
        "",
        "🤖 <b>Why a person</b>: "
        + escape(_clip(REASONS.get(ticket.reason, ticket.reason), CARD_SHORT_CHARS)),
    ]
    if context.transfer:
        lines.append("⤴️ <b>Passed on</b> " + escape(_clip(context.transfer, CARD_QUESTION_CHARS)))
    candidates = ((ticket.decision or {}).get("candidates") or [])[:CARD_CANDIDATES]
    if candidates:
        lines.append("The bot's candidates:")
        lines += [
            f"{n}. <code>{escape(_clip(c['faq_key'], CARD_SHORT_CHARS))}</code> — "
            f"{escape(_clip(c['question'], CARD_CANDIDATE_CHARS))} ({c['score']:.2f})"
            for n, c in enumerate(candidates, 1)
        ]
    tail = ["", CARD_FOOTER]
    if context.messages:
        room = CARD_LIMIT - _visible_length("\n".join([*lines, *tail]))
        lines += ["", *_excerpt(context.messages, room - 1)]
    return "\n".join([*lines, *tail])


def _excerpt(messages: Sequence[ConversationMessage], room: int) -> list[str]:
    """The conversation's newest lines in ``room`` visible units (each line costs its length and a
    line break); the older ones are left out and counted."""
    heading = "💬 <b>Last messages</b>"
    # The note's room is kept from the start, so a line that was shown is never dropped for it.
    room -= _visible_length(heading) + 1 + _visible_length(_left_out(len(messages))) + 1
    lines: list[str] = []
    for message in reversed(messages[-CARD_MESSAGES:]):
        line = _message_line(message)
        if _visible_length(line) + 1 > room:
            cut = _message_line(message, room - 1)
            if cut and not lines:  # the newest message, cut to what is left, rather than none
                lines.append(cut)
            break
        lines.append(line)
        room -= _visible_length(line) + 1
    left_out = len(messages) - len(lines)
    return [heading, *([_left_out(left_out)] if left_out else []), *reversed(lines)]


def transcript(messages: Sequence[ConversationMessage], limit: int = CARD_LIMIT) -> list[str]:
    """The whole conversation for the team a ticket was passed to, as Telegram HTML messages of
    at most ``limit`` visible units each, oldest first (a longer message is cut to fit one)."""
    parts: list[str] = []
    lines = ["📜 <b>The whole conversation</b>"]
    for message in messages:
        line = _message_line(message, limit - 1, room=limit)
        if _visible_length("\n".join([*lines, line])) > limit:
            parts.append("\n".join(lines))
            lines = []
        lines.append(line)
    parts.append("\n".join(lines))
    return parts


def _left_out(count: int) -> str:
    return f"… {count} earlier message{'' if count == 1 else 's'} not shown"


def _status_name(ticket: Ticket) -> str:
    return TicketStatus(ticket.status).value.replace("_", " ")


def _past_line(past: Sequence[Ticket]) -> str:
    if not past:
        return "First ticket of this customer."
    shown = [f"#{t.id} {'★' + str(t.rating) if t.rating else 'not rated'}" for t in past[:5]]
    return f"Earlier tickets: {len(past)} — " + ", ".join(shown)


def _message_line(
    message: ConversationMessage, limit: int | None = None, *, room: int = CARD_MESSAGE_CHARS
) -> str:
    """ "👤 14:02 where is my order", its text cut to ``room`` units and the line to at most
    ``limit`` visible units ("" if that is too few)."""
    who = "👤" if message.direction == Direction.INBOUND else ("🧑‍💼" if message.agent_id else "🤖")
    prefix = f"{who} {message.created_at.strftime('%H:%M')} "
    text = message.text if message.text else f"[{message.kind}]"
    if message.direction == Direction.OUTBOUND:
        text = _strip_tags(text)
    if limit is not None:
        room = min(room, limit - _utf16_length(prefix))
    return prefix + escape(_clip(text, room)) if room > 1 else ""


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


def _visible_length(html: str) -> int:
    """What Telegram counts of a message: its text once tags and entities are parsed."""
    return _utf16_length(_strip_tags(html))


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _fold(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    """Whitespace folded, then at most ``limit`` UTF-16 units, ending "…" when cut.

    Cuts between code points, so never inside a surrogate pair, and never just after a zero-width
    joiner (which would glue the ellipsis onto half an emoji sequence).
    """
    text = _fold(text)
    if _utf16_length(text) <= limit:
        return text
    units = 0
    for end, char in enumerate(text):  # noqa: B007  (where the loop stops is the cut)
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit - 1:  # the ellipsis takes one unit
            break
    return text[:end].rstrip().rstrip("\u200d").rstrip() + "…"


def taken_by(agent: Agent, ticket: Ticket) -> str:
    return f"🙋 {escape(agent.mention)} took ticket #{ticket.id}."


def owned_by(owner: str | None) -> str:
    """ "Ticket is @olga's." from the owner's mention."""
    return f"Ticket is {escape(owner)}'s." if owner else "Ticket is closed."
