"""Customers' questions with what became known of them, for the self-calibration to learn from
(``retrieval.calibration_keeper``'s labelled source).

The right entry: an entry an agent answered a ticket's question with (``/faq``, still a
proposal), an entry a customer picked from "did you mean…" and did not take back, an answer a
customer marked 👍. No right entry among those the bot weighed: an answer marked 👎 or "Not
that", options answered with "None of these" — answering such a question with its nearest entry
is a wrong answer, whether or not another entry would have been right.

One customer cannot sway the thresholds: each counts with at most ``PER_CUSTOMER`` questions of
each kind. Questions that became phrasings are the FAQ itself and leave (their proposal is no
longer pending); so do those of entries no longer live.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handoff.conversations import NONE_OF_THESE
from handoff.insights.choices import text_before
from handoff.models import (
    AnswerVote,
    ConversationMessage,
    CustomerChoice,
    Direction,
    MessageKind,
)
from knowledge_base.models import EntryStatus, FaqEntry, PhrasingProposal, ProposalStatus

AGENT_SOURCE = "ticket:"  # an agent's /faq on a ticket: handoff.desk (bot.agents.handlers)
PER_CUSTOMER = 5
NEWEST = 1000  # of each kind
Key = TypeVar("Key", str, None)


def _live() -> tuple[ColumnElement[bool], ...]:
    return FaqEntry.status == EntryStatus.PUBLISHED, FaqEntry.deleted_at.is_(None)


async def labelled_questions(session: AsyncSession) -> list[tuple[str, str | None]]:
    """(question, the right entry's key, or None: none the bot weighed), those with a right
    entry first, each kind newest first, each question once; where customers disagree on one,
    the right entry it got wins."""
    right = await known_right_entries(session)
    known = {text for text, _ in right}
    rejected = [text for text in await rejected_questions(session) if text not in known]
    return [*right, *((text, None) for text in dict.fromkeys(rejected))]


async def rejected_questions(session: AsyncSession) -> list[str]:
    """Questions a customer said the bot's answer or options did not fit, newest first."""
    voted = text_before(AnswerVote.customer_id, AnswerVote.answer_message_id).scalar_subquery()
    votes = await session.execute(
        select(AnswerVote.customer_id, voted)
        .where(AnswerVote.helpful.is_(False))
        .order_by(AnswerVote.id.desc())
        .limit(NEWEST * PER_CUSTOMER)
    )
    press = aliased(ConversationMessage)  # text_before reads the table itself
    pressed = text_before(press.customer_id, press.id).scalar_subquery()
    nones = await session.execute(
        select(press.customer_id, pressed)
        .where(
            press.direction == Direction.INBOUND,
            press.kind == MessageKind.BUTTON,
            press.text == NONE_OF_THESE,
        )
        .order_by(press.id.desc())
        .limit(NEWEST * PER_CUSTOMER)
    )
    rejected = [
        text
        for rows in (votes, nones)
        for text, _ in _few_per_customer((customer, text, None) for customer, text in rows)
    ]
    return [text for text in rejected if text.strip()]


async def known_right_entries(session: AsyncSession) -> list[tuple[str, str]]:
    """(question, entry key), newest first, each question and entry once."""
    agents = await session.execute(
        select(PhrasingProposal.text, FaqEntry.key)
        .join(FaqEntry, FaqEntry.id == PhrasingProposal.entry_id)
        .where(
            *_live(),
            PhrasingProposal.status == ProposalStatus.PROPOSED,
            PhrasingProposal.source.startswith(AGENT_SOURCE),
        )
        .order_by(PhrasingProposal.id.desc())
        .limit(NEWEST)
    )
    picks = await session.execute(
        select(CustomerChoice.customer_id, CustomerChoice.text, FaqEntry.key)
        .join(PhrasingProposal, PhrasingProposal.id == CustomerChoice.proposal_id)
        .join(FaqEntry, FaqEntry.id == CustomerChoice.entry_id)
        .where(
            *_live(),
            CustomerChoice.withdrawn_at.is_(None),
            PhrasingProposal.status == ProposalStatus.PROPOSED,
        )
        .order_by(CustomerChoice.id.desc())
        .limit(NEWEST * PER_CUSTOMER)
    )
    asked = text_before(AnswerVote.customer_id, AnswerVote.answer_message_id).scalar_subquery()
    confirmed = await session.execute(
        select(AnswerVote.customer_id, asked, FaqEntry.key)
        .join(FaqEntry, FaqEntry.id == AnswerVote.faq_entry_id)
        .where(*_live(), AnswerVote.helpful.is_(True))
        .order_by(AnswerVote.id.desc())
        .limit(NEWEST * PER_CUSTOMER)
    )
    labelled: list[tuple[str, str]] = [(text, key) for text, key in agents.tuples()]
    labelled += _few_per_customer(picks.tuples())
    labelled += _few_per_customer(confirmed.tuples())
    return list(dict.fromkeys((text, key) for text, key in labelled if text and text.strip()))


def _few_per_customer(rows: Iterable[tuple[int, str | None, Key]]) -> list[tuple[str, Key]]:
    counted: Counter[int] = Counter()
    kept: list[tuple[str, Key]] = []
    for customer_id, text, key in rows:
        if text is None or counted[customer_id] >= PER_CUSTOMER or len(kept) >= NEWEST:
            continue
        counted[customer_id] += 1
        kept.append((text, key))
    return kept
