"""The inbox and outbox machinery on a real database (SQLite and PostgreSQL): lanes keep a chat's
order and let chats pass each other, a claimed row is nobody else's until its lease ends, an
interrupted attempt is told apart, finished rows are purged in time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.inbox import RawUpdate, store_updates
from core.database import transaction, utcnow
from core.queues import (
    InboxUpdate,
    Lane,
    LaneRunner,
    QueueStatus,
    claim_next,
    purge_finished,
    release_claims,
    settle,
)


def _updates(*chats: int) -> list[RawUpdate]:
    return [RawUpdate(number, chat, "{}") for number, chat in enumerate(chats, start=1)]


class Recorder(LaneRunner):
    """Works inbox rows by sleeping a while per row and noting when each started and ended."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], slow_chat: int) -> None:
        super().__init__("test", sessions, InboxUpdate, InboxUpdate.chat_key, poll_seconds=0.05)
        self.slow_chat = slow_chat
        self.log: list[str] = []

    async def step(self, lane: Lane) -> bool:
        claimed = await claim_next(self.sessions, InboxUpdate, InboxUpdate.chat_key, lane)
        if claimed is None:
            return False
        row = claimed.row
        self.log.append(f"start {row.update_id}")
        await asyncio.sleep(0.2 if lane == self.slow_chat else 0.0)
        self.log.append(f"end {row.update_id}")
        await settle(self.sessions, InboxUpdate, row.id, status=QueueStatus.DONE)
        return claimed.more


async def test_a_chats_updates_go_in_order_and_another_chat_does_not_wait(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await store_updates(sessions, _updates(1, 1, 1, 2))  # chat 1 is slow, chat 2 comes last
    recorder = Recorder(sessions, slow_chat=1)
    await recorder.drain()
    log = recorder.log
    assert [entry for entry in log if entry.endswith(("1", "2", "3"))] == [
        "start 1", "end 1", "start 2", "end 2", "start 3", "end 3"
    ]  # fmt: skip
    assert log.index("end 4") < log.index("end 1")  # chat 2 passed chat 1's backlog


async def test_a_stored_update_is_stored_once_however_often_telegram_sends_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await store_updates(sessions, _updates(7))
    await store_updates(sessions, _updates(7))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxUpdate)) == 1


async def test_a_claimed_row_is_nobody_elses_and_a_cut_off_attempt_is_told_apart(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await store_updates(sessions, _updates(5, 5))
    first = await claim_next(sessions, InboxUpdate, InboxUpdate.chat_key, 5)
    assert first is not None and not first.interrupted and first.more
    # Another worker: the chat's head is taken, and the row behind it may not overtake it.
    assert await claim_next(sessions, InboxUpdate, InboxUpdate.chat_key, 5) is None
    await release_claims(sessions, InboxUpdate)  # the worker died (SQLite: one process)
    again = await claim_next(sessions, InboxUpdate, InboxUpdate.chat_key, 5)
    assert again is not None
    assert (again.row.update_id, again.row.attempts, again.interrupted) == (1, 2, True)


async def test_finished_rows_are_purged_after_their_time_and_pending_ones_never(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await store_updates(sessions, _updates(1, 2, 3))
    long_ago = utcnow() - timedelta(days=8)
    async with transaction(sessions) as session:
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_([1, 2]))
            .values(status=QueueStatus.DONE, finished_at=long_ago)
        )
        await session.execute(
            update(InboxUpdate).where(InboxUpdate.update_id == 2).values(finished_at=utcnow())
        )
    purged = await purge_finished(sessions, InboxUpdate, InboxUpdate.finished_at, timedelta(days=7))
    async with sessions() as session:
        left = list(await session.scalars(select(InboxUpdate.update_id).order_by(InboxUpdate.id)))
    assert (purged, left) == (1, [2, 3])
