"""The two durable queues between Firstline and Telegram, kept in the same database as the rest.

- The **inbox** holds every update as it arrived, unique by Telegram's ``update_id``, committed
  before Telegram is told it was received (the next ``getUpdates`` offset, the webhook's 200).
  Processing reads from here; an update not finished (crash, database fault) is processed again.
- The **outbox** holds everything the product sends, committed with the decision that caused it;
  a sender delivers rows in order per destination chat, with retries that survive restarts.

Rows are claimed with a lease (``claimed_until``) by a conditional UPDATE, so several replicas on
one PostgreSQL never work on the same row at once, and a replica that died releases its rows when
the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    String,
    Text,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column
from sqlalchemy.sql import Executable

from core.database import Base, UtcDateTime, transaction, utcnow

logger = logging.getLogger(__name__)

# How long a claimed row is a worker's: longer than any one attempt takes (Telegram calls are
# bounded by their timeouts and the rate limiter's few retries), short enough that a crashed
# worker's rows are taken over soon.
LEASE = timedelta(seconds=30)
BATCH = 500


class QueueStatus(StrEnum):
    PENDING = "pending"  # waiting (again, after a failed attempt: see next_attempt_at)
    DONE = "done"  # processed / delivered
    FAILED = "failed"  # given up: the reason is in last_error


class QueuedRow:
    """What the inbox and the outbox share: a status, attempts, the next attempt, a lease."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=QueueStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)


class InboxUpdate(QueuedRow, Base):
    """One Telegram update, raw, as it arrived."""

    __tablename__ = "inbox_updates"
    __table_args__ = (
        Index("ix_inbox_updates_pending", "status", "next_attempt_at", "id"),
        Index("ix_inbox_updates_lane", "chat_key", "status", "id"),  # a lane's head, claimed
    )

    update_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # The chat it belongs to: updates of one chat are processed in order (None: no chat).
    chat_key: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    payload: Mapped[str] = mapped_column(Text)  # the update's JSON as Telegram sent it
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class OutboxMessage(QueuedRow, Base):
    """One call to the Bot API the product wants made (a message, a copy, an edit…)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_pending", "status", "next_attempt_at", "id"),
        Index("ix_outbox_messages_chat", "chat_id", "status", "id"),
    )

    chat_id: Mapped[int] = mapped_column(BigInteger)  # the destination: its rows go in order
    method: Mapped[str] = mapped_column(String(40))  # the Bot API method
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The conversation message this delivery is (its Telegram id is filled in once sent), the
    # ticket it belongs to (agents see "not delivered yet" there), and what it is for.
    conversation_message_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    purpose: Mapped[str] = mapped_column(String(32), default="reply")
    # The update whose processing wanted it sent: a replayed update that already has rows here
    # was answered before a crash and is not processed again (bot.inbox).
    update_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    # Whether the agents were told it is late (once), and the message id Telegram gave it.
    late_notice_sent: Mapped[bool] = mapped_column(default=False)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


Row = TypeVar("Row", bound=QueuedRow)
Lane = int | None


@dataclass(frozen=True)
class Claim(Generic[Row]):
    row: Row  # claimed for this worker, its attempts counted
    interrupted: bool  # an earlier claim of it never finished (a crash mid-attempt)
    more: bool  # the lane has another pending row behind it


async def claim_next(
    sessions: async_sessionmaker[AsyncSession],
    model: type[Row],
    lane_column: InstrumentedAttribute[Any],
    lane: Lane,
) -> Claim[Row] | None:
    """The lane's oldest pending row, claimed for this worker; None when the lane's head is not
    due or another worker holds it. Rows of a lane are taken strictly in order."""
    now = utcnow()
    async with transaction(sessions) as session:
        head = list(
            await session.scalars(
                select(model)
                .where(
                    model.status == QueueStatus.PENDING,
                    lane_column.is_(None) if lane is None else lane_column == lane,
                )
                .order_by(model.id)
                .limit(2)  # the second says whether to look again after this one
            )
        )
        if not head:
            return None
        row = head[0]
        if row.next_attempt_at > now:
            return None
        if row.claimed_until is not None and row.claimed_until > now:
            return None
        interrupted = row.claimed_until is not None
        claimed = await session.execute(
            update(model)
            .where(
                model.id == row.id,
                model.status == QueueStatus.PENDING,
                or_(model.claimed_until.is_(None), model.claimed_until <= now),
            )
            .values(claimed_until=now + LEASE, attempts=model.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        session.expunge(row)  # what follows is not to be written back at commit
        row.attempts += 1
        row.claimed_until = now + LEASE
        return Claim(row, interrupted, more=len(head) > 1)


async def settle(
    sessions: async_sessionmaker[AsyncSession],
    model: type[QueuedRow],
    row_id: int,
    *,
    along: Executable | None = None,
    **values: Any,
) -> None:
    """Write a row's outcome and release it, waiting out a database fault: an outcome not
    written would make the row be worked on again. ``along`` is a statement that belongs to the
    outcome, written in the same transaction."""
    values["claimed_until"] = None
    delay = 0.5
    while True:
        try:
            async with transaction(sessions) as session:
                if along is not None:
                    await session.execute(along)
                await session.execute(
                    update(model)
                    .where(model.id == row_id)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
            return
        except Exception as failure:
            logger.warning(
                "the outcome of %s %s not stored (%s); retrying",
                model.__name__,
                row_id,
                type(failure).__name__,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


class LaneRunner:
    """Works a queue table lane by lane: one task per lane (a chat) with a due head row, each
    lane's rows one after another, at most ``max_lanes`` lanes at once — so one chat's backlog
    holds one slot and never delays the others. A subclass's ``step(lane)`` handles the lane's
    next row and says whether to go on with the lane."""

    def __init__(
        self,
        name: str,
        sessions: async_sessionmaker[AsyncSession],
        model: type[QueuedRow],
        lane_column: InstrumentedAttribute[Any],
        *,
        max_lanes: int = 64,
        poll_seconds: float = 1.0,
    ) -> None:
        self.name = name
        self.sessions = sessions
        self.model = model
        self.lane_column = lane_column
        self.poll_seconds = poll_seconds
        self._slots = asyncio.Semaphore(max_lanes)
        self._wake = asyncio.Event()
        self._busy: dict[Lane, asyncio.Task[None]] = {}
        self._again: set[Lane] = set()  # busy lanes woken again: they go round once more
        self._task: asyncio.Task[None] | None = None
        self._steps = 0  # rows worked on so far (``drain`` stops when a round moves none)

    async def step(self, lane: Lane) -> bool:
        raise NotImplementedError

    def wake(self, *lanes: Lane) -> None:
        """Rows were committed: work these lanes now — without reading the whole queue, which
        under load would be read again after every row. With no lane named, look through the
        whole queue for due lanes."""
        if not lanes:
            self._wake.set()
            return
        for lane in lanes:
            if lane in self._busy:
                self._again.add(lane)  # it may be past its last look at the table
            else:
                self._busy[lane] = asyncio.create_task(self._work(lane))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"firstline-{self.name}")

    async def stop(self) -> None:
        tasks = [task for task in (self._task, *self._busy.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Work every lane until no row is due (what is waiting for a retry stays)."""
        while True:
            before = self._steps
            self._start_due(await self._due_lanes())
            await asyncio.gather(*self._busy.values(), return_exceptions=True)
            if self._steps == before:  # nothing moved: the rest waits or is another's
                return

    def _start_due(self, lanes: list[Lane]) -> None:
        for lane in lanes:
            if lane not in self._busy:
                self._busy[lane] = asyncio.create_task(self._work(lane))

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                self._start_due(await self._due_lanes())
            except Exception as error:  # the database is away: try again shortly
                logger.warning("the %s could not be read (%s)", self.name, type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _due_lanes(self) -> list[Lane]:
        now = utcnow()
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(self.lane_column, self.model.next_attempt_at)
                    .where(self.model.status == QueueStatus.PENDING)
                    .order_by(self.model.id)
                    .limit(BATCH)
                )
            ).all()
        head_due: dict[Lane, bool] = {}
        for lane, due in rows:
            # A lane whose oldest row waits for a retry waits whole: order before speed.
            head_due.setdefault(lane, due <= now)
        return [lane for lane, due in head_due.items() if due]

    async def _work(self, lane: Lane) -> None:
        try:
            async with self._slots:
                while True:
                    self._again.discard(lane)
                    while await self.step(lane):
                        self._steps += 1
                    if lane not in self._again:
                        break
        except Exception:
            logger.exception("the %s lane %s failed; it is tried again", self.name, lane)
            self._wake.set()
        finally:
            self._busy.pop(lane, None)
            self._again.discard(lane)


