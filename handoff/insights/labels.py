"""Customers' questions whose right entry became known, for the self-calibration to learn from
(``retrieval.calibration_keeper``'s labelled source): an entry an agent answered a ticket's
question with (``/faq``, still a proposal), an entry a customer picked from "did you mean…" and
did not take back, an answer a customer marked 👍.

One customer cannot sway the thresholds: each counts with at most ``PER_CUSTOMER`` questions of
each kind. Questions that became phrasings are the FAQ itself and leave (their proposal is no
longer pending); so do those of entries no longer live.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.insights.choices import text_before
from handoff.models import AnswerVote, CustomerChoice
from knowledge_base.models import EntryStatus, FaqEntry, PhrasingProposal, ProposalStatus

AGENT_SOURCE = "ticket:"  # an agent's /faq on a ticket: handoff.desk (bot.agents.handlers)
PER_CUSTOMER = 5
NEWEST = 1000  # of each kind


def _live() -> tuple[ColumnElement[bool], ...]:
    return FaqEntry.status == EntryStatus.PUBLISHED, FaqEntry.deleted_at.is_(None)


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
    labelled += _few_per_customer(picks)
    labelled += _few_per_customer(confirmed)
    return list(dict.fromkeys((text, key) for text, key in labelled if text and text.strip()))


def _few_per_customer(rows: Iterable[Any]) -> list[tuple[str, str]]:
    counted: Counter[int] = Counter()
    kept: list[tuple[str, str]] = []
    for customer_id, text, key in rows:
        if text is None or counted[customer_id] >= PER_CUSTOMER or len(kept) >= NEWEST:
            continue
        counted[customer_id] += 1
        kept.append((text, key))
    return kept
