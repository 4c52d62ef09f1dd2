"""Durable intake: every Telegram update is committed to the inbox before Telegram hears it was
received, then processed from there — in order per chat, chats concurrently, again after a
crash or a database fault, and never twice to the customer's eyes.

Polling asks for the next offset (which confirms the updates before it) only after the batch is
stored; the webhook answers 200 only after the update is stored. ``InboxProcessor`` runs the
stored updates through the python-telegram-bot application's handlers.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ContextTypes

from core.database import transaction, utcnow
from core.queues import (
    InboxUpdate,
    Lane,
    LaneRunner,
    OutboxMessage,
    QueueStatus,
    claim_next,
    settle,
)

logger = logging.getLogger(__name__)


@dataclass
class UpdateAtWork:
    """The update whose handlers are running in this task: what they send is tagged with it, so
    a replay can tell that the update was already answered (see ``already_answered``), and the
    transaction that commits its replies marks it done (see ``replying``)."""

    update_id: int
    row_id: int  # its inbox row
    replay: bool  # tried before: a crash or a fault may have left part of its work stored
    done: bool = False  # marked done together with its replies


CURRENT_UPDATE: contextvars.ContextVar[UpdateAtWork | None] = contextvars.ContextVar(
    "firstline_current_update", default=None
)
CHAT_FIELDS = ("message", "edited_message", "channel_post", "edited_channel_post", "my_chat_member",
               "chat_member", "chat_join_request")  # fmt: skip
# A failure that is not the database's nor Telegram's (a bug): tried this often, then given up.
MAX_ATTEMPTS_ON_BUG = 3
MAX_RETRY_DELAY = 60.0
GIVE_UP_AFTER = timedelta(hours=24)  # Telegram itself keeps an unconfirmed update this long
POLL_TIMEOUT = 10  # seconds Telegram holds a getUpdates open when nothing is waiting
MAX_POLL_DELAY = 30.0


@dataclass(frozen=True)
class RawUpdate:
    update_id: int
    chat_key: int | None
    payload: str


def chat_key(payload: dict[str, Any]) -> int | None:
    """The chat an update belongs to, read from the raw JSON (updates of one chat keep order)."""
    for name in CHAT_FIELDS:
        body = payload.get(name)
        if isinstance(body, dict) and isinstance(body.get("chat"), dict):
            return _int(body["chat"].get("id"))
    query = payload.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return _int(message["chat"].get("id"))
        if isinstance(query.get("from"), dict):
            return _int(query["from"].get("id"))
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def raw_update(payload: dict[str, Any], text: str | None = None) -> RawUpdate:
    """An update as the inbox keeps it; ``KeyError``/``ValueError`` when it has no update id."""
    update_id = payload["update_id"]
    if not isinstance(update_id, int):
        raise ValueError("update_id is not a number")
    return RawUpdate(update_id, chat_key(payload), text or json.dumps(payload, ensure_ascii=False))


async def store_updates(
    sessions: async_sessionmaker[AsyncSession], updates: Sequence[RawUpdate]
) -> None:
    """Commit the updates to the inbox; one already there (Telegram re-sent it) is left alone."""
    if not updates:
        return
    rows = [
        {
            "update_id": item.update_id,
            "chat_key": item.chat_key,
            "payload": item.payload,
            "status": QueueStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": utcnow(),
            "received_at": utcnow(),
        }
        for item in updates
    ]
    async with transaction(sessions) as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await session.execute(
            insert(InboxUpdate).on_conflict_do_nothing(index_elements=["update_id"]), rows
        )


class InboxPoller:
    """Long polling that confirms updates (asks for the offset after them) only once they are in
    the inbox: a crash before that leaves them with Telegram, which sends them again."""

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        processor: InboxProcessor,
        *,
        timeout: int = POLL_TIMEOUT,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.processor = processor
        self.timeout = timeout
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="firstline-polling")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.timeout, allowed_updates=Update.ALL_TYPES
                )
            except InvalidToken:
                logger.error("polling stopped: Telegram rejected the token")
                return
            except TelegramError as error:
                logger.warning("getUpdates failed (%s); retrying in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_POLL_DELAY)
                continue
            delay = 1.0
            if not updates:
                continue
            batch = [raw_update(update.to_dict()) for update in updates]
            await self._store(batch)
            offset = updates[-1].update_id + 1
            self.processor.wake(*{item.chat_key for item in batch})

    async def _store(self, updates: list[RawUpdate]) -> None:
        """Store the batch, waiting out a database fault: the offset must not move before."""
        delay = 0.5
        while True:
            try:
                await store_updates(self.sessions, updates)
                return
            except Exception as error:
                logger.warning(
                    "%d updates not stored yet (%s); retrying in %.1f s",
                    len(updates),
                    type(error).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_POLL_DELAY)


def is_transient(error: BaseException) -> bool:
    """A failure that passes by itself: the database or Telegram was unreachable or slow."""
    if isinstance(error, BadRequest | Forbidden):  # python-telegram-bot's BadRequest is a
        return False  # NetworkError, but Telegram will refuse it the same way again
    if isinstance(
        error, OperationalError | PoolTimeout | TimeoutError | ConnectionError | RetryAfter
    ):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, NetworkError | TimedOut)


def retry_delay(attempts: int, first: float, longest: float = MAX_RETRY_DELAY) -> float:
    """Exponential back-off: ``first`` seconds after the first failure, doubling, capped."""
    return min(first * 2 ** max(attempts - 1, 0), longest)


def may_be_replay() -> bool:
    """Whether the update being handled may have been handled before (always, outside the
    inbox, where nothing tells): only then is it worth looking for what it stored."""
    work = CURRENT_UPDATE.get()
    return work is None or work.replay


@asynccontextmanager
async def replying(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A transaction that commits replies to the update at work and marks the update done with
    them: an update is then never done without its replies, nor answered twice, and its own
    finishing transaction is saved (one of the few an update costs)."""
    work = CURRENT_UPDATE.get()
    async with transaction(sessions) as session:
        yield session
        if work is not None and not work.done:
            await session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.id == work.row_id, InboxUpdate.status == QueueStatus.PENDING)
                .values(status=QueueStatus.DONE, finished_at=utcnow(), claimed_until=None)
                .execution_options(synchronize_session=False)
            )
    if work is not None:
        work.done = True


