"""What the FAQ's routes share: an entry as the API shows it, its ETag and If-Match, finding it
by key, and validating an entry in this FAQ's languages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Path, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from admin_api.errors import ApiError
from handoff.services import Services
from knowledge_base.content import KEY_PATTERN, FaqEntryData, Translation, languages_outside
from knowledge_base.models import EntryStatus, FaqEntry
from knowledge_base.repository import entry_data, get_entry


class FaqEntryOut(BaseModel):
    key: str
    question: str
    alt_questions: list[str]
    answer: str
    tags: list[str]
    language: str = Field(description="the entry's main language")
    status: EntryStatus
    translations: dict[str, Translation] = Field(
        description="the entry in its other languages: question, alt_questions and answer"
    )
    version: int = Field(description="the entry's version; its ETag is its quoted version")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None

    @classmethod
    def of(cls, entry: FaqEntry) -> FaqEntryOut:
        return cls(
            **entry_data(entry).model_dump(),
            version=entry.version,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
            deleted_at=entry.deleted_at,
        )


EntryKey = Annotated[str, Path(pattern=KEY_PATTERN, description="the entry's stable key")]
IfMatch = Annotated[
    str | None,
    Header(
        description='the ETag you read (e.g. "3"): the change is refused with 412 if the '
        "entry changed since; required for edits and deletes"
    ),
]


def _etag(entry: FaqEntry) -> str:
    return f'"{entry.version}"'


def version_if_matching(if_match: str | None, *, required: bool) -> int | None:
    """The version the caller read, from If-Match; None for '*' (or no header where allowed)."""
    if if_match is None or not if_match.strip():
        if required:
            raise ApiError(
                428,
                "send If-Match with the entry's ETag (from GET), so that two editors never "
                "overwrite each other; 'If-Match: *' overwrites whatever is there",
            )
        return None
    value = if_match.strip()
    if value == "*":
        return None
    try:
        return int(value.removeprefix("W/").strip('"'))
    except ValueError:
        raise ApiError(400, f'If-Match {value!r} is not an ETag of this API (like "3")') from None


def valid_entry(services: Services, fields: dict[str, Any]) -> FaqEntryData:
    """The entry's fields validated, in this FAQ's languages (a setting), or 422 saying why."""
    try:
        data = FaqEntryData.model_validate(fields)
    except ValidationError as error:
        problems = [
            {"location": ".".join(map(str, problem["loc"])) or "entry", "problem": problem["msg"]}
            for problem in error.errors()
        ]
        raise ApiError(422, "the entry is not valid", details=problems) from None
    outside = languages_outside(data, services.settings.faq_languages)
    if outside:
        raise ApiError(
            422,
            f"language {', '.join(outside)} is not one of this FAQ's "
            f"({', '.join(services.settings.faq_languages)}): FIRSTLINE_FAQ_LANGUAGES sets them",
        )
    return data


def entry_response(entry: FaqEntry, response: Response) -> FaqEntryOut:
    response.headers["ETag"] = _etag(entry)
    return FaqEntryOut.of(entry)


async def find_entry(session: AsyncSession, key: str, *, deleted: bool | None = False) -> FaqEntry:
    """The entry with this key (not deleted; with ``deleted``, deleted; None: either), or 404."""
    entry = await get_entry(session, key=key)
    if entry is None or (deleted is not None and (entry.deleted_at is not None) != deleted):
        state = "deleted " if deleted else ""
        raise ApiError(404, f"there is no {state}FAQ entry '{key}'")
    return entry
