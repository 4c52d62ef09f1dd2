"""Customers' questions whose right entry became known, read for the self-calibration on a real
database (SQLite, and PostgreSQL where it runs): agents' /faq, picks not taken back, 👍 answers
with the question they answered; one customer counts a few times at most; what became a
phrasing, or belongs to an entry no longer live, leaves. Questions customers said nothing the
bot weighed fitted (👎, "None of these") are read as such."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import transaction
from handoff.conversations import (
    NONE_OF_THESE,
    CustomerProfile,
    record_message,
    record_vote,
    register_customer,
)
from handoff.insights import choices
from handoff.insights.labels import PER_CUSTOMER, known_right_entries, labelled_questions
from handoff.models import Customer, Direction, MessageKind
from knowledge_base.formats import FaqEntryData
from knowledge_base.models import FaqEntry, PhrasingProposal, ProposalStatus
from knowledge_base.repository import get_entry, import_entries, propose_phrasing, set_deleted

Sessions = async_sessionmaker[AsyncSession]


async def _entries(session: AsyncSession) -> tuple[FaqEntry, FaqEntry]:
    faq = [
        FaqEntryData(key="refund", question="Как вернуть деньги?", answer="Напишите «возврат»."),
        FaqEntryData(key="courier", question="Где курьер?", answer="Смотрите трекинг."),
    ]
    await import_entries(session, faq, author="editor")
    refund, courier = (
        await get_entry(session, key="refund"),
        await get_entry(session, key="courier"),
    )
    assert refund is not None and courier is not None
    return refund, courier


async def _customer(session: AsyncSession, user_id: int) -> Customer:
    return await register_customer(session, CustomerProfile(user_id, user_id, "C"))


async def _thumbs_up(
    session: AsyncSession,
    customer: Customer,
    question: str,
    entry: FaqEntry,
    *,
    helpful: bool = True,
) -> None:
    record_message(session, customer, Direction.INBOUND, MessageKind.TEXT, text=question)
    await session.flush()
    answer = record_message(
        session, customer, Direction.OUTBOUND, MessageKind.TEXT, text="…", faq_key=entry.key
    )
    await session.flush()
    await record_vote(session, answer, helpful=helpful, faq_entry_id=entry.id)


async def _none_of_these(session: AsyncSession, customer: Customer, question: str) -> None:
    record_message(session, customer, Direction.INBOUND, MessageKind.TEXT, text=question)
    record_message(session, customer, Direction.OUTBOUND, MessageKind.TEXT, text="Did you mean…")
    record_message(session, customer, Direction.INBOUND, MessageKind.BUTTON, text=NONE_OF_THESE)
    await session.flush()


async def test_the_questions_whose_right_entry_is_known(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        refund, courier = await _entries(session)
        await propose_phrasing(session, refund, "деньги назад хочу", source="ticket:7")
        ann, bob = await _customer(session, 1), await _customer(session, 2)
        await choices.record_choice(
            session, customer_id=ann.id, entry=courier, question="курьер пропал", language="ru"
        )
        await choices.record_choice(
            session, customer_id=bob.id, entry=refund, question="верните оплату", language="ru"
        )
        await choices.withdraw_choice(session, customer_id=bob.id, entry_id=refund.id)
        await _thumbs_up(session, bob, "когда вернут деньги", refund)
    async with sessions() as session:
        known = await known_right_entries(session)
    assert sorted(known) == [
        ("деньги назад хочу", "refund"),  # an agent's /faq
        ("когда вернут деньги", "refund"),  # Bob's 👍 on the answer to it
        ("курьер пропал", "courier"),  # Ann's pick
    ]  # Bob's pick he took back is not there

    async with transaction(sessions) as session:  # accepted: a phrasing now, not a label
        accepted = await session.scalar(
            select(PhrasingProposal).where(PhrasingProposal.text == "курьер пропал")
        )
        assert accepted is not None
        accepted.status = ProposalStatus.ACCEPTED
        refund_entry = await get_entry(session, key="refund")
        assert refund_entry is not None  # and an entry deleted takes its labels along
        await set_deleted(session, refund_entry, True, author="editor", expected_version=None)
    async with sessions() as session:
        assert await known_right_entries(session) == []


async def test_one_customer_counts_a_few_times_at_most(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        refund, courier = await _entries(session)
        eager, other = await _customer(session, 1), await _customer(session, 2)
        for number in range(PER_CUSTOMER + 4):
            await choices.record_choice(
                session,
                customer_id=eager.id,
                entry=courier,
                question=f"курьер пропал {number}",
                language="ru",
            )
            await _thumbs_up(session, eager, f"деньги когда {number}", refund)
        await choices.record_choice(
            session, customer_id=other.id, entry=courier, question="где мой курьер", language="ru"
        )
    async with sessions() as session:
        known = await known_right_entries(session)
    picks = [text for text, key in known if key == "courier"]
    thumbs = [text for text, key in known if key == "refund"]
    assert len(picks) == PER_CUSTOMER + 1 and "где мой курьер" in picks
    assert len(thumbs) == PER_CUSTOMER
    # the newest of each kind are kept
    assert f"курьер пропал {PER_CUSTOMER + 3}" in picks and "курьер пропал 0" not in picks


async def test_questions_customers_said_nothing_offered_fitted(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        _, courier = await _entries(session)
        ann, bob, eager = [await _customer(session, n) for n in (1, 2, 3)]
        await _thumbs_up(session, ann, "где мой чек", courier, helpful=False)  # 👎 / "Not that"
        await _none_of_these(session, bob, "можно оплатить картой?")
        # Bob said no to the options, then picked the right entry for the same words elsewhere
        await _none_of_these(session, bob, "курьер потерялся")
        await choices.record_choice(
            session, customer_id=ann.id, entry=courier, question="курьер потерялся", language="ru"
        )
        for number in range(PER_CUSTOMER + 3):
            await _none_of_these(session, eager, f"скидка для студентов {number}")
    async with sessions() as session:
        labelled = await labelled_questions(session)
    rejected = [text for text, key in labelled if key is None]
    assert ("курьер потерялся", "courier") in labelled  # the right entry wins
    assert "курьер потерялся" not in rejected
    assert "где мой чек" in rejected and "можно оплатить картой?" in rejected
    eager_ones = [text for text in rejected if text.startswith("скидка")]
    assert len(eager_ones) == PER_CUSTOMER  # one customer cannot sway the thresholds
    assert f"скидка для студентов {PER_CUSTOMER + 2}" in eager_ones  # the newest kept
