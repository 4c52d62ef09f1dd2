"""Knowledge gaps: the questions the bot could not answer, grouped by meaning, biggest first.

A question counts as unanswered when the bot handed it off because nothing in the FAQ fitted
(``low_confidence``), when the customer pressed 👎 "Not that" on the answer to it, or when they
pressed "None of these" on the options offered for it. Explicit requests for a person are not
gaps: the FAQ may well cover what the customer would have asked.

``knowledge_gaps`` reads the history, groups it in a worker thread (the embedder serialises
its own use, so the answer engine may embed meanwhile) and builds the gaps.

Editors also decide on the phrasings agents proposed (``/faq <key>`` on a ticket):
``pending_phrasing_proposals`` and ``decide_phrasing_proposal``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel
from sqlalchemy import CompoundSelect, ScalarSelect, SQLColumnExpression, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from handoff.conversations import NONE_OF_THESE
from handoff.insights.periods import check_period
from handoff.models import (
    AnswerVote,
    ConversationMessage,
    Customer,
    Direction,
    MessageKind,
    Ticket,
    TicketStatus,
)
from knowledge_base.formats import slugify
from knowledge_base.language import SUPPORTED_LANGUAGES, LanguageCode, detect_language
from knowledge_base.models import EntryStatus, FaqEntry, PhrasingProposal, ProposalStatus
from knowledge_base.repository import change_entry, entry_data
from retrieval.decision import Outcome, Reason
from retrieval.embedder import Embedder, Vectors

# Measured with multilingual-e5-small on evals/dev.json and holdout_bystro.json (FAQ phrasings
# and customers' queries, grouped by the entry they mean): the median cosine of two questions
# meaning the same is 0.87, and one pair in ten of different questions is above 0.84-0.86. At
# 0.88, 86 % / 75 % of questions share their cluster with mostly their own kind (0.90: 95 % /
# 91 %, but only one same-meaning pair in nine is joined). A mixed cluster misleads an editor
# more than a gap split in two does, so the default leans to purity.
DEFAULT_THRESHOLD = 0.88
# Newest questions first. The similarity matrix is questions², float32: 2,000 -> 16 MB, 5,000 ->
# 100 MB, and the greedy pass is quadratic too; beyond that, narrow the period.
DEFAULT_LIMIT = 2000
MAX_LIMIT = 5000
MAX_EXAMPLES = 5
# What an entry holds (knowledge_base.formats.FaqEntryData): longer words are cut, more dropped.
MAX_PHRASING = 1000
MAX_PHRASINGS = 500
MAX_AGENT_REPLIES = 10
# The customer's words were not a question for the FAQ: the bot was right not to answer.
NOT_QUESTIONS = (
    Reason.CUSTOMER_REQUEST,
    Reason.GREETING,
    Reason.THANKS,
    Reason.SMALLTALK,
    Reason.EMPTY,
    Reason.NOT_TEXT,
)
RESOLVED_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
# A message id column, of a table where it is required or of one where it may be missing.
MessageId = SQLColumnExpression[int] | SQLColumnExpression[int | None]
_SUPPORTED: dict[str, LanguageCode] = {code: code for code in SUPPORTED_LANGUAGES}


# --- the boundary: what the admin API serves ---------------------------------------------------


class AgentReply(BaseModel):
    """What an agent wrote to the customer on a resolved ticket opened by a gap question."""

    ticket_id: int
    text: str
    faq_key: str | None  # set when the agent sent an FAQ entry (/faq <key>)
    sent_at: datetime


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


class PendingPhrasing(BaseModel):
    """A customer's wording an agent's answer proposed as a phrasing of an entry."""

    proposal_id: int
    text: str
    source: str  # e.g. "ticket:12"
    proposed_at: datetime
    faq_key: str
    entry_question: str


class PhrasingDecision(BaseModel):
    """What deciding on a proposal changed; re-index ``faq_key`` when ``entry_changed``."""

    proposal_id: int
    status: ProposalStatus
    faq_key: str
    entry_version: int
    entry_changed: bool


class UnknownProposal(LookupError):
    """No phrasing proposal has this id."""


class ProposalConflict(ValueError):
    """The proposal was accepted or rejected before, or its entry is deleted."""


# --- step 1: reading the history ---------------------------------------------------------------


@dataclass(frozen=True)
class UnansweredQuestion:
    message_id: int
    customer_id: int
    text: str
    asked_at: datetime
    customer_language: str
    nearest_faq_key: str | None
    ticket_id: int | None  # the resolved ticket it opened


@dataclass(frozen=True)
class GapHistory:
    """The unanswered questions of a period, newest first, and what agents did about them."""

    questions: list[UnansweredQuestion]
    agent_replies: dict[int, list[AgentReply]]  # by ticket id, oldest first
    ticket_faq_keys: dict[int, str]

    @property
    def texts(self) -> list[str]:
        return [question.text for question in self.questions]


def _check_period(since: datetime, until: datetime, limit: int) -> None:
    check_period(since, until)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1 to {MAX_LIMIT}, not {limit}; narrow the period instead")


def _question_up_to(
    customer_id: SQLColumnExpression[int], message_id: MessageId
) -> ScalarSelect[int]:
    """The customer's latest text at or before a message: the question that message was about."""
    earlier = aliased(ConversationMessage)
    return (
        select(func.max(earlier.id))
        .where(
            earlier.customer_id == customer_id,
            earlier.direction == Direction.INBOUND,
            earlier.kind == MessageKind.TEXT,
            earlier.id <= message_id,
        )
        .scalar_subquery()
    )


