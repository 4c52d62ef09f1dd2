"""An FAQ entry's translations one language at a time (the entry's ETag and If-Match, as for
the whole entry), and the editors' to-do list: entries customers got in another language and
entries missing a translation, the busiest first."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from admin_api.deps import AnyTokenDep, EditorDep, Moment, ServicesDep
from admin_api.errors import ERROR_RESPONSES, ApiError
from admin_api.routes.analytics import MAX_PERIOD
from admin_api.routes.faq_common import (
    EntryKey,
    FaqEntryOut,
    IfMatch,
    entry_response,
    find_entry,
    version_if_matching,
)
from core.database import transaction, utcnow
from handoff.insights.translations import TranslationReport, translation_report
from handoff.services import Services
from knowledge_base.content import Translation
from knowledge_base.language import LanguageCode
from knowledge_base.models import FaqEntry
from knowledge_base.repository import entry_data, set_translation
from retrieval.sync import refresh_index

router = APIRouter(tags=["faq"], responses=ERROR_RESPONSES)

DEFAULT_PERIOD = timedelta(days=30)
Language = Annotated[LanguageCode, Path(description="ru, uk or en")]


def _translatable(services: Services, entry: FaqEntry, language: str) -> None:
    """404 for a language this FAQ does not keep; 409 for the entry's main language."""
    if language not in services.settings.faq_languages:
        raise ApiError(
            404,
            f"'{language}' is not one of this FAQ's languages "
            f"({', '.join(services.settings.faq_languages)})",
        )
    if language == entry.language:
        raise ApiError(
            409,
            f"'{language}' is the entry's main language: its question and answer are the "
            "entry's own (PUT /faq/{key})",
        )


@router.get("/faq/{key}/translations/{language}", summary="Read one translation of an entry")
async def get_translation(
    services: ServicesDep,
    _token: AnyTokenDep,
    key: EntryKey,
    language: Language,
    response: Response,
) -> Translation:
    """The entry's question, phrasings and answer in that language; the ETag is the entry's."""
    async with services.sessions() as session:
        entry = await find_entry(session, key, deleted=None)
    _translatable(services, entry, language)
    translation = entry_data(entry).translations.get(language)
    if translation is None:
        raise ApiError(404, f"the entry '{key}' has no '{language}' translation yet")
    entry_response(entry, response)
    return translation


@router.put("/faq/{key}/translations/{language}", summary="Write one translation (If-Match)")
async def put_translation(
    services: ServicesDep,
    token: EditorDep,
    key: EntryKey,
    language: Language,
    translation: Translation,
    response: Response,
    if_match: IfMatch = None,
) -> FaqEntryOut:
    """Adds or replaces the translation: a new version of the whole entry (its history says
    which language changed); 412 when the entry changed since you read its ETag."""
    return await _write(services, token.name, key, language, translation, if_match, response)


@router.delete("/faq/{key}/translations/{language}", summary="Remove one translation (If-Match)")
async def delete_translation(
    services: ServicesDep,
    token: EditorDep,
    key: EntryKey,
    language: Language,
    response: Response,
    if_match: IfMatch = None,
) -> FaqEntryOut:
    """Customers writing in that language get the main language's answer again, with a note."""
    return await _write(services, token.name, key, language, None, if_match, response)


async def _write(
    services: Services,
    author: str,
    key: str,
    language: str,
    translation: Translation | None,
    if_match: str | None,
    response: Response,
) -> FaqEntryOut:
    """Write (None: remove) the translation under the entry's If-Match; the index follows."""
    expected = version_if_matching(if_match, required=True)
    async with transaction(services.sessions) as session:
        entry = await find_entry(session, key)
        _translatable(services, entry, language)
        if translation is None and language not in entry.translations:
            raise ApiError(404, f"the entry '{key}' has no '{language}' translation")
        await set_translation(
            session, entry, language, translation, author=author, expected_version=expected
        )
    await refresh_index(services.decisions, [entry])
    return entry_response(entry, response)


@router.get("/translations", summary="Answers sent in another language; missing translations")
async def translations_report(
    services: ServicesDep,
    _token: AnyTokenDep,
    start: Annotated[Moment | None, Query(description="default: 30 days before end")] = None,
    end: Annotated[Moment | None, Query(description="default: now")] = None,
    missing: Annotated[
        LanguageCode | None, Query(description="only the entries without this language")
    ] = None,
) -> TranslationReport:
    """Every entry with the period's answers by the customer's language and those sent in
    another language (its translation was missing): the editors' to-do list, worst first."""
    end = end or utcnow()
    start = start or end - DEFAULT_PERIOD
    if end - start > MAX_PERIOD:
        raise ApiError(422, f"a report covers at most {MAX_PERIOD.days} days")
    try:
        async with services.sessions() as session:
            report = await translation_report(
                session, start=start, end=end, languages=services.settings.faq_languages
            )
    except ValueError as error:
        raise ApiError(422, str(error)) from None
    if missing is not None:
        report.entries = [entry for entry in report.entries if missing in entry.missing]
    return report
