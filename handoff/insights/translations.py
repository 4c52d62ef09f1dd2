"""The editors' to-do list for translations: which entries customers got in another language
than their own (the main language's answer where a translation is missing), and which lack a
translation into the FAQ's languages, the busiest first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.insights.periods import check_period
from handoff.models import ConversationMessage, Direction
from knowledge_base.repository import list_entries
from retrieval.decision import Outcome


class EntryLanguages(BaseModel):
    """One entry: the answers sent with it in the period, by the customer's language."""

    faq_key: str
    question: str = Field(description="in the entry's main language")
    language: str = Field(description="the entry's main language")
    translated: list[str] = Field(description="the languages it has a translation into")
    missing: list[str] = Field(description="the FAQ's languages it has no wording in")
    answers: int = Field(description="answers sent with it in the period")
    by_language: dict[str, int] = Field(description="those answers by the customer's language")
    other_language: dict[str, int] = Field(
        description="answers sent in another language than the customer's (no translation), "
        "by the customer's language"
    )


class TranslationReport(BaseModel):
    start: datetime
    end: datetime
    languages: list[str] = Field(description="the FAQ's languages (FIRSTLINE_FAQ_LANGUAGES)")
    answers: int = Field(description="answers the bot sent in the period")
    answers_in_other_language: int
    entries: list[EntryLanguages] = Field(
        description="every entry (not deleted): the most answered in another language first, "
        "then the most answered"
    )


async def _answers(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str, str | None, str | None]]:
    """(entry key, customer's language, answer's language) of each answer sent in the period.

    A long answer goes out in several messages, all from the same update: counted once.
    """
    rows = await session.execute(
        select(
            ConversationMessage.customer_id,
            ConversationMessage.telegram_update_id,
            ConversationMessage.faq_key,
            ConversationMessage.details,
        ).where(
            ConversationMessage.direction == Direction.OUTBOUND,
            ConversationMessage.outcome == Outcome.ANSWER,
            ConversationMessage.faq_key.is_not(None),
            ConversationMessage.created_at >= start,
            ConversationMessage.created_at < end,
        )
    )
    answers: dict[tuple[int, int | None, str], tuple[str | None, str | None]] = {}
    for customer_id, update_id, key, details in rows:
        details = details or {}
        answers[(customer_id, update_id, key)] = (
            details.get("language"),
            details.get("answer_language"),
        )
    return [(key, asked, sent) for (_, _, key), (asked, sent) in answers.items()]


async def translation_report(
    session: AsyncSession, *, start: datetime, end: datetime, languages: Collection[str]
) -> TranslationReport:
    """The period [start, end)'s answers by entry and language, beside each entry's missing
    translations. Answers sent before translations were tracked count with unknown languages."""
    check_period(start, end)
    by_language: dict[str, Counter[str]] = {}
    other: dict[str, Counter[str]] = {}
    answers = await _answers(session, start, end)
    for key, asked, sent in answers:
        by_language.setdefault(key, Counter())[asked or "unknown"] += 1
        if asked is not None and sent is not None and asked != sent:
            other.setdefault(key, Counter())[asked] += 1
    entries = [
        EntryLanguages(
            faq_key=entry.key,
            question=entry.question,
            language=entry.language,
            translated=sorted(entry.translations),
            missing=[
                code
                for code in languages
                if code != entry.language and code not in entry.translations
            ],
            answers=sum(by_language.get(entry.key, Counter()).values()),
            by_language=dict(by_language.get(entry.key, Counter())),
            other_language=dict(other.get(entry.key, Counter())),
        )
        for entry in await list_entries(session)
    ]
    entries.sort(key=lambda item: (-sum(item.other_language.values()), -item.answers, item.faq_key))
    return TranslationReport(
        start=start,
        end=end,
        languages=list(languages),
        answers=len(answers),
        answers_in_other_language=sum(sum(counts.values()) for counts in other.values()),
        entries=entries,
    )
