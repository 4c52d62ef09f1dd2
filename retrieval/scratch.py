"""Evaluating on a scratch copy: an eval file's own FAQ in a throw-away database and index, every
query decided there, away from the live knowledge base (``firstline eval``, the API's preview)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.database import open_database
from core.settings import Settings
from knowledge_base.formats import FaqEntryData
from retrieval.decision import Decision
from retrieval.embedder import Embedder
from retrieval.evaluation import EvalFile, Metrics, measure
from retrieval.opening import close_decisions, open_decisions
from retrieval.self_calibration import Estimate
from retrieval.service import DecisionService
from retrieval.sync import import_and_index


@asynccontextmanager
async def scratch_decisions(
    settings: Settings, faq: list[FaqEntryData], embedder: Embedder
) -> AsyncIterator[DecisionService]:
    """A throw-away database and index holding only ``faq``, its thresholds fitted to it."""
    with tempfile.TemporaryDirectory(prefix="firstline-eval-") as workdir:
        scratch = settings.model_copy(update={"data_dir": Path(workdir), "database_url": None})
        database, sessions = await open_database(scratch)
        try:
            decisions = await open_decisions(scratch, sessions, embedder)
            try:
                await import_and_index(sessions, decisions, faq, author="eval")
                if decisions.calibrator is not None:
                    await decisions.calibrator.refresh()
                yield decisions
            finally:
                await close_decisions(decisions)
        finally:
            await database.dispose()


@dataclass(frozen=True)
class EvalRun:
    """An eval file's metrics and the decision on each of its queries, in the file's order."""

    eval_file: EvalFile
    decisions: list[Decision]
    calibration: Estimate | None = None  # what the engine expected on the file's FAQ

    @property
    def metrics(self) -> Metrics:
        return measure([query.expected for query in self.eval_file.queries], self.decisions)

    def as_dict(self) -> dict[str, Any]:
        """The ``firstline eval --json`` shape."""
        results = [
            {
                "text": query.text,
                "lang": query.lang,
                "expected": query.expected,
                "decision": decision.to_dict(),
            }
            for query, decision in zip(self.eval_file.queries, self.decisions, strict=True)
        ]
        return {
            "name": self.eval_file.name,
            "metrics": self.metrics.as_dict(),
            "calibration": self.calibration.as_dict() if self.calibration is not None else None,
            "results": results,
        }


async def run_eval(settings: Settings, eval_file: EvalFile, embedder: Embedder) -> EvalRun:
    """Decide every query of the file against its own FAQ, away from the live knowledge base."""
    async with scratch_decisions(settings, eval_file.faq, embedder) as decisions:
        engine = decisions.engine

        def decide_all() -> list[Decision]:
            prepared = engine.prepare_batch([query.text for query in eval_file.queries])
            return [engine.conclude(item) for item in prepared]

        expected = decisions.calibrator.estimate if decisions.calibrator is not None else None
        return EvalRun(eval_file, await asyncio.to_thread(decide_all), expected)