def _bot_reply_to(
    customer_id: SQLColumnExpression[int], message_id: MessageId
) -> ScalarSelect[int]:
    """The bot's first message after the customer's: it holds the entries the engine weighed."""
    later = aliased(ConversationMessage)
    return (
        select(func.min(later.id))
        .where(
            later.customer_id == customer_id,
            later.direction == Direction.OUTBOUND,
            later.agent_id.is_(None),
            later.id > message_id,
        )
        .scalar_subquery()
    )


def _unanswered_ids(since: datetime) -> CompoundSelect:
    """Ids of the questions behind each kind of failure (the period is checked on the questions;
    a vote or a button press comes after its question, so ``since`` already narrows them)."""
    message = ConversationMessage
    handed_off = select(message.id).where(
        message.direction == Direction.INBOUND,
        message.kind == MessageKind.TEXT,
        message.outcome == Outcome.HANDOFF,
        message.reason == Reason.LOW_CONFIDENCE,
        message.created_at >= since,
    )
    not_that = select(_question_up_to(AnswerVote.customer_id, AnswerVote.answer_message_id)).where(
        AnswerVote.helpful.is_(False), AnswerVote.created_at >= since
    )
    none_of_these = select(_question_up_to(message.customer_id, message.id)).where(
        message.direction == Direction.INBOUND,
        message.kind == MessageKind.BUTTON,
        message.text == NONE_OF_THESE,
        message.created_at >= since,
    )
    return union(handed_off, not_that, none_of_these)


def _nearest_key(reply_key: str | None, reply_details: dict[str, Any] | None) -> str | None:
    candidates = (reply_details or {}).get("candidates") or []
    return str(candidates[0]["faq_key"]) if candidates else reply_key


