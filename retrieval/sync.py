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


def _apply_changes(
    engine: AnswerEngine, upserts: Sequence[IndexedEntry], removals: Sequence[int]
) -> None:
    engine.apply(upserts, removals)
    engine.persist()


async def refresh_index(decisions: DecisionService, entries: Sequence[FaqEntry]) -> None:
    """Bring the index in line with these entries: live ones in, drafts and deleted ones out.

    Runs in the engine's thread between decisions, so the next question already sees the edit;
    all the entries' phrasings are embedded in one batch, so an import holds up customers'
    decisions as briefly as it can.
    """
    upserts = [indexed_entry(entry) for entry in entries if entry.is_live]
    removals = [entry.id for entry in entries if not entry.is_live]
    if upserts or removals:
        await decisions.run(partial(_apply_changes, upserts=upserts, removals=removals))


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
