"""Reading and changing FAQ entries in the database; every change leaves a version behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import utcnow
from knowledge_base.content import FaqEntryData, Translation
from knowledge_base.models import EntryStatus, FaqEntry, FaqVersion, PhrasingProposal


class EntryNotFound(LookupError):
    """No entry with that key (or it is deleted, where that matters)."""


class StaleEntry(Exception):
    """The entry changed since the caller read it: their edit would overwrite someone else's."""

    def __init__(self, key: str, current_version: int) -> None:
        super().__init__(
            f"entry '{key}' is at version {current_version} now: someone changed it since you "
            "read it; read it again and reapply your change"
        )
        self.current_version = current_version


class EntryExists(Exception):
    """Creating an entry whose key is taken."""


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
    """Every entry that is not deleted (only the published ones, if asked), oldest first."""
    query = select(FaqEntry).where(FaqEntry.deleted_at.is_(None)).order_by(FaqEntry.id)
    if published_only:
        query = query.where(FaqEntry.status == EntryStatus.PUBLISHED)
    return list((await session.scalars(query)).all())


@dataclass(frozen=True)
class EntryFilter:
    """What an editor looks for in the FAQ list."""

    search: str | None = None
    tag: str | None = None
    language: str | None = None
    status: EntryStatus | None = None
    updated_since: datetime | None = None
    deleted: bool = False


async def find_entries(
    session: AsyncSession, wanted: EntryFilter, *, offset: int = 0, limit: int = 100
) -> tuple[list[FaqEntry], int]:
    """One page of matching entries (by id) and how many match in all."""
    query = select(FaqEntry).where(
        FaqEntry.deleted_at.is_not(None) if wanted.deleted else FaqEntry.deleted_at.is_(None)
    )
    if wanted.language:
        query = query.where(FaqEntry.language == wanted.language)
    if wanted.status:
        query = query.where(FaqEntry.status == wanted.status)
    if wanted.updated_since:
        query = query.where(FaqEntry.updated_at >= wanted.updated_since)
    entries = list(await session.scalars(query.order_by(FaqEntry.id)))
    # Tags and phrasings are JSON lists: matched here, the same way on SQLite and PostgreSQL.
    if wanted.tag:
        entries = [entry for entry in entries if wanted.tag in entry.tags]
    if wanted.search:
        needle = wanted.search.casefold()
        entries = [entry for entry in entries if needle in _searchable(entry)]
    return entries[offset : offset + limit], len(entries)


def _searchable(entry: FaqEntry) -> str:
    answers = [translation["answer"] for translation in entry.translations.values()]
    return "\n".join([entry.key, *entry.every_phrasing, entry.answer, *answers]).casefold()


async def get_entry(session: AsyncSession, *, key: str) -> FaqEntry | None:
    """The entry with this key, deleted or not."""
    return await session.scalar(select(FaqEntry).where(FaqEntry.key == key))


async def entry_keys(session: AsyncSession) -> set[str]:
    """Every key in use, deleted entries' included (their keys stay theirs)."""
    return set(await session.scalars(select(FaqEntry.key)))


async def count_entries(session: AsyncSession) -> int:
    return await session.scalar(select(func.count(FaqEntry.id))) or 0


async def versions_of(session: AsyncSession, entry: FaqEntry) -> list[FaqVersion]:
    return list(
        await session.scalars(
            select(FaqVersion).where(FaqVersion.entry_id == entry.id).order_by(FaqVersion.version)
        )
    )


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
            "translations": entry.translations,
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
    entry.translations = content["translations"]


def keeping_unstated(entry: FaqEntry, given: FaqEntryData, fields: tuple[str, ...]) -> FaqEntryData:
    """``given`` with the entry's own values of those ``fields`` it did not state: a file that
    says nothing of the status or the translations leaves them as they are."""
    kept = {name: getattr(entry, name) for name in fields if name not in given.model_fields_set}
    if not kept:
        return given
    if "translations" in kept:
        kept["translations"] = kept_translations(entry, given.main_language)
    return FaqEntryData.model_validate({**given.model_dump(), **kept})


def kept_translations(entry: FaqEntry, main_language: str) -> dict[str, dict[str, Any]]:
    """The entry's translations under this main language: one into it gives way to the main
    wording (an edit that makes the Ukrainian translation's language the main one)."""
    return {code: text for code, text in entry.translations.items() if code != main_language}


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
    for given in entries:
        entry = existing.get(given.key)
        data = given
        if entry is not None:
            # A draft stays a draft, and a file without translations leaves the entry's.
            data = keeping_unstated(entry, given, ("status", "translations"))
        if entry is None:
            entry = FaqEntry(key=data.key, version=1)
            _apply(entry, data)
            session.add(entry)
            _record_version(session, entry, author=author, change="created")
            report.created.append(data.key)
        elif entry.deleted_at is None and entry_data(entry).content() == data.content():
            report.unchanged.append(data.key)
        else:
            change = "restored" if entry.deleted_at is not None else "updated"
            entry.deleted_at = None
            _apply(entry, data)
            entry.version += 1
            _record_version(session, entry, author=author, change=change)
            report.updated.append(data.key)
    await session.flush()
    return report


