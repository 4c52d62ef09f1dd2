"""Knowledge gaps: the questions the bot could not answer, grouped by meaning, biggest first.

A question counts as unanswered when the bot handed it off because nothing in the FAQ fitted
(``low_confidence``), when the customer pressed 👎 "Not that" on the answer to it, or when they
pressed "None of these" on the options offered for it. Explicit requests for a person are not
gaps: the FAQ may well cover what the customer would have asked.

``knowledge_gaps`` reads the history (``unanswered``), groups it in a worker thread
(``clustering``: the embedder serialises its own use, so the answer engine may embed meanwhile)
and builds the gaps; ``gap_draft`` turns one into a draft entry or phrasings of an existing one.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.insights.clustering import (
    DEFAULT_THRESHOLD,
    GroupedQuestions,
    QuestionCluster,
    group_questions,
)
from handoff.insights.proposals import as_phrasing
from handoff.insights.unanswered import (
    DEFAULT_LIMIT,
    AgentReply,
    GapHistory,
    UnansweredQuestion,
    unanswered_questions,
)
from knowledge_base.language import SUPPORTED_LANGUAGES, LanguageCode
from knowledge_base.markdown import slugify
from knowledge_base.models import EntryStatus
from retrieval.embedder import Embedder

MAX_AGENT_REPLIES = 10
_SUPPORTED: dict[str, LanguageCode] = {code: code for code in SUPPORTED_LANGUAGES}


class KnowledgeGap(BaseModel):
    """Questions of one meaning the bot could not answer."""

    id: str  # "gap-<the oldest question's message id>": the same for the same data
    volume: int  # questions (messages)
    customers: int
    first_seen: datetime
    last_seen: datetime
    question: str  # the wording closest to the cluster's centre
    examples: list[str]  # other wordings, most typical first
    languages: list[LanguageCode]  # most frequent first
    nearest_faq_key: str | None  # the entry the bot weighed first most often
    ticket_ids: list[int]  # resolved tickets these questions opened
    agent_replies: list[AgentReply]
    agent_faq_key: str | None  # the entry agents answered these questions with, most often


class GapDraft(BaseModel):
    """What an editor may do about a gap: a new draft entry, or more phrasings of an entry.

    ``new_entry``: post ``faq_key``, ``question``, ``alt_questions``, ``answer`` (the agents'
    first own reply; None when they gave none: the editor writes it), ``language`` and
    ``status`` as a new entry. ``add_phrasings``: agents answered with the existing entry
    ``faq_key``; ``alt_questions`` are the customers' wordings to add to it.
    """

    kind: Literal["new_entry", "add_phrasings"]
    faq_key: str
    question: str | None
    alt_questions: list[str]
    answer: str | None
    language: LanguageCode | None
    status: EntryStatus | None


def build_gaps(history: GapHistory, grouped: GroupedQuestions) -> list[KnowledgeGap]:
    """The clusters as gaps, the most asked first, then the most recently asked."""
    gaps = [_gap(history, grouped.languages, cluster) for cluster in grouped.clusters]
    return sorted(gaps, key=lambda gap: (-gap.volume, -gap.last_seen.timestamp(), gap.id))


def _most_common(values: Sequence[str | None]) -> str | None:
    counted = Counter(value for value in values if value)
    return counted.most_common(1)[0][0] if counted else None


def _gap(
    history: GapHistory, languages: list[LanguageCode | None], cluster: QuestionCluster
) -> KnowledgeGap:
    questions = [history.questions[row] for row in cluster.members]
    asked = [question.asked_at for question in questions]
    ticket_ids = sorted({q.ticket_id for q in questions if q.ticket_id is not None})
    replies = [reply for ticket in ticket_ids for reply in history.agent_replies.get(ticket, [])]
    spoken = Counter(_language(languages[row], history.questions[row]) for row in cluster.members)
    return KnowledgeGap(
        id=f"gap-{min(question.message_id for question in questions)}",
        volume=len(questions),
        customers=len({question.customer_id for question in questions}),
        first_seen=min(asked),
        last_seen=max(asked),
        question=history.questions[cluster.representative].text,
        examples=[history.questions[row].text for row in cluster.examples],
        languages=[language for language, _ in spoken.most_common() if language],
        nearest_faq_key=_most_common([question.nearest_faq_key for question in questions]),
        ticket_ids=ticket_ids,
        agent_replies=replies[:MAX_AGENT_REPLIES],
        agent_faq_key=_most_common([history.ticket_faq_keys.get(t) for t in ticket_ids]),
    )


def _language(detected: LanguageCode | None, question: UnansweredQuestion) -> LanguageCode | None:
    """The text's language; for words too few to tell, the language the customer reads."""
    if detected is not None:
        return detected
    return _SUPPORTED.get(question.customer_language)


async def knowledge_gaps(
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    *,
    since: datetime,
    until: datetime,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = DEFAULT_LIMIT,
) -> list[KnowledgeGap]:
    """The gaps of a period, the most asked first. The history is read and its session closed
    before the embedding runs (in a worker thread): seconds for thousands of questions, during
    which a held connection would stall everyone else on SQLite's single one."""
    async with sessions() as session:
        history = await unanswered_questions(session, since=since, until=until, limit=limit)
    grouped = await asyncio.to_thread(group_questions, embedder, history.texts, threshold)
    return build_gaps(history, grouped)


def gap_draft(gap: KnowledgeGap, *, taken_keys: Collection[str] = ()) -> GapDraft:
    """What to suggest to the editor: the phrasings for the entry agents answered with, or a new
    draft entry keyed by the question (made unique against ``taken_keys``, the existing keys)."""
    if gap.agent_faq_key is not None:
        return GapDraft(
            kind="add_phrasings",
            faq_key=gap.agent_faq_key,
            question=None,
            alt_questions=[as_phrasing(text) for text in (gap.question, *gap.examples)],
            answer=None,
            language=None,
            status=None,
        )
    own_words = (reply.text for reply in gap.agent_replies if reply.faq_key is None)
    return GapDraft(
        kind="new_entry",
        faq_key=_free_key(slugify(gap.question), taken_keys),
        question=as_phrasing(gap.question),
        alt_questions=[as_phrasing(text) for text in gap.examples],
        answer=next(own_words, None),
        language=gap.languages[0] if gap.languages else None,
        status=EntryStatus.DRAFT,
    )


def _free_key(slug: str, taken: Collection[str]) -> str:
    key, number = slug, 1
    while key in taken:
        number += 1
        suffix = f"-{number}"
        key = slug[: 100 - len(suffix)] + suffix
    return key
