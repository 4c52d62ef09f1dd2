"""The bot's part in learning from customers' choices (handoff.insights.choices): a pick from
"did you mean…" proposes the customer's question as a phrasing of the entry; their 👎 or "not
that" on the answer withdraws it; with auto-acceptance on, enough customers agreeing make it live."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from telegram import Message

from bot.customers.chat import Chat
from core.database import transaction
from handoff.conversations import sent_message
from handoff.insights import choices
from knowledge_base.language import detect_language
from knowledge_base.models import FaqEntry
from knowledge_base.repository import get_entry
from retrieval.decision import Turn
from retrieval.engine import AnswerEngine
from retrieval.sync import refresh_index


async def learn_from_pick(chat: Chat, faq_id: int, offer: Message) -> None:
    """The customer picked entry ``faq_id`` from the options in ``offer``."""
    services = chat.services
    async with transaction(services.sessions) as session:
        offered = await sent_message(session, chat.customer.id, offer.message_id)
        entry = await session.get(FaqEntry, faq_id)
        if offered is None or entry is None or not entry.is_live:
            return
        question = await choices.question_before(session, chat.customer.id, offered.id)
        if not question or not question.strip():
            return
        language = detect_language(question) or chat.language
        choice = await choices.record_choice(
            session, customer_id=chat.customer.id, entry=entry, question=question, language=language
        )
    needed = services.settings.learning_auto_accept_after
    if choice.proposal_id is None or needed < 2:
        return

    async def embed(texts: Sequence[str]) -> np.ndarray:
        def encode(engine: AnswerEngine) -> np.ndarray:
            return engine.embedder.encode(list(texts))

        return await services.decisions.run(encode)

    async with transaction(services.sessions) as session:
        entry = await session.get(FaqEntry, faq_id)
        if entry is None or not entry.is_live:
            return
        accepted = await choices.accept_if_agreed(
            session, entry=entry, text=question, customers_needed=needed, embed=embed
        )
    if accepted:
        await refresh_index(services.decisions, [entry])


async def withdraw_pick(chat: Chat, faq_id: int | None) -> None:
    """The customer said the entry they picked did not help (👎)."""
    if faq_id is None:
        return
    async with transaction(chat.services.sessions) as session:
        await choices.withdraw_choice(session, customer_id=chat.customer.id, entry_id=faq_id)


async def withdraw_last_answer(chat: Chat, history: Sequence[Turn]) -> None:
    """The customer said "not that" (or asked again) after the bot's last answer: a pick of
    that entry no longer counts."""
    key = next(
        (turn.faq_key for turn in reversed(history) if not turn.from_customer and turn.faq_key),
        None,
    )
    if key is None:
        return
    async with transaction(chat.services.sessions) as session:
        entry = await get_entry(session, key=key)
        if entry is not None:
            await choices.withdraw_choice(session, customer_id=chat.customer.id, entry_id=entry.id)