async def already_answered(session: AsyncSession, update_id: int) -> bool:
    """Whether something the update caused is already in the outbox (processed before a crash)."""
    return bool(await session.scalar(select(exists().where(OutboxMessage.update_id == update_id))))


class InboxProcessor(LaneRunner):
    """Runs stored updates through the application's handlers, lane by lane (a lane is a chat):
    in order within a chat, chats concurrently."""

    def __init__(
        self,
        application: Application,
        sessions: async_sessionmaker[AsyncSession],
        give_up: Callable[[Update], Awaitable[None]],
        *,
        retry_seconds: float = 0.5,
        poll_seconds: float = 1.0,
    ) -> None:
        super().__init__(
            "inbox", sessions, InboxUpdate, InboxUpdate.chat_key, poll_seconds=poll_seconds
        )
        self.application = application
        self.give_up = give_up
        self.retry_seconds = retry_seconds
        self._failures: dict[int, BaseException] = {}
        application.add_error_handler(self._note_failure)

    async def _note_failure(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update) and context.error is not None:
            self._failures[update.update_id] = context.error

    async def step(self, chat: Lane) -> bool:
        """Claim and process the chat's oldest pending update."""
        claimed = await claim_next(self.sessions, InboxUpdate, InboxUpdate.chat_key, chat)
        if claimed is None:
            return False
        row = claimed.row
        work = UpdateAtWork(row.update_id, row.id, replay=row.attempts > 1)
        error = await self._process(work, row.payload, replay=row.attempts > 1)
        if work.done:  # its replies and its completion were committed together
            if error is not None:
                logger.warning(
                    "update %s failed after its replies were committed (%s): not processed again",
                    row.update_id,
                    type(error).__name__,
                )
        else:
            await self._finish(row, error)
        return claimed.more and (error is None or not is_transient(error))

    async def _process(
        self, work: UpdateAtWork, payload: str, *, replay: bool
    ) -> BaseException | None:
        update_id = work.update_id
        try:
            if replay:
                async with self.sessions() as session:
                    if await already_answered(session, update_id):
                        logger.info("update %s was answered before: not processed again", update_id)
                        return None
            update = Update.de_json(json.loads(payload), self.application.bot)
        except Exception as error:  # the database, or an update we cannot read
            return error
        token = CURRENT_UPDATE.set(work)
        try:
            await self.application.process_update(update)
        except Exception as error:  # handler errors go to the error handlers, not here
            return error
        finally:
            CURRENT_UPDATE.reset(token)
        return self._failures.pop(update_id, None)

    async def _finish(self, row: InboxUpdate, error: BaseException | None) -> None:
        now = utcnow()
        if error is None:
            await settle(
                self.sessions, InboxUpdate, row.id, status=QueueStatus.DONE, finished_at=now
            )
            return
        transient = is_transient(error)
        if (transient and now - row.received_at < GIVE_UP_AFTER) or (
            row.attempts < MAX_ATTEMPTS_ON_BUG
        ):
            delay = retry_delay(row.attempts, self.retry_seconds)
            logger.warning(
                "update %s failed (%s, attempt %d); retrying in %.1f s",
                row.update_id,
                type(error).__name__,
                row.attempts,
                delay,
                exc_info=None if transient else error,
            )
            await settle(
                self.sessions,
                InboxUpdate,
                row.id,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=describe_error(error),
            )
            return
        logger.error("update %s given up after %d attempts", row.update_id, row.attempts)
        await settle(
            self.sessions,
            InboxUpdate,
            row.id,
            status=QueueStatus.FAILED,
            finished_at=now,
            last_error=describe_error(error),
        )
        try:
            await self.give_up(Update.de_json(json.loads(row.payload), self.application.bot))
        except Exception:
            logger.exception(
                "could not tell chat %s that update %s failed", row.chat_key, row.update_id
            )


def describe_error(error: BaseException) -> str:
    """What went wrong, for the row and the log: the kind of error and Telegram's words, never
    the database's (its message quotes the statement's parameters: customers' texts)."""
    if isinstance(error, TelegramError):
        return f"{type(error).__name__}: {error.message}"[:300]
    return type(error).__name__
