"""Each customer's forum topic in an agents' group: which it is, keeping its name current, and a
new one when there is none (or agents deleted it). A customer keeps a topic in every group they
reached, so a ticket that comes back to a team finds its old topic there."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.delivery import SINGLE_ATTEMPT
from bot.outbox import is_not_modified
from core.database import transaction
from handoff.models import Customer, CustomerTopic

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topic:
    chat_id: int
    thread_id: int


def topic_of(customer: Customer) -> Topic | None:
    """The customer's current topic."""
    if customer.topic_chat_id is None or customer.topic_id is None:
        return None
    return Topic(customer.topic_chat_id, customer.topic_id)


async def remember_topic(session: AsyncSession, customer_id: int, topic: Topic, title: str) -> None:
    """The customer's topic in this group, kept after the ticket moves to another team's."""
    known = await session.scalar(
        select(CustomerTopic).where(
            CustomerTopic.customer_id == customer_id, CustomerTopic.chat_id == topic.chat_id
        )
    )
    if known is None:
        session.add(
            CustomerTopic(
                customer_id=customer_id,
                chat_id=topic.chat_id,
                topic_id=topic.thread_id,
                title=title,
            )
        )
    else:
        known.topic_id, known.title = topic.thread_id, title


class Topics:
    """The customers' topics as Telegram and the database know them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], bot: ExtBot[Any]) -> None:
        self.sessions = sessions
        self.bot = bot

    async def ensure(
        self, customer: Customer, title: str, group: int, known: CustomerTopic | None
    ) -> Topic:
        """The customer's topic in ``group`` (their current one, or one they had there before),
        renamed to ``title``; a new one (saved at once) when they have none there or agents
        deleted it. It becomes their current topic."""
        current = topic_of(customer)
        if current is not None and current.chat_id == group:
            topic, old_title = current, customer.topic_title
        elif known is not None:
            topic, old_title = Topic(known.chat_id, known.topic_id), known.title
        else:
            topic, old_title = None, None
        if topic is not None and await self.rename(topic, old_title, title):
            if title != customer.topic_title or topic != current:
                await self._save(customer, topic, title)
            return topic
        created = await self.bot.create_forum_topic(group, title)
        topic = Topic(group, created.message_thread_id)
        await self._save(customer, topic, title)
        return topic

    async def _save(self, customer: Customer, topic: Topic, title: str) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Customer)
                .where(Customer.id == customer.id)
                .values(topic_chat_id=topic.chat_id, topic_id=topic.thread_id, topic_title=title)
            )
            await remember_topic(session, customer.id, topic, title)
        customer.topic_chat_id, customer.topic_id = topic.chat_id, topic.thread_id
        customer.topic_title = title

    async def rename(self, topic: Topic, old: str | None, new: str) -> bool:
        """Keep the topic's name current; False when the topic is gone (agents deleted it)."""
        if old == new:
            return True
        try:
            await self.bot.edit_forum_topic(
                topic.chat_id, topic.thread_id, name=new, rate_limit_args=SINGLE_ATTEMPT
            )
        except BadRequest as error:
            if is_not_modified(error) or "topic_not_modified" in str(error).lower():
                return True
            logger.warning("the topic %s is gone (%s): opening a new one", topic.thread_id, error)
            return False
        return True
