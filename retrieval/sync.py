"""Keeping the answer engine in step with the knowledge base in the database, whichever process
(this one, another replica, ``firstline kb import``) changes it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import transaction
from knowledge_base.content import FaqEntryData
from knowledge_base.models import FaqEntry
from knowledge_base.repository import ImportReport, get_entry, import_entries
from retrieval.engine import AnswerEngine
from retrieval.entries import IndexedEntry
from retrieval.service import DecisionService

logger = logging.getLogger(__name__)


def indexed_entry(entry: FaqEntry) -> IndexedEntry:
    """The entry as the engine keeps it: every translation's phrasings point to it too."""
    return IndexedEntry(
        id=entry.id,
        key=entry.key,
        question=entry.question,
        answer=entry.answer,
        language=entry.language,
        alt_questions=tuple(dict.fromkeys(entry.every_phrasing[1:])),
        tags=tuple(entry.tags),
        translations={
            language: (translation["question"], translation["answer"])
            for language, translation in entry.translations.items()
        },
    )


@dataclass(frozen=True)
class KnowledgeStamp:
    """Moves whenever any entry is created, edited, published, unpublished, deleted or restored.

    Each of those moves the entry to its next version (knowledge_base.repository), so the sum of
    versions grows with every committed change; the count and the newest id catch an entry that
    disappears. Compared for equality only: neither clocks nor commit order matter.
    """

    entries: int
    versions: int
    newest_id: int


async def knowledge_stamp(session: AsyncSession) -> KnowledgeStamp:
    """One aggregate over the entries (one small row each): cheap enough to ask every second."""
    row = (
        await session.execute(
            select(
                func.count(FaqEntry.id),
                func.coalesce(func.sum(FaqEntry.version), 0),
                func.coalesce(func.max(FaqEntry.id), 0),
            )
        )
    ).one()
    return KnowledgeStamp(int(row[0]), int(row[1]), int(row[2]))


def _apply_changes(
    engine: AnswerEngine, upserts: Sequence[IndexedEntry], removals: Sequence[int]
) -> None:
    engine.apply(upserts, removals)
    engine.persist()


class IndexFollower:
    """Keeps this process's index in step with the knowledge base, whoever changes it: this
    process, another replica's API, or ``firstline kb import``.

    Every ``interval`` seconds (a background task, off the decisions' path) it reads the
    knowledge base's stamp; when the stamp moved, it compares entry versions with the ones it
    indexed, re-embeds only the entries that changed and drops those no longer live. This
    process's own edits come through :meth:`sync` as well (``refresh_index``), so the index
    changes one sync at a time and never goes back to an older version of an entry.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        decisions: DecisionService,
        *,
        interval: float = 1.0,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"the follower's interval is a positive number of seconds: {interval}")
        self.interval = interval
        self._sessions = sessions
        self._decisions = decisions
        self._lock = asyncio.Lock()
        self._stamp: KnowledgeStamp | None = None
        # Entry id -> (the version the index reflects, whether it is in the index).
        self._indexed: dict[int, tuple[int, bool]] = {}
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def open(self, directory: Path) -> None:
        """Open the persisted index (rebuilt if it does not fit the knowledge base as it is now)
        and follow the knowledge base from here on."""
        async with self._sessions() as session:
            # The stamp first: a change committed between the two reads moves it, and is
            # picked up by the first sync.
            stamp = await knowledge_stamp(session)
            entries = list(await session.scalars(select(FaqEntry).order_by(FaqEntry.id)))
        self._decisions.engine.open(
            directory, [indexed_entry(entry) for entry in entries if entry.is_live]
        )
        self._indexed = {entry.id: (entry.version, entry.is_live) for entry in entries}
        self._stamp = stamp
        self._decisions.follow(self)
        self._task = asyncio.create_task(self._follow(), name="index-follower")

    async def sync(self) -> None:
        """Apply every committed change the index does not have yet, now."""
        async with self._lock:
            async with self._sessions() as session:
                stamp = await knowledge_stamp(session)
                if stamp == self._stamp:
                    return
                versions = dict(
                    (await session.execute(select(FaqEntry.id, FaqEntry.version))).tuples().all()
                )
                changed = [
                    entry_id
                    for entry_id, version in versions.items()
                    if self._indexed.get(entry_id, (None, False))[0] != version
                ]
                entries = (
                    list(await session.scalars(select(FaqEntry).where(FaqEntry.id.in_(changed))))
                    if changed
                    else []
                )
            gone = [entry_id for entry_id in self._indexed if entry_id not in versions]
            upserts = [indexed_entry(entry) for entry in entries if entry.is_live]
            removals = [
                entry_id
                for entry_id in [*(entry.id for entry in entries if not entry.is_live), *gone]
                if self._indexed.get(entry_id, (0, False))[1]
            ]
            if upserts or removals:
                await self._decisions.run(
                    partial(_apply_changes, upserts=upserts, removals=removals)
                )
                logger.info(
                    "the index follows the knowledge base: %d entries in, %d out",
                    len(upserts),
                    len(removals),
                )
            for entry in entries:
                self._indexed[entry.id] = (entry.version, entry.is_live)
            for entry_id in gone:
                del self._indexed[entry_id]
            self._stamp = stamp

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sync()
            except Exception:  # the database is away: decisions go on with the index as it is
                if not self._failing:
                    logger.warning(
                        "cannot read the knowledge base to follow its edits; retrying every %.1f s",
                        self.interval,
                        exc_info=True,
                    )
                self._failing = True
            else:
                if self._failing:
                    logger.info("following the knowledge base's edits again")
                self._failing = False

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None


async def refresh_index(decisions: DecisionService, entries: Sequence[FaqEntry]) -> None:
    """Bring the index in line with these entries (call it once their change is committed):
    live ones in, drafts and deleted ones out.

    Runs in the engine's thread between decisions, so the next question already sees the edit;
    all the entries' phrasings are embedded in one batch, so an import holds up customers'
    decisions as briefly as it can. With a follower (every process ``open_services`` starts has
    one) the follower applies what was committed instead, these entries among it.
    """
    if decisions.follower is not None:
        await decisions.follower.sync()
        return
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
