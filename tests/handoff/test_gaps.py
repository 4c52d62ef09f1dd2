"""Knowledge gaps (SQLite and PostgreSQL): what the bot could not answer, grouped, with what
agents did about it (editors' decisions on proposed phrasings: test_phrasing_proposals.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import transaction
from handoff.conversations import CustomerProfile, register_customer
from handoff.desk.tickets import AgentProfile, register_agent
from handoff.insights import clustering, gaps, unanswered
from handoff.models import (
    AnswerVote,
    ConversationMessage,
    Customer,
    Direction,
    MessageKind,
    Ticket,
    TicketStatus,
)
from knowledge_base.formats import FaqEntryData
from retrieval.decision import Outcome, Reason
from tests.support.fakes import KeywordEmbedder

Sessions = async_sessionmaker[AsyncSession]
SINCE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=7)
EMBEDDER = KeywordEmbedder(["refund", "deliver", "password", "coupon", "парол"])


class History:
    """A synthetic conversation log: each message a minute after the one before."""

    def __init__(self, session: AsyncSession, start: datetime = SINCE) -> None:
        self.session = session
        self.clock = start

    async def customer(self, user_id: int, language: str = "en") -> Customer:
        profile = CustomerProfile(user_id, user_id, f"Customer {user_id}", language_code=language)
        return await register_customer(self.session, profile)

    async def message(
        self, customer: Customer, direction: Direction, kind: MessageKind, text: str, **fields: Any
    ) -> ConversationMessage:
        self.clock += timedelta(minutes=1)
        message = ConversationMessage(
            customer_id=customer.id,
            direction=direction,
            kind=kind,
            text=text,
            created_at=self.clock,
            **fields,
        )
        self.session.add(message)
        await self.session.flush()
        return message

    async def said(
        self, customer: Customer, text: str, outcome: Outcome, reason: Reason, **fields: Any
    ) -> ConversationMessage:
        return await self.message(
            customer,
            Direction.INBOUND,
            MessageKind.TEXT,
            text,
            outcome=outcome,
            reason=reason,
            **fields,
        )

    async def bot_says(
        self, customer: Customer, outcome: Outcome, reason: Reason, *keys: str, **fields: Any
    ) -> ConversationMessage:
        candidates = [
            {"faq_id": n, "faq_key": key, "question": key, "score": 0.5}
            for n, key in enumerate(keys)
        ]
        return await self.message(
            customer,
            Direction.OUTBOUND,
            MessageKind.TEXT,
            "…",
            outcome=outcome,
            reason=reason,
            details={"faq_id": None, "score": 0.5, "candidates": candidates},
            **fields,
        )

    async def handed_off(self, customer: Customer, text: str, *near: str) -> ConversationMessage:
        """Nothing in the FAQ fitted: the bot passed the question to a person."""
        question = await self.said(customer, text, Outcome.HANDOFF, Reason.LOW_CONFIDENCE)
        await self.bot_says(customer, Outcome.HANDOFF, Reason.LOW_CONFIDENCE, *near)
        return question

    async def not_that(self, customer: Customer, text: str, key: str) -> ConversationMessage:
        """Answered with an entry; the customer pressed 👎 "Not that"."""
        question = await self.said(customer, text, Outcome.ANSWER, Reason.CONFIDENT, faq_key=key)
        answer = await self.bot_says(customer, Outcome.ANSWER, Reason.CONFIDENT, key, faq_key=key)
        self.session.add(
            AnswerVote(
                answer_message_id=answer.id,
                customer_id=customer.id,
                faq_key=key,
                helpful=False,
                created_at=self.clock,
            )
        )
        return question

    async def none_of_these(
        self, customer: Customer, text: str, *offered: str
    ) -> tuple[ConversationMessage, ConversationMessage]:
        """The bot offered entries; the customer pressed "None of these" (the question, the press)."""
        question = await self.said(customer, text, Outcome.CLARIFY, Reason.AMBIGUOUS)
        await self.bot_says(customer, Outcome.CLARIFY, Reason.AMBIGUOUS, *offered)
        press = await self.message(customer, Direction.INBOUND, MessageKind.BUTTON, "none")
        await self.bot_says(customer, Outcome.HANDOFF, Reason.REPEATED_FAILURE)
        return question, press

    async def ticket(
        self,
        customer: Customer,
        opened_by: ConversationMessage,
        *replies: str,
        status: TicketStatus = TicketStatus.CLOSED,
        faq_key: str | None = None,
    ) -> Ticket:
        """A ticket the message opened, and what an agent wrote on it."""
        ticket = Ticket(
            customer_id=customer.id,
            status=status,
            reason=Reason.LOW_CONFIDENCE,
            language="en",
            subject=opened_by.text or "",
            opening_message_id=opened_by.id,
            faq_key=faq_key,
            created_at=self.clock,
        )
        self.session.add(ticket)
        await self.session.flush()
        agent = await register_agent(self.session, AgentProfile(900, "Olga", "olga"))
        for reply in replies:
            await self.message(
                customer,
                Direction.OUTBOUND,
                MessageKind.TEXT,
                reply,
                ticket_id=ticket.id,
                agent_id=agent.id,
            )
        return ticket


async def _gaps(sessions: Sessions, **options: Any) -> list[gaps.KnowledgeGap]:
    period: dict[str, Any] = {"since": SINCE, "until": UNTIL}
    return await gaps.knowledge_gaps(sessions, EMBEDDER, **(period | options))


async def test_unanswered_questions_are_grouped_by_meaning_and_ranked_by_volume(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        history = History(session)
        ann, bob, cy = [await history.customer(n) for n in (1, 2, 3)]
        await history.handed_off(ann, "I want a refund for last month", "cancel")
        await history.handed_off(bob, "how to get a refund", "cancel")
        await history.none_of_these(cy, "Refund please", "cancel", "plans")
        await history.not_that(bob, "my delivery is late", "delivery-cost")
        await history.handed_off(cy, "where is my delivery", "delivery-cost")
        await history.handed_off(ann, "password does not work")
        await history.handed_off(cy, "how to get a refund")

    found = await _gaps(sessions)

    refund, delivery, password = found
    assert [gap.volume for gap in found] == [4, 2, 1]
    assert refund.customers == 3
    assert refund.question == "how to get a refund"  # the most asked wording is the most typical
    assert sorted(refund.examples) == ["I want a refund for last month", "Refund please"]
    assert refund.nearest_faq_key == "cancel"
    assert refund.languages == ["en"]
    assert refund.first_seen == SINCE + timedelta(minutes=1)
    assert refund.last_seen == max(gap.last_seen for gap in found)
    assert {delivery.question, *delivery.examples} == {
        "my delivery is late",
        "where is my delivery",
    }
    assert delivery.nearest_faq_key == "delivery-cost"
    assert (password.question, password.examples, password.nearest_faq_key) == (
        "password does not work",
        [],
        None,
    )


async def test_requests_for_a_person_and_helpful_answers_are_not_gaps(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        history = History(session)
        ann = await history.customer(1)
        await history.said(ann, "operator please, refund", Outcome.HANDOFF, Reason.CUSTOMER_REQUEST)
        await history.said(ann, "refund of a coupon", Outcome.ANSWER, Reason.CONFIDENT)
        answer = await history.bot_says(ann, Outcome.ANSWER, Reason.CONFIDENT, "coupon")
        session.add(
            AnswerVote(answer_message_id=answer.id, customer_id=ann.id, faq_key="c", helpful=True)
        )
        await history.said(ann, "hello there", Outcome.CLARIFY, Reason.GREETING)
        await history.handed_off(ann, "password lost")

    found = await _gaps(sessions)

    assert [(gap.question, gap.volume) for gap in found] == [("password lost", 1)]


async def test_only_questions_asked_within_the_period_count(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        before = History(session, SINCE - timedelta(hours=1))
        ann = await before.customer(1)
        await before.handed_off(ann, "refund before the period")
        await History(session).handed_off(ann, "refund in the period")
        await History(session, UNTIL).handed_off(ann, "refund after the period")

    found = await _gaps(sessions)

    assert [(gap.question, gap.volume) for gap in found] == [("refund in the period", 1)]


async def test_gap_ids_stay_the_same_across_calls_and_as_questions_come(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        history = History(session)
        ann, bob = await history.customer(1), await history.customer(2)
        first_refund = await history.handed_off(ann, "refund now")
        await history.handed_off(bob, "delivery late")
        await history.handed_off(bob, "a refund?")

    first, again = await _gaps(sessions), await _gaps(sessions)
    async with transaction(sessions) as session:
        history = History(session, SINCE + timedelta(days=1))
        await history.handed_off(await history.customer(3), "refund my money")
    later = await _gaps(sessions)

    assert first == again
    assert first[0].id == f"gap-{first_refund.id}"
    assert [gap.id for gap in later] == [gap.id for gap in first]
    assert later[0].volume == 3


async def test_agents_replies_on_resolved_tickets_come_with_the_gap_and_draft_the_answer(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        history = History(session)
        ann, bob = await history.customer(1), await history.customer(2)
        asked = await history.handed_off(ann, "coupon expired, can I still use it")
        closed = await history.ticket(ann, asked, "Yes, within 7 days: Profile → Coupons.", "Bye")
        asked_again = await history.handed_off(bob, "coupon expired yesterday")
        await history.ticket(bob, asked_again, "Looking…", status=TicketStatus.OPEN)

    (gap,) = await _gaps(sessions)
    draft = gaps.gap_draft(gap, taken_keys={"coupon-expired-yesterday"})

    assert gap.ticket_ids == [closed.id]
    assert [reply.text for reply in gap.agent_replies] == [
        "Yes, within 7 days: Profile → Coupons.",
        "Bye",
    ]
    assert gap.agent_faq_key is None
    assert draft.kind == "new_entry"
    assert draft.faq_key == "coupon-expired-yesterday-2"
    assert (draft.question, draft.alt_questions) == (gap.question, gap.examples)
    assert draft.answer == "Yes, within 7 days: Profile → Coupons."
    assert (draft.language, draft.status) == ("en", "draft")
    posted = FaqEntryData.model_validate(
        draft.model_dump(exclude={"kind", "faq_key"}) | {"key": draft.faq_key}
    )
    assert posted.status == "draft"


async def test_a_gap_agents_answered_with_an_entry_suggests_phrasings_of_it(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        history = History(session)
        ann = await history.customer(1)
        _, press = await history.none_of_these(ann, "delivery to another city?", "delivery-cost")
        await history.ticket(ann, press, "Here is our entry.", faq_key="delivery-zones")
        await history.handed_off(ann, "delivery to my village")

    (gap,) = await _gaps(sessions)
    draft = gaps.gap_draft(gap)

    assert gap.agent_faq_key == "delivery-zones"
    assert (draft.kind, draft.faq_key, draft.answer) == ("add_phrasings", "delivery-zones", None)
    assert sorted(draft.alt_questions) == ["delivery to another city?", "delivery to my village"]


async def test_the_limit_keeps_the_newest_questions(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        history = History(session)
        ann = await history.customer(1)
        for text in ("refund 1", "refund 2", "password 3", "password 4"):
            await history.handed_off(ann, text)

    found = await _gaps(sessions, limit=3)

    assert [(gap.question, gap.volume) for gap in found] == [("password 4", 2), ("refund 2", 1)]


async def test_a_question_in_russian_is_told_apart_by_language(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        history = History(session)
        await history.handed_off(await history.customer(1), "не подходит пароль, что делать")

    (gap,) = await _gaps(sessions)

    assert gap.languages == ["ru"]


async def test_a_period_that_is_empty_or_too_big_a_limit_is_refused(sessions: Sessions) -> None:
    with pytest.raises(ValueError, match="must be before its end"):
        await _gaps(sessions, since=UNTIL, until=SINCE)
    with pytest.raises(ValueError, match="limit"):
        await _gaps(sessions, limit=unanswered.MAX_LIMIT + 1)


def test_every_two_questions_of_a_cluster_are_above_the_threshold() -> None:
    """b is close to a and to c, a and c are not: no chain of a, b, c in one cluster."""
    angles = np.radians([0.0, 25.0, 50.0])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)

    clusters = clustering.cluster_questions(["a", "b", "c"], vectors, threshold=0.85)

    assert sorted(cluster.members for cluster in clusters) == [(0, 1), (2,)]


def test_identical_wordings_share_a_cluster_and_weigh_by_their_number() -> None:
    """Two rows of one wording pull the centre to it: it represents the cluster."""
    texts = ["Refund, please", "Refund?", "money back", "refund? "]
    vectors = np.array([[0.96, 0.28], [1, 0], [0, 1], [1, 0]], dtype=np.float32)

    clusters = clustering.cluster_questions(texts, vectors, threshold=0.9)

    assert [(c.members, c.representative, c.examples) for c in clusters] == [
        ((0, 1, 3), 1, (0,)),
        ((2,), 2, ()),
    ]
