"""Phrasings proposed for an entry — by agents (``/faq <key>`` on a ticket) and by customers'
choices from "did you mean…" (handoff.insights.choices): listed for editors, who accept (the
entry gains them, a new version) or reject them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.insights.clustering import wording
from knowledge_base.models import FaqEntry, PhrasingProposal, ProposalStatus
from knowledge_base.repository import change_entry, entry_data

# What an entry holds (knowledge_base.formats.FaqEntryData): longer words are cut, more dropped.
MAX_PHRASING = 1000
MAX_PHRASINGS = 500


class PendingPhrasing(BaseModel):
    """A customer's wording proposed as a phrasing of an entry (by an agent's answer or by the
    customer's own choice)."""

    proposal_id: int
    text: str
    source: str  # "ticket:12" (an agent's /faq), "customer choice" (picked from "did you mean…")
    language: str | None  # the customer's
    proposed_at: datetime
    faq_key: str
    entry_question: str


class PhrasingDecision(BaseModel):
    """What deciding on a proposal changed; re-index ``faq_key`` when ``entry_changed``."""

    proposal_id: int
    status: ProposalStatus
    faq_key: str
    entry_version: int
    entry_changed: bool


class UnknownProposal(LookupError):
    """No phrasing proposal has this id."""


class ProposalConflict(ValueError):
    """The proposal was accepted or rejected before, or its entry is deleted."""


async def pending_phrasing_proposals(session: AsyncSession) -> list[PendingPhrasing]:
    """Proposals no editor has decided on yet, oldest first, with the entry they would extend."""
    rows = await session.execute(
        select(PhrasingProposal, FaqEntry.key, FaqEntry.question)
        .join(FaqEntry, FaqEntry.id == PhrasingProposal.entry_id)
        .where(PhrasingProposal.status == ProposalStatus.PROPOSED, FaqEntry.deleted_at.is_(None))
        .order_by(PhrasingProposal.created_at, PhrasingProposal.id)
    )
    return [
        PendingPhrasing(
            proposal_id=proposal.id,
            text=proposal.text,
            source=proposal.source,
            language=proposal.language,
            proposed_at=proposal.created_at,
            faq_key=key,
            entry_question=question,
        )
        for proposal, key, question in rows
    ]


async def decide_phrasing_proposal(
    session: AsyncSession, proposal_id: int, *, accept: bool, author: str
) -> PhrasingDecision:
    """Accept (the text becomes an alternative phrasing: a new version of the entry) or reject."""
    proposal = await session.get(PhrasingProposal, proposal_id)
    if proposal is None:
        raise UnknownProposal(f"no phrasing proposal {proposal_id}")
    if proposal.status != ProposalStatus.PROPOSED:
        raise ProposalConflict(f"phrasing proposal {proposal_id} is already {proposal.status}")
    entry = await session.get(FaqEntry, proposal.entry_id)
    assert entry is not None  # the proposal's foreign key cascades on delete
    if accept and entry.deleted_at is not None:
        raise ProposalConflict(f"entry '{entry.key}' is deleted: restore it first")
    changed = accept and await add_phrasings(session, entry, [proposal.text], author=author)
    proposal.status = ProposalStatus.ACCEPTED if accept else ProposalStatus.REJECTED
    await session.flush()
    return PhrasingDecision(
        proposal_id=proposal.id,
        status=ProposalStatus(proposal.status),
        faq_key=entry.key,
        entry_version=entry.version,
        entry_changed=changed,
    )


async def add_phrasings(
    session: AsyncSession, entry: FaqEntry, texts: Sequence[str], *, author: str
) -> bool:
    """Add customers' wordings to the entry's phrasings as one new version; False when it has
    them all already (an editor added them meanwhile)."""
    known = {wording(phrasing) for phrasing in entry.every_phrasing}  # translations too
    room = MAX_PHRASINGS - len(entry.alt_questions)
    new = [text for text in dict.fromkeys(map(as_phrasing, texts)) if wording(text) not in known][
        : max(room, 0)
    ]
    if not new:
        return False
    data = entry_data(entry)
    extended = data.model_copy(update={"alt_questions": [*data.alt_questions, *new]})
    return await change_entry(
        session, entry, extended, author=author, expected_version=None, change="phrasings added"
    )


def as_phrasing(text: str) -> str:
    """A customer's words cut to what an entry's phrasing may hold."""
    return text[:MAX_PHRASING]
