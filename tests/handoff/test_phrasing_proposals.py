"""Editors' decisions on proposed phrasings (SQLite and PostgreSQL): accepted, a phrasing is a new
version of its entry; rejected, the entry stays as it was."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import transaction
from handoff.insights import proposals
from knowledge_base.formats import FaqEntryData
from knowledge_base.models import FaqVersion, ProposalStatus
from knowledge_base.repository import get_entry, import_entries, propose_phrasing

Sessions = async_sessionmaker[AsyncSession]


async def _refund_entry_with_proposal(sessions: Sessions) -> tuple[int, int]:
    data = FaqEntryData.model_validate(
        {"key": "refund", "question": "How do I get a refund?", "answer": "Write to us."}
    )
    async with transaction(sessions) as session:
        await import_entries(session, [data], author="editor")
        entry = await get_entry(session, key="refund")
        assert entry is not None
        proposal = await propose_phrasing(session, entry, "money back pls", source="ticket:7")
        assert proposal is not None
        return entry.id, proposal.id


async def test_accepting_a_proposal_adds_the_phrasing_as_a_new_version(
    sessions: Sessions,
) -> None:
    entry_id, proposal_id = await _refund_entry_with_proposal(sessions)
    async with sessions() as session:
        pending = await proposals.pending_phrasing_proposals(session)
    async with transaction(sessions) as session:
        decision = await proposals.decide_phrasing_proposal(
            session, proposal_id, accept=True, author="Eve"
        )

    assert [(p.proposal_id, p.text, p.faq_key, p.entry_question) for p in pending] == [
        (proposal_id, "money back pls", "refund", "How do I get a refund?")
    ]
    assert decision == proposals.PhrasingDecision(
        proposal_id=proposal_id,
        status=ProposalStatus.ACCEPTED,
        faq_key="refund",
        entry_version=2,
        entry_changed=True,
    )
    async with sessions() as session:
        entry = await get_entry(session, key="refund")
        assert entry is not None
        assert entry.alt_questions == ["money back pls"]
        versions = await session.scalars(
            select(FaqVersion.author).where(FaqVersion.entry_id == entry_id).order_by(FaqVersion.id)
        )
        assert versions.all() == ["editor", "Eve"]
        assert await proposals.pending_phrasing_proposals(session) == []


async def test_rejecting_a_proposal_leaves_the_entry_as_it_was(sessions: Sessions) -> None:
    _, proposal_id = await _refund_entry_with_proposal(sessions)
    async with transaction(sessions) as session:
        decision = await proposals.decide_phrasing_proposal(
            session, proposal_id, accept=False, author="Eve"
        )

    assert (decision.status, decision.entry_version, decision.entry_changed) == (
        ProposalStatus.REJECTED,
        1,
        False,
    )
    async with sessions() as session:
        entry = await get_entry(session, key="refund")
        assert entry is not None and (entry.alt_questions, entry.version) == ([], 1)
        with pytest.raises(proposals.ProposalConflict):
            await proposals.decide_phrasing_proposal(
                session, proposal_id, accept=True, author="Eve"
            )
        with pytest.raises(proposals.UnknownProposal):
            await proposals.decide_phrasing_proposal(
                session, proposal_id + 1, accept=True, author="E"
            )
