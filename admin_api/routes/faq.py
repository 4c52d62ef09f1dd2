"""The FAQ for editors: list, read, create, edit (If-Match), delete and restore, publish,
history and rollback, bulk import (with a dry run) and export. Every change reaches the bot's
index before the response is sent. An entry's translations are part of it (one key, one ETag,
one history); ``translations.py`` reads and writes them one language at a time."""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from pydantic import BaseModel, Field

from admin_api.deps import AnyTokenDep, EditorDep, Moment, Offset, ServicesDep
from admin_api.errors import ERROR_RESPONSES, ApiError
from admin_api.routes.faq_common import (
    EntryKey,
    FaqEntryOut,
    IfMatch,
    entry_response,
    find_entry,
    valid_entry,
    version_if_matching,
)
from core.database import transaction
from handoff.services import Services
from knowledge_base.content import (
    FaqEntryContent,
    FaqEntryData,
    changed_languages,
)
from knowledge_base.formats import (
    FaqFileError,
    FaqFormat,
    export_csv,
    export_json,
    export_markdown,
    parse_faq,
)
from knowledge_base.models import EntryStatus
from knowledge_base.repository import (
    EntryExists,
    EntryFilter,
    EntryNotFound,
    ImportReport,
    change_entry,
    create_entry,
    entry_data,
    find_entries,
    import_entries,
    kept_translations,
    list_entries,
    roll_back,
    set_deleted,
    versions_of,
)
from retrieval.sync import import_and_index, refresh_index

router = APIRouter(prefix="/faq", tags=["faq"], responses=ERROR_RESPONSES)

MAX_PROBLEMS_SHOWN = 200

EXAMPLE_ENTRY = {
    "key": "reset-password",
    "question": "Как сбросить пароль?",
    "alt_questions": ["забыл пароль", "як змінити пароль", "I forgot my password"],
    "answer": "1. Откройте «Вход».\n2. Нажмите «Забыли пароль?».\n3. Перейдите по ссылке из письма.",
    "tags": ["account"],
    "language": "ru",
    "status": "published",
    "translations": {
        "uk": {
            "question": "Як скинути пароль?",
            "alt_questions": ["забув пароль"],
            "answer": "1. Відкрийте «Вхід».\n2. Натисніть «Забули пароль?».",
        }
    },
}


class FaqPage(BaseModel):
    items: list[FaqEntryOut]
    total: int = Field(description="entries matching the filters, on all pages")


class FaqVersionOut(BaseModel):
    version: int
    author: str
    change: str
    changed_at: datetime
    languages_changed: list[str] = Field(
        description="the languages whose question, phrasings or answer this version changed "
        "(the main language first)"
    )
    snapshot: dict[str, Any]


class RollbackRequest(BaseModel):
    version: int = Field(
        ge=1, le=2_147_483_647, description="the version whose content becomes current again"
    )


class ImportResult(BaseModel):
    dry_run: bool
    created: list[str]
    updated: list[str]
    unchanged: list[str]

    @classmethod
    def of(cls, report: ImportReport, *, dry_run: bool) -> ImportResult:
        return cls(
            dry_run=dry_run,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
        )


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "md"


EXPORTS = {
    ExportFormat.JSON: (export_json, "application/json"),
    ExportFormat.CSV: (export_csv, "text/csv; charset=utf-8"),
    ExportFormat.MARKDOWN: (export_markdown, "text/markdown; charset=utf-8"),
}


