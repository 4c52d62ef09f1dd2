"""What an FAQ entry says, validated: the main language's question, phrasings and answer, and
the same per language in its translations."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from knowledge_base.language import LanguageCode, detect_language
from knowledge_base.models import EntryStatus

KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,99}$"


def clean_text(value: Any) -> Any:
    """Trimmed, without NUL characters (PostgreSQL refuses them in text; nobody means them)."""
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


class Wording(BaseModel):
    """A question, its other phrasings and the answer, in one language."""

    question: str = Field(min_length=1, max_length=1000)
    alt_questions: list[str] = Field(default_factory=list, max_length=500)
    answer: str = Field(min_length=1, max_length=20000)

    @field_validator("question", "answer", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return clean_text(value)

    @field_validator("alt_questions", mode="before")
    @classmethod
    def _clean_phrasings(cls, value: Any) -> Any:
        return _cleaned_list(value)

    @field_validator("alt_questions")
    @classmethod
    def _phrasings_are_short(cls, value: list[str]) -> list[str]:
        for phrasing in value:
            if not phrasing or len(phrasing) > 1000:
                raise ValueError("each alternative phrasing must have 1 to 1000 characters")
        return list(dict.fromkeys(value))


class Translation(Wording):
    """The entry in another language than its main one."""


def _cleaned_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, list):
        cleaned = [clean_text(item) for item in value]
        return [item for item in cleaned if item != ""]
    return value


class FaqEntryContent(Wording):
    """What an entry says, validated: everything but its key (an API edit sends this).

    ``language`` is the entry's main language: the answer sent when the customer's language has
    no translation. ``translations`` holds the other languages; one entry, one key, one history.
    """

    tags: list[str] = Field(default_factory=list, max_length=50)
    language: LanguageCode | None = None
    status: EntryStatus = EntryStatus.PUBLISHED
    translations: dict[LanguageCode, Translation] = Field(default_factory=dict)

    @field_validator("tags", mode="before")
    @classmethod
    def _clean_tags(cls, value: Any) -> Any:
        return _cleaned_list(value)

    @field_validator("translations")
    @classmethod
    def _in_language_order(cls, value: dict[str, Translation]) -> dict[str, Translation]:
        return dict(sorted(value.items()))

    @model_validator(mode="after")
    def _fill_language(self) -> Self:
        if self.language is None:
            self.language = detect_language(self.question) or "en"
        if self.language in self.translations:
            raise ValueError(
                f"translations: '{self.language}' is the entry's main language; its question "
                "and answer are the entry's own"
            )
        return self

    @property
    def main_language(self) -> LanguageCode:
        assert self.language is not None  # filled in by validation
        return self.language

    @property
    def languages(self) -> list[LanguageCode]:
        """The main language first, then the translations'."""
        return [self.main_language, *self.translations]

    def content(self) -> dict[str, Any]:
        """Everything but the key, as stored in a version snapshot and compared on import."""
        return self.model_dump(mode="json", exclude={"key"})


class FaqEntryData(FaqEntryContent):
    """One entry as it comes in from a file or the API, validated."""

    key: str = Field(pattern=KEY_PATTERN)


def languages_outside(data: FaqEntryContent, allowed: Collection[str]) -> list[str]:
    """The entry's languages (main or translated) that this FAQ does not keep (a setting)."""
    return [language for language in data.languages if language not in allowed]


def changed_languages(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """Which languages' wording differs between two snapshots (``content()``), main first.

    A snapshot from before translations existed has none; the main language's wording is its
    question, phrasings and answer.
    """

    def wordings(snapshot: dict[str, Any] | None) -> dict[str, tuple[Any, ...]]:
        if snapshot is None:
            return {}
        main = (snapshot["question"], snapshot["alt_questions"], snapshot["answer"])
        found = {snapshot["language"]: main}
        for language, text in (snapshot.get("translations") or {}).items():
            found[language] = (text["question"], text["alt_questions"], text["answer"])
        return found

    old, new = wordings(before), wordings(after)
    languages = [after["language"], *sorted((set(old) | set(new)) - {after["language"]})]
    return [language for language in languages if old.get(language) != new.get(language)]
