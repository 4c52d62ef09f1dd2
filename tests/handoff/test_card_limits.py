"""The agents' view within Telegram's limits: the context card and the topic's name.

Property tests over long, emoji, right-to-left, zero-width and ``<&>`` content, checked with the
fake Bot API's copy of Telegram's own rules (HTML that parses, at most 4,096 UTF-16 units).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handoff.desk.card import TOPIC_TITLE_LIMIT, CardContext, render_card, topic_title
from handoff.models import (
    Agent,
    ConversationMessage,
    Customer,
    Direction,
    Priority,
    Ticket,
    TicketStatus,
)
from tests.support.telegram_html import telegram_text_problem

START = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)

# What breaks naive cutting and escaping: astral emoji (two UTF-16 units each), a ZWJ sequence,
# flags, Arabic and Hebrew with direction marks, zero-width characters and HTML's specials.
AWKWARD = [
    "😀",
    "🧑‍💼",
    "👩‍👩‍👧‍👦",
    "🇺🇦",
    "مرحبا بكم",
    "שלום עולם",
    "\u200f",
    "\u200e",
    "\u200b",
    "\u200d",
    "\ufeff",
    "<",
    ">",
    "&",
    "&amp;",
    "<b>",
    "</i>",
    "&#128512;",
    '"',
    "'",
    " ",
    "\n",
    "\t",
    "𝕏",
]
texts = st.lists(
    st.one_of(st.sampled_from(AWKWARD), st.text(min_size=1, max_size=40)), max_size=400
).map("".join)
names = st.lists(st.one_of(st.sampled_from(AWKWARD), st.text(max_size=8)), max_size=40).map("".join)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _customer(first_name: str = "Olena", last_name: str | None = "Petrenko") -> Customer:
    return Customer(
        id=1,
        telegram_user_id=7_000_000_001,
        chat_id=7_000_000_001,
        first_name=first_name,
        last_name=last_name,
        username="olena_p",
        language="uk",
    )


def _ticket(
    subject: str, *, status: str = TicketStatus.NEW, decision: dict | None = None
) -> Ticket:
    return Ticket(
        id=42,
        customer_id=1,
        status=status,
        priority=Priority.URGENT,
        reason="low_confidence",
        language="uk",
        subject=subject,
        tags=["billing", "vip"],
        decision=decision,
    )


def _message(n: int, text: str | None, direction: str = Direction.INBOUND) -> ConversationMessage:
    return ConversationMessage(
        id=n,
        customer_id=1,
        direction=direction,
        kind="text" if text is not None else "photo",
        text=text,
        created_at=START + timedelta(minutes=n),
    )


def _context(messages: list[ConversationMessage], customer: Customer | None = None) -> CardContext:
    owner = Agent(id=3, name="Petr <the> & co", username=None)
    return CardContext(customer=customer or _customer(), owner=owner, past=[], messages=messages)


def _decision(question: str) -> dict:
    candidates = [
        {"faq_key": f"key_{n}_" + "x" * 90, "question": question, "score": 0.5} for n in range(8)
    ]
    return {"decision": "handoff", "candidates": candidates}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first_name=names,
    last_name=st.none() | names,
    subject=texts,
    messages=st.lists(st.tuples(st.none() | texts, st.booleans()), max_size=14),
    question=texts,
)
def test_any_card_is_valid_telegram_html_within_the_limit(
    first_name: str,
    last_name: str | None,
    subject: str,
    messages: list[tuple[str | None, bool]],
    question: str,
) -> None:
    conversation = [
        _message(n, text, Direction.OUTBOUND if outbound else Direction.INBOUND)
        for n, (text, outbound) in enumerate(messages)
    ]
    ticket = _ticket(subject, decision=_decision(question))
    card = render_card(ticket, _context(conversation, _customer(first_name, last_name)))

    assert telegram_text_problem(card, "HTML") is None
    assert "<b>Ticket #42</b>" in card
    assert "Why a person" in card and "1. <code>key_0_" in card


@settings(max_examples=150, deadline=None)
@given(first_name=names, last_name=st.none() | names, subject=texts, urgent=st.booleans())
def test_any_topic_name_fits_and_is_never_empty(
    first_name: str, last_name: str | None, subject: str, urgent: bool
) -> None:
    ticket = _ticket(subject, status=TicketStatus.OPEN)
    ticket.priority = Priority.URGENT if urgent else Priority.NORMAL
    title = topic_title(_customer(first_name, last_name), ticket)

    assert 0 < _units(title) <= TOPIC_TITLE_LIMIT
    assert title.strip()
    assert title.startswith("🟢")
    title.encode("utf-8")  # no half of a surrogate pair


def test_a_long_conversation_keeps_the_newest_messages_and_counts_the_rest() -> None:
    """The measured case: a card of 4,579 characters that Telegram refused."""
    conversation = [_message(n, f"message {n} " + "слово " * 60) for n in range(10)]
    card = render_card(_ticket("где мой заказ " * 100), _context(conversation))

    assert telegram_text_problem(card, "HTML") is None
    assert "message 9 " in card  # the newest is always there
    left_out = [n for n in range(10) if f"message {n} " not in card]
    assert left_out == list(range(len(left_out)))  # oldest first
    assert left_out and f"… {len(left_out)} earlier messages not shown" in card
    assert card.endswith("start with // for an internal note.")


def test_a_short_conversation_is_shown_whole_without_a_note() -> None:
    conversation = [_message(1, "hello"), _message(2, "<b>Hi</b> &amp; welcome", "out")]
    card = render_card(_ticket("where is my order"), _context(conversation))

    assert "👤 09:01 hello" in card
    assert "🤖 09:02 Hi &amp; welcome" in card
    assert "not shown" not in card


def test_the_newest_message_is_cut_to_the_room_left_rather_than_dropped() -> None:
    conversation = [_message(1, "😀" * 3000)]
    card = render_card(_ticket("🙂" * 3000, decision=_decision("❓" * 500)), _context(conversation))

    assert telegram_text_problem(card, "HTML") is None
    assert "👤 09:01 😀" in card and "not shown" not in card


def test_the_worst_case_card_fills_the_limit_and_stays_within_it() -> None:
    """Every part at its cap, all astral emoji and entities: the messages take what is left
    (within 320 units of the limit: less than one more message)."""
    customer = _customer("&" * 64, "😀" * 64)
    customer.username = "u" * 100
    ticket = _ticket("&" * 5000, decision=_decision("&" * 500))
    ticket.tags = ["<tag>"] * 100
    conversation = [_message(n, "😀&" * 2000) for n in range(30)]
    card = render_card(ticket, _context(conversation, customer))

    assert telegram_text_problem(card, "HTML") is None
    assert telegram_text_problem(card + "x" * 320, "HTML") == "message is too long"


def test_a_name_of_only_spaces_still_names_the_topic() -> None:
    title = topic_title(_customer("   ", None), _ticket("  \n "))
    assert title == "🆕🔥 ?"


def test_a_topic_name_is_cut_by_utf16_units_not_by_characters() -> None:
    title = topic_title(_customer("😀" * 100, None), _ticket("subject"))

    assert _units(title) <= TOPIC_TITLE_LIMIT
    assert len(title) < TOPIC_TITLE_LIMIT  # by Python's count it would have had room to spare
    assert title.endswith("😀…")
