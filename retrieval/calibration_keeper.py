"""Keeping the engine's thresholds fitted to the FAQ it serves.

Whenever the FAQ changes (its fingerprint moves: any process's edit, once the index follows it),
the FAQ rehearses itself in the background (:mod:`retrieval.self_calibration`, seconds of model
work, beside the engine's thread) and the engine takes the thresholds fitted to the team's
wrong-answer budget. Thresholds fixed by the settings or by ``firstline calibrate`` stay as they
are: then the estimate is made when asked (no model work in the background). The last result is stored beside the index, so a
restart with the same FAQ starts fitted at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from core.settings import DecisionThresholds
from retrieval.calibration import FixedThresholds
from retrieval.embedder import Embedder
from retrieval.engine import AnswerEngine
from retrieval.entries import IndexedEntry
from retrieval.self_calibration import Estimate, LabelledQuestion, estimate, fit, rehearse
from retrieval.service import DecisionService

logger = logging.getLogger(__name__)

CALIBRATION_FILE = "self_calibration.json"

# Customers' questions with what is known of them (the right entry's key, or None: no entry the
# bot weighed fitted), from their picks, votes and "None of these", and agents' corrections: the
# rehearsal's evidence grows with them.
LabelledSource = Callable[[], Awaitable[Sequence[tuple[str, str | None]]]]
# A refit costs seconds of model work: labelled questions alone trigger one when this many more
# (or fewer) arrived since the last fit; any change to the FAQ triggers one at once.
LABELLED_REFIT_STEP = 10
# They are read from the database this often (the FAQ's fingerprint every tick): on SQLite the
# queries run on the bot's event loop.
LABELLED_READ_SECONDS = 30.0


@dataclass(frozen=True)
class _Snapshot:
    entries: list[IndexedEntry]
    fingerprint: str
    thresholds: DecisionThresholds


def _snapshot(engine: AnswerEngine) -> _Snapshot:
    return _Snapshot(list(engine.entries.values()), engine.fingerprint, engine.policy.thresholds)


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def _use(engine: AnswerEngine, thresholds: DecisionThresholds) -> None:
    engine.policy.thresholds = thresholds


class CalibrationKeeper:
    """Refits the thresholds after every change to the FAQ, in the background."""

    def __init__(
        self,
        decisions: DecisionService,
        *,
        budget: float,
        fixed: FixedThresholds | None = None,
        directory: Path | None = None,
        labelled: LabelledSource | None = None,
        interval: float = 2.0,
    ) -> None:
        if not 0 < budget < 1:
            raise ValueError(f"the wrong-answer budget is a share between 0 and 1: {budget}")
        self.budget = budget
        self.fixed = fixed
        self._decisions = decisions
        self._base = decisions.engine.policy.thresholds
        self._path = directory / CALIBRATION_FILE if directory is not None else None
        self._labelled = labelled
        self._known: list[tuple[str, str | None]] = []
        self._known_read_at: float | None = None
        self._interval = interval
        self._lock = asyncio.Lock()
        self._estimate: Estimate | None = None
        self._key: tuple[str, int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._asked: asyncio.Task[None] | None = None
        self._failing = False

    @property
    def estimate(self) -> Estimate | None:
        """What the engine expects on the FAQ it serves now (None until the first fit, or for an
        empty FAQ)."""
        return self._estimate

    async def start(self) -> None:
        """Take the stored fit if it is for this FAQ, then refit after every change (unless the
        thresholds are fixed)."""
        stored = self._load()
        if stored is not None:
            snapshot = await self._decisions.run(_snapshot)
            if stored.fingerprint == snapshot.fingerprint:
                await self._adopt(stored, (stored.fingerprint, stored.labelled_questions))
        if self.keeps_fitting:
            self._task = asyncio.create_task(self._keep(), name="calibration-keeper")

    @property
    def keeps_fitting(self) -> bool:
        """Whether it refits in the background; fixed thresholds are estimated when asked."""
        return self.fixed is None

    async def refresh(self, *, reread: bool = True) -> Estimate | None:
        """Refit now if the FAQ (or the labelled questions) changed since the last fit.
        ``reread``: read the labelled questions now rather than at most every
        LABELLED_READ_SECONDS (as the background loop does)."""
        async with self._lock:
            snapshot = await self._decisions.run(_snapshot)
            labelled = await self._new_questions(snapshot, reread)
            key = (snapshot.fingerprint, len(labelled))
            if not self._stale(key):
                return self._estimate
            if not snapshot.entries:
                self._estimate, self._key = None, key
                return None
            asked = await self._decisions.run(
                partial(AnswerEngine.prepare_batch, texts=[text for text, _ in labelled])
            )
            known = [
                LabelledQuestion(item, expected)
                for item, (_, expected) in zip(asked, labelled, strict=True)
            ]
            result = await asyncio.to_thread(
                self._fit, snapshot, self._decisions.engine.embedder, known
            )
            await self._adopt(result, key)
            self._store(result)
            logger.info("self-calibration: %s", result.summary())
            return result

    async def _new_questions(
        self, snapshot: _Snapshot, reread: bool
    ) -> list[tuple[str, str | None]]:
        """The labelled questions that are not phrasings of the FAQ already (those would find
        themselves)."""
        if self._labelled is None:
            return []
        now = time.monotonic()
        due = self._known_read_at is None or now - self._known_read_at >= LABELLED_READ_SECONDS
        if reread or due:
            self._known, self._known_read_at = list(await self._labelled()), now
        phrasings = {_folded(text) for entry in snapshot.entries for text in entry.phrasings}
        return [item for item in self._known if _folded(item[0]) not in phrasings]

    def _stale(self, key: tuple[str, int]) -> bool:
        if self._key is None or key[0] != self._key[0]:
            return True
        return abs(key[1] - self._key[1]) >= LABELLED_REFIT_STEP

    def _fit(
        self, snapshot: _Snapshot, embedder: Embedder, labelled: list[LabelledQuestion]
    ) -> Estimate:
        base = self.fixed.thresholds if self.fixed is not None else self._base
        rehearsal = rehearse(snapshot.entries, embedder, base)
        if self.fixed is not None:
            return estimate(
                rehearsal,
                self.fixed.thresholds,
                source=self.fixed.source,
                budget=self.budget,
                fingerprint=snapshot.fingerprint,
                labelled=labelled,
            )
        return fit(
            rehearsal,
            base,
            budget=self.budget,
            fingerprint=snapshot.fingerprint,
            labelled=labelled,
        )

    async def _adopt(self, result: Estimate, key: tuple[str, int]) -> None:
        if self.fixed is None:
            await self._decisions.run(partial(_use, thresholds=result.thresholds))
        self._estimate, self._key = result, key

    def _load(self) -> Estimate | None:
        if self._path is None or not self._path.exists():
            return None
        try:
            stored = Estimate.from_dict(json.loads(self._path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("cannot read the stored self-calibration in %s: %s", self._path, error)
            return None
        wanted = "self-calibrated" if self.fixed is None else self.fixed.source
        if stored.budget != self.budget or stored.source != wanted:
            return None
        if self.fixed is not None and stored.thresholds != self.fixed.thresholds:
            return None
        return stored

    def _store(self, result: Estimate) -> None:
        if self._path is None:
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            staging = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
            staging.write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
            staging.replace(self._path)
        except OSError as error:
            logger.warning("cannot store the self-calibration in %s: %s", self._path, error)

    async def _keep(self) -> None:
        while True:
            try:
                await self.refresh(reread=False)
            except Exception:  # the fit is retried at the next tick; decisions go on as they are
                if not self._failing:
                    logger.warning("self-calibration failed; retrying", exc_info=True)
                self._failing = True
            else:
                self._failing = False
            await asyncio.sleep(self._interval)

    def estimate_soon(self) -> None:
        """Fixed thresholds: make their estimate in the background, unless that is under way (a
        rehearsal takes seconds, minutes on a big FAQ: a request does not wait for it)."""
        if self._asked is None or self._asked.done():
            self._asked = asyncio.create_task(self._estimate_once(), name="calibration-estimate")

    async def _estimate_once(self) -> None:
        try:
            await self.refresh()
        except Exception:  # asked again, it is tried again
            logger.warning("estimating the fixed thresholds failed", exc_info=True)

    async def stop(self) -> None:
        for task in (self._task, self._asked):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._asked = None