async def unanswered_questions(
    session: AsyncSession, *, since: datetime, until: datetime, limit: int = DEFAULT_LIMIT
) -> GapHistory:
    """The questions asked in ``[since, until)`` that the bot did not answer, newest ``limit``."""
    _check_period(since, until, limit)
    question = ConversationMessage
    reply = aliased(ConversationMessage)
    rows = await session.execute(
        select(question, Customer.language, reply.faq_key, reply.details)
        .join(Customer, Customer.id == question.customer_id)
        .outerjoin(reply, reply.id == _bot_reply_to(question.customer_id, question.id))
        .where(
            question.id.in_(_unanswered_ids(since)),
            question.created_at >= since,
            question.created_at < until,
            or_(question.reason.is_(None), question.reason.not_in(NOT_QUESTIONS)),
        )
        .order_by(question.created_at.desc(), question.id.desc())
        .limit(limit)
    )
    found = [
        (message, language, _nearest_key(reply_key, details))
        for message, language, reply_key, details in rows
        if (message.text or "").strip()
    ]
    tickets = await _resolved_tickets(session, since, {message.id for message, _, _ in found})
    questions = [
        UnansweredQuestion(
            message_id=message.id,
            customer_id=message.customer_id,
            text=" ".join((message.text or "").split()),
            asked_at=message.created_at,
            customer_language=language,
            nearest_faq_key=nearest,
            ticket_id=tickets.get(message.id, (None, None))[0],
        )
        for message, language, nearest in found
    ]
    faq_keys = {ticket_id: key for ticket_id, key in tickets.values() if key}
    replies = await _agent_replies(session, [ticket_id for ticket_id, _ in tickets.values()])
    return GapHistory(questions, replies, faq_keys)


async def _resolved_tickets(
    session: AsyncSession, since: datetime, question_ids: set[int]
) -> dict[int, tuple[int, str | None]]:
    """Question id -> (ticket id, the FAQ key agents answered with) for the resolved tickets
    these questions opened: the ticket's opening message is the question or a press right after."""
    if not question_ids:
        return {}
    rows = await session.execute(
        select(
            _question_up_to(Ticket.customer_id, Ticket.opening_message_id),
            Ticket.id,
            Ticket.faq_key,
        )
        .where(
            Ticket.created_at >= since,
            Ticket.opening_message_id.is_not(None),
            Ticket.status.in_(RESOLVED_STATUSES),
        )
        .order_by(Ticket.id)
    )
    tickets: dict[int, tuple[int, str | None]] = {}
    for question_id, ticket_id, faq_key in rows:
        if question_id in question_ids:
            tickets.setdefault(question_id, (ticket_id, faq_key))
    return tickets


async def _agent_replies(
    session: AsyncSession, ticket_ids: Sequence[int]
) -> dict[int, list[AgentReply]]:
    if not ticket_ids:
        return {}
    message = ConversationMessage
    rows = await session.execute(
        select(Ticket.id, message.text, message.faq_key, message.created_at)
        .join(Ticket, Ticket.id == message.ticket_id)
        .where(
            Ticket.id.in_(ticket_ids),
            message.direction == Direction.OUTBOUND,
            message.agent_id.is_not(None),
            message.kind == MessageKind.TEXT,
            message.text.is_not(None),
        )
        .order_by(message.id)
    )
    replies: dict[int, list[AgentReply]] = {}
    for ticket_id, text, faq_key, sent_at in rows:
        replies.setdefault(ticket_id, []).append(
            AgentReply(ticket_id=ticket_id, text=text, faq_key=faq_key, sent_at=sent_at)
        )
    return replies


# --- step 2: grouping by meaning (CPU: run it in a worker thread) ------------------------------


@dataclass(frozen=True)
class QuestionCluster:
    """Rows of the input that mean the same; rows are indices into the texts given."""

    members: tuple[int, ...]  # ascending
    representative: int  # the row whose wording is closest to the cluster's centre
    examples: tuple[int, ...]  # other distinct wordings, closest to the centre first


@dataclass(frozen=True)
class GroupedQuestions:
    clusters: list[QuestionCluster]
    languages: list[LanguageCode | None]  # one per input row


def _wording(text: str) -> str:
    return " ".join(text.split()).casefold()