@router.get("", summary="List FAQ entries")
async def list_faq(
    services: ServicesDep,
    _token: AnyTokenDep,
    search: Annotated[
        str | None, Query(max_length=200, description="in key, phrasings, answer")
    ] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    entry_status: Annotated[EntryStatus | None, Query(alias="status")] = None,
    updated_since: Moment | None = None,
    deleted: Annotated[bool, Query(description="list deleted entries instead")] = False,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FaqPage:
    wanted = EntryFilter(search, tag, language, entry_status, updated_since, deleted)
    async with services.sessions() as session:
        entries, total = await find_entries(session, wanted, offset=offset, limit=limit)
    return FaqPage(items=[FaqEntryOut.of(entry) for entry in entries], total=total)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an entry")
async def create_faq(
    services: ServicesDep,
    token: EditorDep,
    request: Request,
    response: Response,
    data: Annotated[FaqEntryData, Body(openapi_examples={"entry": {"value": EXAMPLE_ENTRY}})],
) -> FaqEntryOut:
    """A new entry; with `"status": "draft"` the bot does not use it until it is published."""
    valid_entry(services, data.model_dump())
    try:
        async with transaction(services.sessions) as session:
            entry = await create_entry(session, data, author=token.name)
    except EntryExists as error:
        raise ApiError(409, str(error)) from None
    await refresh_index(services.decisions, [entry])
    response.headers["Location"] = str(request.url_for("get_faq", key=entry.key))
    return entry_response(entry, response)


@router.get("/export", summary="Export the FAQ", response_class=Response)
async def export_faq(
    services: ServicesDep,
    _token: EditorDep,
    export_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.JSON,
) -> Response:
    """Every entry that is not deleted, drafts and translations included; the file imports back
    unchanged. CSV has a row per entry and language; Markdown a section per language."""
    async with services.sessions() as session:
        entries = [entry_data(entry) for entry in await list_entries(session)]
    export, media_type = EXPORTS[export_format]
    try:
        body = export(entries)
    except ValueError as error:
        raise ApiError(409, str(error)) from None
    return Response(body, media_type=media_type)


@router.post("/import", summary="Import a FAQ file, or see what it would change")
async def import_faq(
    services: ServicesDep,
    token: EditorDep,
    request: Request,
    file_format: Annotated[
        FaqFormat, Query(alias="format", description="json, csv or md")
    ] = FaqFormat.JSON,
    dry_run: Annotated[bool, Query(description="list what would change, change nothing")] = False,
) -> ImportResult:
    """The request body is the file itself (JSON, CSV or Markdown, as README.md describes
    them). All or nothing: a file with any problem is refused whole, each problem listed."""
    data = await request.body()  # at most MAX_FILE_BYTES: admin_api.limits refuses more
    try:
        # Seconds of CPU for a big file: in a thread, so the bot and the API keep answering.
        entries = await asyncio.to_thread(
            parse_faq, data, file_format, languages=services.settings.faq_languages
        )
    except FaqFileError as error:
        raise ApiError(
            422,
            "the file was not imported: fix these problems and send it again",
            details=_problem_details(error),
        ) from None
    if dry_run:
        return ImportResult.of(await _dry_run(services, entries), dry_run=True)
    report = await import_and_index(
        services.sessions, services.decisions, entries, author=token.name
    )
    return ImportResult.of(report, dry_run=False)


def _problem_details(error: FaqFileError) -> list[dict[str, Any]]:
    """Each problem with its place, the first MAX_PROBLEMS_SHOWN of them (a broken file of ten
    thousand entries would otherwise answer with megabytes)."""
    shown = [
        {"location": problem.location, "problem": problem.reason}
        for problem in error.problems[:MAX_PROBLEMS_SHOWN]
    ]
    hidden = len(error.problems) - len(shown)
    if hidden > 0:
        shown.append({"location": "file", "problem": f"and {hidden} more problems"})
    return shown


async def _dry_run(services: Services, entries: list[FaqEntryData]) -> ImportReport:
    async with services.sessions() as session:
        outer = await session.begin()
        try:
            return await import_entries(session, entries, author="dry-run")
        finally:
            await outer.rollback()


@router.get("/{key}", summary="Read one entry")
async def get_faq(
    services: ServicesDep, _token: AnyTokenDep, key: EntryKey, response: Response
) -> FaqEntryOut:
    async with services.sessions() as session:
        entry = await find_entry(session, key, deleted=None)
    return entry_response(entry, response)


@router.put("/{key}", summary="Replace an entry's content (needs If-Match)")
async def update_faq(
    services: ServicesDep,
    token: EditorDep,
    key: EntryKey,
    response: Response,
    content: Annotated[
        FaqEntryContent,
        Body(
            openapi_examples={
                "entry": {"value": {k: v for k, v in EXAMPLE_ENTRY.items() if k != "key"}}
            }
        ),
    ],
    if_match: IfMatch = None,
) -> FaqEntryOut:
    """The whole content; 412 when the entry changed since you read its ETag. Without
    `translations` the entry keeps its own."""
    expected = version_if_matching(if_match, required=True)
    fields = {**content.model_dump(), "key": key}
    async with transaction(services.sessions) as session:
        entry = await find_entry(session, key)
        if "translations" not in content.model_fields_set:
            fields["translations"] = kept_translations(entry, content.main_language)
        data = valid_entry(services, fields)
        await change_entry(session, entry, data, author=token.name, expected_version=expected)
    await refresh_index(services.decisions, [entry])
    return entry_response(entry, response)


@router.delete("/{key}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete (restorable)")
async def delete_faq(
    services: ServicesDep, token: EditorDep, key: EntryKey, if_match: IfMatch = None
) -> Response:
    """The bot stops answering with it at once; POST …/restore brings it back."""
    expected = version_if_matching(if_match, required=True)
    async with transaction(services.sessions) as session:
        entry = await find_entry(session, key)
        await set_deleted(session, entry, True, author=token.name, expected_version=expected)
    await refresh_index(services.decisions, [entry])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{key}/restore", summary="Restore a deleted entry")
async def restore_faq(
    services: ServicesDep, token: EditorDep, key: EntryKey, response: Response
) -> FaqEntryOut:
    async with transaction(services.sessions) as session:
        entry = await find_entry(session, key, deleted=True)
        await set_deleted(session, entry, False, author=token.name, expected_version=None)
    await refresh_index(services.decisions, [entry])
    return entry_response(entry, response)


@router.post("/{key}/publish", summary="Publish a draft")
async def publish_faq(
    services: ServicesDep,
    token: EditorDep,
    key: EntryKey,
    response: Response,
    if_match: IfMatch = None,
) -> FaqEntryOut:
    """The bot answers with the entry from now on (no change if it is published already)."""
    expected = version_if_matching(if_match, required=False)
    async with transaction(services.sessions) as session:
        entry = await find_entry(session, key)
        published = entry_data(entry).model_copy(update={"status": EntryStatus.PUBLISHED})
        await change_entry(
            session,
            entry,
            published,
            author=token.name,
            expected_version=expected,
            change="published",
        )
    await refresh_index(services.decisions, [entry])
    return entry_response(entry, response)


@router.get("/{key}/versions", summary="An entry's version history")
async def faq_versions(
    services: ServicesDep, _token: EditorDep, key: EntryKey
) -> list[FaqVersionOut]:
    async with services.sessions() as session:
        entry = await find_entry(session, key, deleted=None)
        versions = await versions_of(session, entry)
    before: list[dict[str, Any] | None] = [None, *(v.snapshot for v in versions)]
    return [
        FaqVersionOut(
            version=v.version,
            author=v.author,
            change=v.change,
            changed_at=v.changed_at,
            languages_changed=changed_languages(previous, v.snapshot),
            snapshot=v.snapshot,
        )
        for v, previous in zip(versions, before, strict=False)
    ]


@router.post("/{key}/rollback", summary="Make an old version current again")
async def rollback_faq(
    services: ServicesDep,
    token: EditorDep,
    key: EntryKey,
    request_body: RollbackRequest,
    response: Response,
    if_match: IfMatch = None,
) -> FaqEntryOut:
    """The old content becomes a new version (history is never rewritten); the index follows."""
    expected = version_if_matching(if_match, required=False)
    try:
        async with transaction(services.sessions) as session:
            entry = await find_entry(session, key)
            await roll_back(
                session, entry, request_body.version, author=token.name, expected_version=expected
            )
    except EntryNotFound as error:
        raise ApiError(404, str(error)) from None
    await refresh_index(services.decisions, [entry])
    return entry_response(entry, response)
