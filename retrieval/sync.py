"""Keeping the answer engine in step with the knowledge base in the database."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import transaction
from knowledge_base.formats import FaqEntryData
from knowledge_base.models import FaqEntry
from knowledge_base.repository import ImportReport, get_entry, import_entries, list_entries
from retrieval.engine import AnswerEngine, IndexedEntry
from retrieval.service import DecisionService

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


def _apply_changes(engine: AnswerEngine, changes: Sequence[IndexedEntry | int]) -> None:
    for change in changes:
        if isinstance(change, IndexedEntry):
            engine.upsert(change)
        else:
            engine.remove(change)
    engine.persist()


async def refresh_index(decisions: DecisionService, entries: Sequence[FaqEntry]) -> None:
    """Bring the index in line with these entries: live ones in, drafts and deleted ones out.

    Runs in the engine's thread between decisions, so the next question already sees the edit.
    """
    changes = [indexed_entry(entry) if entry.is_live else entry.id for entry in entries]
    if changes:
        await decisions.run(partial(_apply_changes, changes=changes))


async def import_and_index(
    sessions: async_sessionmaker[AsyncSession],
    decisions: DecisionService,
    entries: list[FaqEntryData],
    *,
    author: str,
) -> ImportReport:
    """Import entries in one transaction, then bring the index up to date entry by entry."""
    async with transaction(sessions) as session:
        report = await import_entries(session, entries, author=author)
    async with sessions() as session:
        changed = [await get_entry(session, key=key) for key in report.changed_keys]
    await refresh_index(decisions, [entry for entry in changed if entry is not None])
    logger.info(
        "imported FAQ: %d created, %d updated, %d unchanged",
        len(report.created),
        len(report.updated),
        len(report.unchanged),
    )
    return report