def cluster_questions(
    texts: Sequence[str], vectors: Vectors, threshold: float = DEFAULT_THRESHOLD
) -> list[QuestionCluster]:
    """Group questions by meaning; ``vectors[i]`` is ``texts[i]`` embedded and normalised.

    Every two wordings in a cluster have a cosine of at least ``threshold`` (complete linkage):
    when all cosines crowd together, as multilingual-e5's do, anything looser chains unrelated
    questions into one cluster. Greedy, in O(n²): the wording with the most questions within
    ``threshold`` among those not yet grouped seeds a cluster, which then takes, one at a time,
    the wording closest to all its members while that stays above ``threshold``. Identical
    wordings (case and spacing aside) always share a cluster and weigh by their number of rows.
    Ties go to the earlier row, so the same input gives the same clusters.
    """
    if len(texts) != len(vectors):
        raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold is a cosine in (0, 1], not {threshold}")
    rows_of: dict[str, list[int]] = {}
    for row, text in enumerate(texts):
        rows_of.setdefault(_wording(text), []).append(row)
    wordings = list(rows_of.values())
    first_rows = [rows[0] for rows in wordings]
    unique = np.asarray(vectors, dtype=np.float32)[first_rows]
    weights = np.array([len(rows) for rows in wordings], dtype=np.int64)
    similarity = unique @ unique.T
    close = (similarity >= threshold).astype(np.int64)
    # Questions within reach of each wording, counting only those not yet in a cluster.
    reach = close @ weights
    free = np.ones(len(wordings), dtype=bool)
    clusters: list[QuestionCluster] = []
    while free.any():
        members = _grow(int(np.argmax(np.where(free, reach, -1))), similarity, free, threshold)
        reach -= close[:, members] @ weights[members]
        clusters.append(_cluster(np.array(members), unique, weights, wordings))
    return clusters


def _grow(
    seed: int, similarity: np.ndarray[Any, Any], free: np.ndarray[Any, Any], threshold: float
) -> list[int]:
    """The seed's cluster: free wordings added while each is close to every member."""
    members = [seed]
    free[seed] = False
    # Each wording's lowest cosine to the members so far.
    weakest = similarity[seed].copy()
    while True:
        fitting = np.where(free, weakest, -np.inf)
        best = int(np.argmax(fitting))
        if fitting[best] < threshold:
            return members
        members.append(best)
        free[best] = False
        np.minimum(weakest, similarity[best], out=weakest)


def _cluster(
    members: np.ndarray[Any, Any],
    unique: Vectors,
    weights: np.ndarray[Any, Any],
    wordings: list[list[int]],
) -> QuestionCluster:
    centre = (unique[members] * weights[members, None]).sum(axis=0)
    closeness = unique[members] @ centre
    # Stable sort: of equally typical wordings, the earlier one comes first.
    typical = [int(members[i]) for i in np.argsort(-closeness, kind="stable")]
    return QuestionCluster(
        members=tuple(sorted(row for wording in typical for row in wordings[wording])),
        representative=wordings[typical[0]][0],
        examples=tuple(wordings[wording][0] for wording in typical[1 : MAX_EXAMPLES + 1]),
    )


def group_questions(
    embedder: Embedder, texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD
) -> GroupedQuestions:
    """Embed, cluster and tell the languages of the texts: all the CPU work of a gap report.

    The texts go to the embedder as they are, as the answer engine sends customers' messages:
    the embedder adds the model's query prompt (e5's ``query: ``) itself.
    """
    firsts: dict[str, int] = {}
    for row, text in enumerate(texts):
        firsts.setdefault(_wording(text), row)
    distinct = list(firsts.values())
    encoded = embedder.encode([texts[row] for row in distinct])
    position = {wording: index for index, wording in enumerate(firsts)}
    vectors = encoded[[position[_wording(text)] for text in texts]]
    detected = [detect_language(texts[row]) for row in distinct]
    languages = [detected[position[_wording(text)]] for text in texts]
    return GroupedQuestions(cluster_questions(texts, vectors, threshold), languages)


# --- step 3: describing the gaps ---------------------------------------------------------------


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


