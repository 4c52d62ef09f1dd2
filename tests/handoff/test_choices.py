"""Customers' choices as proposed phrasings, on a real database (SQLite, and PostgreSQL where it
runs): one customer never publishes anything; distinct customers agreeing on close wordings do,
when auto-acceptance is on; a withdrawn choice does not count."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import transaction
from core.settings import Settings
from handoff.conversations import CustomerProfile, register_customer
from handoff.insights import choices, proposals
from knowledge_base.formats import FaqEntryData
from knowledge_base.models import FaqEntry
from knowledge_base.repository import get_entry, import_entries
from tests.support.fakes import KeywordEmbedder

Sessions = async_sessionmaker[AsyncSession]
EMBEDDER = KeywordEmbedder(["деньг", "дважды", "два", "списал", "погода"])


async def embed(texts: Sequence[str]) -> np.ndarray:
    vectors = EMBEDDER.encode(list(texts))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


async def _entry(session: AsyncSession) -> FaqEntry:
    data = FaqEntryData.model_validate(
        {"key": "double-charge", "question": "Деньги списали дважды", "answer": "Вернём."}
    )
    await import_entries(session, [data], author="editor")
    entry = await get_entry(session, key="double-charge")
    assert entry is not None
    return entry


async def _pick(sessions: Sessions, user_id: int, question: str, needed: int) -> list[int]:
    """Customer ``user_id`` picks the entry for ``question``; what auto-acceptance accepted."""
    async with transaction(sessions) as session:
        customer = await register_customer(session, CustomerProfile(user_id, user_id, "C"))
        entry = await get_entry(session, key="double-charge") or await _entry(session)
        await choices.record_choice(
            session, customer_id=customer.id, entry=entry, question=question, language="ru"
        )
        return await choices.accept_if_agreed(
            session, entry=entry, text=question, customers_needed=needed, embed=embed
        )


async def _phrasings(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        entry = await get_entry(session, key="double-charge")
        assert entry is not None
        return list(entry.alt_questions)


async def test_one_customers_picks_never_publish_however_many(sessions: Sessions) -> None:
    for question in ("списали два раза деньги", "списали два раза деньги!!", "деньги списали два"):
        assert await _pick(sessions, 1, question, needed=2) == []
    assert await _phrasings(sessions) == []
    async with sessions() as session:
        pending = await proposals.pending_phrasing_proposals(session)
    assert {(p.source, p.language) for p in pending} == {("customer choice", "ru")}
    assert len(pending) == 3


async def test_distinct_customers_with_close_wordings_publish_them(sessions: Sessions) -> None:
    assert await _pick(sessions, 1, "списали два раза деньги", needed=2) == []
    assert await _pick(sessions, 2, "погода", needed=2) == []  # another customer, far wording
    assert await _pick(sessions, 3, "деньги списали два раза", needed=2) != []
    assert sorted(await _phrasings(sessions)) == [
        "деньги списали два раза",
        "списали два раза деньги",
    ]
    async with sessions() as session:
        pending = await proposals.pending_phrasing_proposals(session)
    assert [p.text for p in pending] == ["погода"]


async def test_a_withdrawn_choice_does_not_count(sessions: Sessions) -> None:
    assert await _pick(sessions, 1, "списали два раза деньги", needed=2) == []
    async with transaction(sessions) as session:
        customer = await register_customer(session, CustomerProfile(1, 1, "C"))
        entry = await get_entry(session, key="double-charge")
        assert entry is not None
        assert await choices.withdraw_choice(session, customer_id=customer.id, entry_id=entry.id)
    async with sessions() as session:
        assert await proposals.pending_phrasing_proposals(session) == []
    assert await _pick(sessions, 2, "деньги списали два раза", needed=2) == []
    assert await _phrasings(sessions) == []


def test_auto_acceptance_by_one_customer_is_refused() -> None:
    with pytest.raises(ValidationError, match="never publish alone"):
        Settings(learning_auto_accept_after=1)
    assert Settings().learning_auto_accept_after == 0
