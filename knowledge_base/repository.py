"""Reading and changing FAQ entries in the database; every change leaves a version behind."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge_base.formats import FaqEntryData
from knowledge_base.models import FaqEntry, FaqVersion, PhrasingProposal


@dataclass
class ImportReport:
    """What an import did, by key."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed_keys(self) -> list[str]:
        return self.created + self.updated


async def list_entries(session: AsyncSession, *, published_only: bool = False) -> list[FaqEntry]:
    query = select(FaqEntry).order_by(FaqEntry.id)
    if published_only:
        query = query.where(FaqEntry.status == "published")
    return list((await session.scalars(query)).all())


async def get_entry(session: AsyncSession, *, key: str) -> FaqEntry | None:
    return await session.scalar(select(FaqEntry).where(FaqEntry.key == key))


async def count_entries(session: AsyncSession) -> int:
    return await session.scalar(select(func.count(FaqEntry.id))) or 0


def entry_data(entry: FaqEntry) -> FaqEntryData:
    """The entry's content as the validated model files and the API exchange."""
    return FaqEntryData.model_validate(
        {
            "key": entry.key,
            "question": entry.question,
            "alt_questions": entry.alt_questions,
            "answer": entry.answer,
            "tags": entry.tags,
            "language": entry.language,
            "status": entry.status,
        }
    )


def _record_version(session: AsyncSession, entry: FaqEntry, *, author: str, change: str) -> None:
    session.add(
        FaqVersion(
            entry=entry,
            version=entry.version,
            author=author,
            change=change,
            snapshot=entry_data(entry).content(),
        )
    )


def _apply(entry: FaqEntry, data: FaqEntryData) -> None:
    content = data.content()
    entry.question = content["question"]
    entry.alt_questions = content["alt_questions"]
    entry.answer = content["answer"]
    entry.tags = content["tags"]
    entry.language = content["language"]
    entry.status = content["status"]


async def import_entries(
    session: AsyncSession, entries: list[FaqEntryData], *, author: str
) -> ImportReport:
    """Upsert entries by key inside the caller's transaction (all or nothing)."""
    existing = {
        entry.key: entry
        for entry in await session.scalars(
            select(FaqEntry).where(FaqEntry.key.in_([data.key for data in entries]))
        )
    }
    report = ImportReport()
    for data in entries:
        entry = existing.get(data.key)
        if entry is None:
            entry = FaqEntry(key=data.key, version=1)
            _apply(entry, data)
            session.add(entry)
            _record_version(session, entry, author=author, change="created")
            report.created.append(data.key)
        elif entry_data(entry).content() == data.content():
            report.unchanged.append(data.key)
        else:
            _apply(entry, data)
            entry.version += 1
            _record_version(session, entry, author=author, change="updated")
            report.updated.append(data.key)
    await session.flush()
    return report


async def propose_phrasing(
    session: AsyncSession, entry: FaqEntry, text: str, *, source: str
) -> PhrasingProposal | None:
    """Propose a customer's wording as a new phrasing of the entry, for an editor to approve.

    None when the entry already has that phrasing or it was proposed before.
    """
    text = " ".join(text.split())[:1000]
    known = {" ".join(p.split()).casefold() for p in entry.phrasings}
    if not text or text.casefold() in known:
        return None
    existing = await session.scalar(
        select(PhrasingProposal).where(
            PhrasingProposal.entry_id == entry.id, PhrasingProposal.text == text
        )
    )
    if existing is not None:
        return None
    proposal = PhrasingProposal(entry_id=entry.id, text=text, source=source)
    session.add(proposal)
    await session.flush()
    return proposal
