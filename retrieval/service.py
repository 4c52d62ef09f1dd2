"""The answer engine for asyncio callers: decisions batched across conversations in one thread.

The engine is CPU-bound and not thread-safe. One worker thread runs everything that touches it,
so the event loop stays free for Telegram and HTTP, index edits never race a search, and messages
that arrive together from different chats share one embedding call (the model is several times
faster per text in a batch than one by one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Protocol, TypeVar

from core.metrics import DECISION_SECONDS, DECISIONS
from retrieval.decision import Decision, Turn
from retrieval.engine import AnswerEngine, Message
from retrieval.self_calibration import Estimate
from retrieval.threads import limit_compute_threads

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH = 32


class Follower(Protocol):
    """What keeps the index in step with the knowledge base, whichever process edits it
    (retrieval.sync.IndexFollower)."""

    async def sync(self) -> None:
        """Apply every committed change the index does not have yet, now."""

    async def stop(self) -> None:
        """Stop following."""


class Calibrator(Protocol):
    """What keeps the thresholds fitted to the FAQ (retrieval.calibration_keeper)."""

    @property
    def estimate(self) -> Estimate | None:
        """What the engine expects on the FAQ it serves now."""

    @property
    def keeps_fitting(self) -> bool:
        """Whether it refits in the background after every change."""

    async def refresh(self) -> Estimate | None:
        """Refit now if the FAQ changed since the last fit."""

    def estimate_soon(self) -> None:
        """Fixed thresholds: make their estimate in the background, unless that is under way."""

    async def stop(self) -> None:
        """Stop keeping."""


class DecisionService:
    """``await decide(...)`` from any coroutine; ``await run(fn)`` to change the index.

    With a :class:`Follower` (``follow``), every change to the index goes through it, so edits
    seen from two sides (this process's own, another replica's) are applied one at a time.
    """

    def __init__(
        self, engine: AnswerEngine, *, max_batch: int = MAX_BATCH, compute_threads: int = 1
    ) -> None:
        self.engine = engine
        self._max_batch = max_batch
        self._worker = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="answer-engine",
            initializer=limit_compute_threads,
            initargs=(compute_threads,),
        )
        self._waiting: list[tuple[Message, asyncio.Future[Decision]]] = []
        self._draining: asyncio.Task[None] | None = None
        self.follower: Follower | None = None
        self.calibrator: Calibrator | None = None

    def follow(self, follower: Follower) -> None:
        self.follower = follower

    def calibrate_with(self, calibrator: Calibrator) -> None:
        self.calibrator = calibrator

    async def decide(
        self, text: str, language: str | None = None, history: Sequence[Turn] = ()
    ) -> Decision:
        started = time.perf_counter()
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._waiting.append((Message(text, language, tuple(history)), future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        decision = await future
        DECISION_SECONDS.observe(time.perf_counter() - started)
        DECISIONS.labels(decision.decision.value, decision.reason.value).inc()
        return decision

    async def run(self, work: Callable[[AnswerEngine], T]) -> T:
        """Run ``work(engine)`` in the engine's thread, between decisions."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, work, self.engine)

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            messages = [message for message, _ in batch]
            try:
                decisions = await self.run(partial(AnswerEngine.decide_many, messages=messages))
            except Exception as error:  # every waiting caller hears of it; the next batch runs
                logger.exception("the answer engine failed on a batch of %d", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), decision in zip(batch, decisions, strict=True):
                if not future.done():
                    future.set_result(decision)

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