def _phrasing(text: str) -> str:
    """A customer's words cut to what an entry's phrasing may hold."""
    return text[:MAX_PHRASING]


def gap_draft(gap: KnowledgeGap, *, taken_keys: Collection[str] = ()) -> GapDraft:
    """What to suggest to the editor: the phrasings for the entry agents answered with, or a new
    draft entry keyed by the question (made unique against ``taken_keys``, the existing keys)."""
    if gap.agent_faq_key is not None:
        return GapDraft(
            kind="add_phrasings",
            faq_key=gap.agent_faq_key,
            question=None,
            alt_questions=[_phrasing(text) for text in (gap.question, *gap.examples)],
            answer=None,
            language=None,
            status=None,
        )
    own_words = (reply.text for reply in gap.agent_replies if reply.faq_key is None)
    return GapDraft(
        kind="new_entry",
        faq_key=_free_key(slugify(gap.question), taken_keys),
        question=_phrasing(gap.question),
        alt_questions=[_phrasing(text) for text in gap.examples],
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


# --- phrasings proposed by agents --------------------------------------------------------------


async def pending_phrasing_proposals(session: AsyncSession) -> list[PendingPhrasing]:
    """Proposals no editor has decided on yet, oldest first, with the entry they would extend."""
    rows = await session.execute(
        select(PhrasingProposal, FaqEntry.key, FaqEntry.question)
        .join(FaqEntry, FaqEntry.id == PhrasingProposal.entry_id)
        .where(PhrasingProposal.status == ProposalStatus.PROPOSED, FaqEntry.deleted_at.is_(None))
        .order_by(PhrasingProposal.created_at, PhrasingProposal.id)
    )
    return [
        PendingPhrasing(
            proposal_id=proposal.id,
            text=proposal.text,
            source=proposal.source,
            proposed_at=proposal.created_at,
            faq_key=key,
            entry_question=question,
        )
        for proposal, key, question in rows
    ]


async def decide_phrasing_proposal(
    session: AsyncSession, proposal_id: int, *, accept: bool, author: str
) -> PhrasingDecision:
    """Accept (the text becomes an alternative phrasing: a new version of the entry) or reject."""
    proposal = await session.get(PhrasingProposal, proposal_id)
    if proposal is None:
        raise UnknownProposal(f"no phrasing proposal {proposal_id}")
    if proposal.status != ProposalStatus.PROPOSED:
        raise ProposalConflict(f"phrasing proposal {proposal_id} is already {proposal.status}")
    entry = await session.get(FaqEntry, proposal.entry_id)
    assert entry is not None  # the proposal's foreign key cascades on delete
    if accept and entry.deleted_at is not None:
        raise ProposalConflict(f"entry '{entry.key}' is deleted: restore it first")
    changed = accept and await add_phrasings(session, entry, [proposal.text], author=author)
    proposal.status = ProposalStatus.ACCEPTED if accept else ProposalStatus.REJECTED
    await session.flush()
    return PhrasingDecision(
        proposal_id=proposal.id,
        status=ProposalStatus(proposal.status),
        faq_key=entry.key,
        entry_version=entry.version,
        entry_changed=changed,
    )


async def add_phrasings(
    session: AsyncSession, entry: FaqEntry, texts: Sequence[str], *, author: str
) -> bool:
    """Add customers' wordings to the entry's phrasings as one new version; False when it has
    them all already (an editor added them meanwhile)."""
    known = {_wording(phrasing) for phrasing in entry.phrasings}
    room = MAX_PHRASINGS - len(entry.alt_questions)
    new = [text for text in dict.fromkeys(map(_phrasing, texts)) if _wording(text) not in known][
        : max(room, 0)
    ]
    if not new:
        return False
    data = entry_data(entry)
    extended = data.model_copy(update={"alt_questions": [*data.alt_questions, *new]})
    return await change_entry(
        session, entry, extended, author=author, expected_version=None, change="phrasings added"
    )