async def unsaved_entry(session: AsyncSession, data: FaqEntryData) -> FaqEntry:
    """The entry as saving ``data`` would make it, published, and in no session: to ask what it
    would change. The live entry's id (and translations, when ``data`` states none), or the
    next free id for a new key."""
    entry = await get_entry(session, key=data.key)
    if entry is not None and entry.deleted_at is None:
        if "translations" not in data.model_fields_set:
            kept = kept_translations(entry, data.main_language)
            data = FaqEntryData.model_validate({**data.model_dump(), "translations": kept})
        entry_id = entry.id
    else:
        entry_id = (await session.scalar(select(func.max(FaqEntry.id))) or 0) + 1
    unsaved = FaqEntry(id=entry_id, key=data.key, version=0)
    _apply(unsaved, data.model_copy(update={"status": EntryStatus.PUBLISHED}))
    return unsaved


async def create_entry(session: AsyncSession, data: FaqEntryData, *, author: str) -> FaqEntry:
    if await get_entry(session, key=data.key) is not None:
        raise EntryExists(
            f"an entry with key '{data.key}' exists (perhaps deleted: restore it instead)"
        )
    entry = FaqEntry(key=data.key, version=1)
    _apply(entry, data)
    session.add(entry)
    _record_version(session, entry, author=author, change="created")
    await session.flush()
    return entry


async def _claim_version(session: AsyncSession, entry: FaqEntry, expected: int | None) -> None:
    """Move the entry to its next version, if it is still at ``expected`` (None: any).

    A conditional UPDATE, so of two editors who read the same version exactly one wins, on
    SQLite and PostgreSQL alike, whatever else runs at the same time.
    """
    current = entry.version if expected is None else expected
    claimed = await session.execute(
        update(FaqEntry)
        .where(FaqEntry.id == entry.id, FaqEntry.version == current)
        .values(version=current + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await session.refresh(entry)
        raise StaleEntry(entry.key, entry.version)
    await session.refresh(entry)


async def change_entry(
    session: AsyncSession,
    entry: FaqEntry,
    data: FaqEntryData,
    *,
    author: str,
    expected_version: int | None,
    change: str = "updated",
) -> bool:
    """Replace the entry's content (the key stays); False when nothing would change."""
    if expected_version is not None and entry.version != expected_version:
        raise StaleEntry(entry.key, entry.version)
    content = data.model_copy(update={"key": entry.key})
    if entry_data(entry).content() == content.content():
        return False
    await _claim_version(session, entry, expected_version)
    _apply(entry, content)
    _record_version(session, entry, author=author, change=change)
    await session.flush()
    return True


async def set_deleted(
    session: AsyncSession,
    entry: FaqEntry,
    deleted: bool,
    *,
    author: str,
    expected_version: int | None,
) -> None:
    """Soft-delete (or restore) the entry: the bot stops (or resumes) answering with it."""
    if expected_version is not None and entry.version != expected_version:
        raise StaleEntry(entry.key, entry.version)
    await _claim_version(session, entry, expected_version)
    entry.deleted_at = utcnow() if deleted else None
    _record_version(session, entry, author=author, change="deleted" if deleted else "restored")
    await session.flush()


async def roll_back(
    session: AsyncSession,
    entry: FaqEntry,
    version: int,
    *,
    author: str,
    expected_version: int | None,
) -> FaqEntry:
    """Make the content of an old version current again, as a new version."""
    old = await session.scalar(
        select(FaqVersion).where(FaqVersion.entry_id == entry.id, FaqVersion.version == version)
    )
    if old is None:
        raise EntryNotFound(f"entry '{entry.key}' has no version {version}")
    data = FaqEntryData.model_validate({**old.snapshot, "key": entry.key})
    await change_entry(
        session,
        entry,
        data,
        author=author,
        expected_version=expected_version,
        change=f"rolled back to {version}",
    )
    return entry


async def set_translation(
    session: AsyncSession,
    entry: FaqEntry,
    language: str,
    translation: Translation | None,
    *,
    author: str,
    expected_version: int | None,
) -> bool:
    """Write (or, with None, remove) one translation of the entry, as a new version of the whole
    entry; False when nothing would change. ValueError for the main or an unknown language."""
    current = entry_data(entry)
    translations: dict[str, dict[str, Any]] = {
        code: text.model_dump() for code, text in current.translations.items()
    }
    if translation is None:
        translations.pop(language, None)
    else:
        translations[language] = translation.model_dump()
    data = FaqEntryData.model_validate({**current.model_dump(), "translations": translations})
    change = f"{language} {'translated' if translation is not None else 'translation removed'}"
    return await change_entry(
        session, entry, data, author=author, expected_version=expected_version, change=change
    )


async def propose_phrasing(
    session: AsyncSession, entry: FaqEntry, text: str, *, source: str, language: str | None = None
) -> PhrasingProposal | None:
    """Propose a customer's wording as a new phrasing of the entry, for an editor to approve.

    None when the entry already has that phrasing or it was proposed before.
    """
    text = " ".join(text.split())[:1000]
    known = {" ".join(p.split()).casefold() for p in entry.every_phrasing}
    if not text or text.casefold() in known:
        return None
    existing = await session.scalar(
        select(PhrasingProposal).where(
            PhrasingProposal.entry_id == entry.id, PhrasingProposal.text == text
        )
    )
    if existing is not None:
        return None
    proposal = PhrasingProposal(entry_id=entry.id, text=text, source=source, language=language)
    session.add(proposal)
    await session.flush()
    return proposal
