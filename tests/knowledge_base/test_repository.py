"""The knowledge base in the database (SQLite and PostgreSQL): upserts, versions, all-or-nothing imports."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import transaction
from knowledge_base.formats import FaqEntryData
from knowledge_base.models import FaqEntry, FaqVersion
from knowledge_base.repository import (
    count_entries,
    entry_data,
    get_entry,
    import_entries,
    list_entries,
)

Sessions = async_sessionmaker[AsyncSession]


def _entry(key: str, answer: str = "Ответ", **extra: object) -> FaqEntryData:
    return FaqEntryData.model_validate(
        {"key": key, "question": f"Вопрос {key}?", "answer": answer, **extra}
    )


async def test_import_creates_then_updates_with_versions(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        first = await import_entries(session, [_entry("a"), _entry("b")], author="alice")
    async with transaction(sessions) as session:
        second = await import_entries(
            session, [_entry("a"), _entry("b", "Новый ответ")], author="bob"
        )
    assert (first.created, second.updated, second.unchanged) == (["a", "b"], ["b"], ["a"])
    async with sessions() as session:
        entry = await get_entry(session, key="b")
        assert entry is not None and entry.version == 2 and entry.answer == "Новый ответ"
        versions = (
            await session.scalars(
                select(FaqVersion)
                .where(FaqVersion.entry_id == entry.id)
                .order_by(FaqVersion.version)
            )
        ).all()
        assert [(v.version, v.author, v.change) for v in versions] == [
            (1, "alice", "created"),
            (2, "bob", "updated"),
        ]
        assert versions[0].snapshot["answer"] == "Ответ"
        assert versions[1].changed_at >= versions[0].changed_at
        assert versions[1].changed_at.tzinfo is not None


async def test_a_failing_import_leaves_nothing_behind(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        await import_entries(session, [_entry("a")], author="alice")
    with pytest.raises(RuntimeError):
        async with transaction(sessions) as session:
            await import_entries(session, [_entry("a", "changed"), _entry("c")], author="bob")
            raise RuntimeError("the file failed half-way")
    async with sessions() as session:
        assert await count_entries(session) == 1
        entry = await get_entry(session, key="a")
        assert entry is not None and entry.answer == "Ответ" and entry.version == 1


async def test_keys_are_unique_in_the_database(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        await import_entries(session, [_entry("a")], author="alice")
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            session.add(
                FaqEntry(
                    key="a", question="q", answer="a", language="ru", alt_questions=[], tags=[]
                )
            )


async def test_drafts_are_kept_but_not_listed_as_published(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        await import_entries(session, [_entry("live"), _entry("wip", status="draft")], author="ed")
    async with sessions() as session:
        assert [e.key for e in await list_entries(session, published_only=True)] == ["live"]
        drafts = [entry_data(e) for e in await list_entries(session) if not e.is_published]
        assert [d.key for d in drafts] == ["wip"]


async def test_unicode_and_markup_survive_the_round_trip(sessions: Sessions) -> None:
    tricky = _entry(
        "tricky", "<b>не жирный</b> & *звёздочки* 😀 '; DROP TABLE faq_entries; --", tags=["💳"]
    )
    async with transaction(sessions) as session:
        await import_entries(session, [tricky], author="ed")
    async with sessions() as session:
        entry = await get_entry(session, key="tricky")
        assert entry is not None and entry_data(entry) == tricky
