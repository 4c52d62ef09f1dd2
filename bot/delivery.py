"""Getting updates in and replies out reliably: retries, per-chat order, flood control."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor

from core.metrics import TELEGRAM_ERRORS

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ATTEMPTS = 5
SINGLE_ATTEMPT = 1
MAX_RETRY_AFTER = 60.0
# getUpdates is retried by the updater's own polling loop; retrying it here too would only
# make a shutdown wait longer.
NOT_RETRIED = frozenset({"getUpdates", "getMe", "setWebhook", "deleteWebhook"})
# The answer to a button press only stops the button's spinner, which stops by itself, and
# Telegram takes it only for a few seconds: one try, and a failure must not fail the press.
BEST_EFFORT = frozenset({"answerCallbackQuery"})


class RetryingRateLimiter(BaseRateLimiter[int]):
    """Retries requests that Telegram refused without doing them: 429 (after ``retry_after``),
    5xx and connections that failed; never a 400, which fails the same way again. A timeout is
    not retried: Telegram may have delivered the message already, and a duplicate reply is worse
    than a late error in the log.

    A call's ``rate_limit_args`` caps its attempts: the outbox passes ``SINGLE_ATTEMPT`` and
    backs off itself, so a row never holds its chat's lane through retries in place."""

    def __init__(self, *, max_attempts: int = MAX_ATTEMPTS, backoff: float = 0.5) -> None:
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.retries = 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint in BEST_EFFORT:
            try:
                return await _counting_errors(callback(*args, **kwargs), endpoint)
            except TelegramError as error:
                logger.warning("%s failed (%s); the press itself stands", endpoint, error)
                return True
        attempts = self.max_attempts if rate_limit_args is None else rate_limit_args
        if endpoint in NOT_RETRIED or attempts <= 1:
            return await _counting_errors(callback(*args, **kwargs), endpoint)
        for attempt in range(1, attempts + 1):
            try:
                return await _counting_errors(callback(*args, **kwargs), endpoint)
            except RetryAfter as error:
                delay = min(retry_after_seconds(error), MAX_RETRY_AFTER)
                failure: Exception = error
            except (TimedOut, BadRequest):  # a 400 fails the same way every time
                raise
            except NetworkError as error:
                delay = self.backoff * 2 ** (attempt - 1)
                failure = error
            if attempt == attempts:
                raise failure
            self.retries += 1
            logger.warning(
                "Telegram refused %s (%s); retry %d in %.1f s", endpoint, failure, attempt, delay
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


async def _counting_errors(request: Awaitable[T], endpoint: str) -> T:
    try:
        return await request
    except TelegramError as error:
        TELEGRAM_ERRORS.labels(endpoint, type(error).__name__).inc()
        raise


def retry_after_seconds(error: RetryAfter) -> float:
    """How long Telegram asked us to wait (python-telegram-bot gives seconds or a timedelta)."""
    wait = error.retry_after
    return float(wait.total_seconds() if isinstance(wait, timedelta) else wait)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates from different chats run concurrently; those from one chat run one after another,
    in the order Telegram sent them (a reply never overtakes the reply to an earlier message)."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = _chat_key(update)
        if chat is None:
            await coroutine
            return
        lock = self._chat_locks.setdefault(chat, asyncio.Lock())
        self._users[chat] = self._users.get(chat, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[chat] -= 1
            if self._users[chat] == 0:
                del self._users[chat]
                del self._chat_locks[chat]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def _chat_key(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return getattr(update, "chat_id", None)


@dataclass(frozen=True)
class FloodBucket:
    """One chat's token bucket, kept on its customer's row: a chat's updates run one at a time
    across replicas (the inbox's lanes), so every replica reads and writes it in turn."""

    tokens: float
    at: datetime
    warned: bool = False  # the customer heard about this flood already


class FloodGuard:
    """A token bucket per chat: ``burst`` messages at once, then ``per_minute`` a minute.

    ``admit`` says whether to process a message, and whether to tell the customer (once per
    flood, not once per message)."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)

    def admit(self, bucket: FloodBucket | None, now: datetime) -> tuple[bool, bool, FloodBucket]:
        """(admitted, warn now, the bucket after this message)."""
        if bucket is None:
            bucket = FloodBucket(self.burst, now)
        elapsed = max((now - bucket.at).total_seconds(), 0.0)
        tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
        if tokens >= 1.0:
            calm = tokens - 1.0 >= 1.0
            return True, False, FloodBucket(tokens - 1.0, now, bucket.warned and not calm)
        return False, not bucket.warned, FloodBucket(tokens, now, True)
