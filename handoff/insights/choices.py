"""Learning from customers' choices: an entry a customer picked from "did you mean…" proposes
their question as a phrasing of it (source "customer choice", in their language), in the same
queue as agents' ``/faq`` proposals; their 👎 or "not that" on the answer withdraws it.

Guarded against poisoning: an editor accepts a proposal, or, when a team turns it on
(``LEARNING_AUTO_ACCEPT_AFTER``, at least 2), enough *distinct* customers picked the same entry
for close wordings: one customer's picks, however many, never publish anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Select, SQLColumnExpression, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import utcnow
from handoff.insights.clustering import DEFAULT_THRESHOLD, wording
from handoff.insights.proposals import add_phrasings, as_phrasing
from handoff.models import ConversationMessage, CustomerChoice, Direction, MessageKind
from knowledge_base.models import FaqEntry, PhrasingProposal, ProposalStatus
from knowledge_base.repository import propose_phrasing

CUSTOMER_CHOICE = "customer choice"
AUTO_ACCEPT_AUTHOR = "customers' choices"
# Wordings at least this alike (cosine) count as the same question, as knowledge gaps group them.
CLOSE_WORDINGS = DEFAULT_THRESHOLD

Embed = Callable[[Sequence[str]], Awaitable[np.ndarray]]  # unit vectors, one a text


@dataclass(frozen=True)
class Choice:
    """A choice recorded: the proposal it stands for (None when the entry has that wording)."""

    choice_id: int | None
    proposal_id: int | None


def text_before(
    customer_id: int | SQLColumnExpression[int], message_id: int | SQLColumnExpression[int]
) -> Select[str | None]:
    """The customer's last text message before the bot's ``message_id``: the question an offer
    or an answer was for (values, or columns for a correlated subquery)."""
    return (
        select(ConversationMessage.text)
        .where(
            ConversationMessage.customer_id == customer_id,
            ConversationMessage.direction == Direction.INBOUND,
            ConversationMessage.kind == MessageKind.TEXT,
            ConversationMessage.id < message_id,
        )
        .order_by(ConversationMessage.id.desc())
        .limit(1)
    )


async def question_before(session: AsyncSession, customer_id: int, offer_id: int) -> str | None:
    """The question the bot's offer of options was for."""
    return await session.scalar(text_before(customer_id, offer_id))


async def record_choice(
    session: AsyncSession, *, customer_id: int, entry: FaqEntry, question: str, language: str | None
) -> Choice:
    """The customer picked ``entry`` for ``question``: propose the question as its phrasing (or
    stand behind the proposal made before, bringing back a withdrawn one)."""
    text = " ".join(as_phrasing(question).split())
    proposal = await session.scalar(
        select(PhrasingProposal).where(
            PhrasingProposal.entry_id == entry.id, PhrasingProposal.text == text
        )
    )
    if proposal is None:
        proposal = await propose_phrasing(
            session, entry, text, source=CUSTOMER_CHOICE, language=language
        )
    elif proposal.status == ProposalStatus.WITHDRAWN:
        proposal.status = ProposalStatus.PROPOSED
    if proposal is None or proposal.status != ProposalStatus.PROPOSED:
        return Choice(None, None)  # the entry has the wording, or an editor decided already
    choice = CustomerChoice(
        customer_id=customer_id,
        entry_id=entry.id,
        proposal_id=proposal.id,
        text=text,
        language=language,
    )
    session.add(choice)
    await session.flush()
    return Choice(choice.id, proposal.id)


async def withdraw_choice(session: AsyncSession, *, customer_id: int, entry_id: int) -> bool:
    """The customer's 👎 or "not that" on the entry they picked: their latest standing choice of
    it no longer counts, and its proposal leaves the queue when nobody else stands behind it."""
    choice = await session.scalar(
        select(CustomerChoice)
        .where(
            CustomerChoice.customer_id == customer_id,
            CustomerChoice.entry_id == entry_id,
            CustomerChoice.withdrawn_at.is_(None),
        )
        .order_by(CustomerChoice.id.desc())
        .limit(1)
    )
    if choice is None:
        return False
    choice.withdrawn_at = utcnow()
    await session.flush()
    others = await session.scalar(
        select(CustomerChoice.id).where(
            CustomerChoice.proposal_id == choice.proposal_id, CustomerChoice.withdrawn_at.is_(None)
        )
    )
    proposal = await session.get(PhrasingProposal, choice.proposal_id)
    if others is None and proposal is not None and proposal.status == ProposalStatus.PROPOSED:
        proposal.status = ProposalStatus.WITHDRAWN
    return True


async def accept_if_agreed(
    session: AsyncSession, *, entry: FaqEntry, text: str, customers_needed: int, embed: Embed
) -> list[int]:
    """When ``customers_needed`` distinct customers (at least 2) stand behind wordings close to
    ``text`` for this entry, their pending proposals become the entry's phrasings (one new
    version); the ids accepted, none otherwise."""
    if customers_needed < 2:
        raise ValueError("one customer's choices never publish anything: ask for at least 2")
    rows = (
        await session.execute(
            select(CustomerChoice, PhrasingProposal)
            .join(PhrasingProposal, PhrasingProposal.id == CustomerChoice.proposal_id)
            .where(
                CustomerChoice.entry_id == entry.id,
                CustomerChoice.withdrawn_at.is_(None),
                PhrasingProposal.status == ProposalStatus.PROPOSED,
            )
        )
    ).all()
    if len({choice.customer_id for choice, _ in rows}) < customers_needed:
        return []
    vectors = await embed([text, *(choice.text for choice, _ in rows)])
    close = [
        row
        for row, cosine in zip(rows, vectors[1:] @ vectors[0], strict=True)
        if cosine >= CLOSE_WORDINGS or wording(row[0].text) == wording(text)
    ]
    if len({choice.customer_id for choice, _ in close}) < customers_needed:
        return []
    proposals = list({proposal.id: proposal for _, proposal in close}.values())
    await add_phrasings(
        session, entry, [proposal.text for proposal in proposals], author=AUTO_ACCEPT_AUTHOR
    )
    for proposal in proposals:
        proposal.status = ProposalStatus.ACCEPTED
    await session.flush()
    return [proposal.id for proposal in proposals]
