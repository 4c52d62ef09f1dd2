"""Keeping the answer engine in step with the knowledge base in the database."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import transaction
from knowledge_base.formats import FaqEntryData
from knowledge_base.models import FaqEntry
from knowledge_base.repository import ImportReport, get_entry, import_entries, list_entries
from retrieval.engine import AnswerEngine, IndexedEntry

logger = logging.getLogger(__name__)


def indexed_entry(entry: FaqEntry) -> IndexedEntry:
    return IndexedEntry(
        id=entry.id,
        key=entry.key,
        question=entry.question,
        answer=entry.answer,
        language=entry.language,
        alt_questions=tuple(entry.alt_questions),
        tags=tuple(entry.tags),
    )


async def published_entries(session: AsyncSession) -> list[IndexedEntry]:
    return [indexed_entry(entry) for entry in await list_entries(session, published_only=True)]


async def import_and_index(
    sessions: async_sessionmaker[AsyncSession],
    engine: AnswerEngine,
    entries: list[FaqEntryData],
    *,
    author: str,
) -> ImportReport:
    """Import entries in one transaction, then bring the index up to date entry by entry."""
    async with transaction(sessions) as session:
        report = await import_entries(session, entries, author=author)
    async with sessions() as session:
        for key in report.changed_keys:
            entry = await get_entry(session, key=key)
            if entry is None:
                continue
            if entry.is_published:
                engine.upsert(indexed_entry(entry))
            else:
                engine.remove(entry.id)
    engine.persist()
    logger.info(
        "imported FAQ: %d created, %d updated, %d unchanged",
        len(report.created),
        len(report.updated),
        len(report.unchanged),
    )
    return report
