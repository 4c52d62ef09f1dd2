"""Opening the answer engine on a database: the engine on its own thread, its index opened (or
rebuilt) and kept in step with the knowledge base by any process's edits (other replicas,
``firstline kb import``) within about a second, and its thresholds refitted to the FAQ after
every change (``retrieval.calibration_keeper``). The running system and scratch evaluations
both open it here."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import Settings
from retrieval.calibration import fixed_thresholds
from retrieval.calibration_keeper import CalibrationKeeper, LabelledSource
from retrieval.embedder import Embedder
from retrieval.engine import AnswerEngine
from retrieval.service import DecisionService
from retrieval.sync import IndexFollower


async def open_decisions(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    *,
    labelled: LabelledSource | None = None,
) -> DecisionService:
    """``labelled``: customers' questions whose right entry (or that none fitted) became known,
    refining the fit."""
    fixed = fixed_thresholds(settings)
    engine = AnswerEngine(embedder, thresholds=fixed.thresholds if fixed else settings.decision)
    decisions = DecisionService(engine, compute_threads=settings.embedding_threads)
    await IndexFollower(sessions, decisions).open(settings.index_dir)
    keeper = CalibrationKeeper(
        decisions,
        budget=settings.wrong_answer_budget,
        fixed=fixed,
        directory=settings.index_dir,
        labelled=labelled,
    )
    decisions.calibrate_with(keeper)
    await keeper.start()
    return decisions


async def close_decisions(decisions: DecisionService) -> None:
    if decisions.calibrator is not None:
        await decisions.calibrator.stop()
    if decisions.follower is not None:
        await decisions.follower.stop()
    decisions.close()
