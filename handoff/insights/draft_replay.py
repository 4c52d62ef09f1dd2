"""What publishing an edited entry would change: the questions customers asked lately, decided
on the live FAQ and on a copy holding the edit, with the editor's own question beside them.

The work runs in the answer engine's thread a few messages at a time, so customers' decisions
go on between the chunks; the live engine is never changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import utcnow
from handoff.insights.unanswered import NOT_QUESTIONS
from handoff.models import ConversationMessage, Direction, MessageKind
from handoff.services import Services
from retrieval.decision import Decision
from retrieval.draft_preview import Change, Tally, changed_decisions
from retrieval.engine import AnswerEngine, Message
from retrieval.entries import IndexedEntry

REPLAY_DAYS = 30
REPLAY_QUESTIONS = 300  # the newest distinct questions: ~1-2 s of the engine's time at most
CHUNK = 32  # messages per turn in the engine's thread (its own batch size)


@dataclass(frozen=True)
class DraftPreview:
    key: str
    asked: tuple[Decision, Decision] | None  # the editor's question: before, after
    since: datetime
    replayed: int
    before: Tally
    after: Tally
    changes: list[Change]


async def recent_questions(session: AsyncSession, *, since: datetime, limit: int) -> list[str]:
    """The newest distinct texts customers asked the FAQ since then (not greetings, thanks or
    requests for a person): what an edit would meet first."""
    rows = await session.scalars(
        select(ConversationMessage.text)
        .where(
            ConversationMessage.direction == Direction.INBOUND,
            ConversationMessage.kind == MessageKind.TEXT,
            ConversationMessage.created_at >= since,
            ConversationMessage.outcome.is_not(None),
            ConversationMessage.reason.not_in([reason.value for reason in NOT_QUESTIONS]),
            ConversationMessage.text.is_not(None),
        )
        .order_by(ConversationMessage.id.desc())
        .limit(limit * 4)
    )
    distinct = dict.fromkeys(text.strip() for text in rows if text and text.strip())
    return list(distinct)[:limit]


async def preview_draft(
    services: Services, entry: IndexedEntry, *, asked: str | None, language: str | None
) -> DraftPreview:
    """Decide the replay (and ``asked``) on the live FAQ, then on the FAQ with ``entry`` in
    place of the entry with its id (or added)."""
    since = utcnow() - timedelta(days=REPLAY_DAYS)
    async with services.sessions() as session:
        questions = await recent_questions(session, since=since, limit=REPLAY_QUESTIONS)
    messages = [Message(text) for text in questions]
    if asked is not None:
        messages.append(Message(asked, language))
    decisions = services.decisions
    before: list[Decision] = []
    for start in range(0, len(messages), CHUNK):
        chunk = messages[start : start + CHUNK]
        before += await decisions.run(partial(AnswerEngine.decide_many, messages=chunk))
    # Made after the live decisions: the copy starts with their vectors and embeds none again.
    edited = await decisions.run(partial(AnswerEngine.with_changes, upserts=[entry]))
    after: list[Decision] = []
    for start in range(0, len(messages), CHUNK):
        chunk = messages[start : start + CHUNK]
        after += await decisions.run(partial(_decide_on_copy, edited, chunk))
    replayed = len(questions)
    return DraftPreview(
        key=entry.key,
        asked=(before[-1], after[-1]) if asked is not None else None,
        since=since,
        replayed=replayed,
        before=Tally.of(before[:replayed], entry.key),
        after=Tally.of(after[:replayed], entry.key),
        changes=changed_decisions(messages[:replayed], before[:replayed], after[:replayed]),
    )


def _decide_on_copy(
    copy: AnswerEngine, messages: list[Message], _live: AnswerEngine
) -> list[Decision]:
    """The copy's decisions, made in the engine's thread (the one the copy's parts came from)."""
    return copy.decide_many(messages)