async def release_claims(sessions: async_sessionmaker[AsyncSession], model: type[QueuedRow]) -> int:
    """End every lease at once — only where no other process can hold one (SQLite: one process
    runs the bot). The rows keep their mark of an interrupted attempt. How many were released."""
    now = utcnow()
    async with transaction(sessions) as session:
        released = await session.execute(
            update(model)
            .where(model.status == QueueStatus.PENDING, model.claimed_until > now)
            .values(claimed_until=now)
            .execution_options(synchronize_session=False)
        )
    return int(released.rowcount)  # type: ignore[attr-defined]


DELIVERY_STATES = {
    QueueStatus.PENDING: "pending",
    QueueStatus.DONE: "delivered",
    QueueStatus.FAILED: "failed",
}


async def delivery_states(session: AsyncSession, message_ids: list[int]) -> dict[int, str]:
    """How far each conversation message got on its way out: pending, delivered or failed (what
    agents see beside their replies while Telegram has not taken them)."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(OutboxMessage.conversation_message_id, OutboxMessage.status).where(
            OutboxMessage.conversation_message_id.in_(message_ids)
        )
    )
    return {
        message_id: DELIVERY_STATES[QueueStatus(status)]
        for message_id, status in rows.all()
        if message_id is not None
    }


async def purge_finished(
    sessions: async_sessionmaker[AsyncSession],
    model: type[QueuedRow],
    since: InstrumentedAttribute[Any],
    older_than: timedelta,
) -> int:
    """Delete rows done (or given up) whose ``since`` is longer ago than ``older_than``: the
    queues stay small. How many were deleted."""
    async with transaction(sessions) as session:
        deleted = await session.execute(
            delete(model)
            .where(
                model.status.in_([QueueStatus.DONE, QueueStatus.FAILED]),
                since < utcnow() - older_than,
            )
            .execution_options(synchronize_session=False)
        )
    return int(deleted.rowcount)  # type: ignore[attr-defined]
