"""Picking decision thresholds from a labelled eval file, and storing them for the running system."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.settings import DecisionThresholds, Settings
from retrieval.decision import Decision
from retrieval.engine import AnswerEngine
from retrieval.evaluation import EvalQuery, Metrics, measure

logger = logging.getLogger(__name__)

THRESHOLDS_FILE = "thresholds.json"
_GRID = [round(step / 100, 2) for step in range(5, 100, 5)]
_MARGINS = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3]


def thresholds_path(settings: Settings) -> Path:
    return settings.data_dir / THRESHOLDS_FILE


def effective_thresholds(settings: Settings) -> DecisionThresholds:
    """Thresholds set in the environment win; then those `firstline calibrate` stored; then defaults."""
    path = thresholds_path(settings)
    if "decision" in settings.model_fields_set or not path.exists():
        return settings.decision
    return DecisionThresholds.model_validate_json(path.read_text(encoding="utf-8"))


def store_thresholds(settings: Settings, thresholds: DecisionThresholds) -> Path:
    path = thresholds_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(thresholds.model_dump(), indent=2) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Calibration:
    thresholds: DecisionThresholds
    metrics: Metrics


def calibrate(
    engine: AnswerEngine,
    queries: Sequence[EvalQuery],
    *,
    max_wrong: float,
    min_declined: float = 0.0,
) -> Calibration:
    """The thresholds that answer the most covered questions right with at most ``max_wrong``
    wrong answers and at least ``min_declined`` of uncovered questions not answered; ties are
    broken by helping more customers (assisted), then by declining more."""
    base = engine.policy.thresholds
    prepared = engine.prepare_batch([query.text for query in queries])
    expectations = [query.expected for query in queries]
    best: tuple[tuple[float, float, float], Calibration] | None = None
    for answer_min, margin, clarify_min in itertools.product(_GRID, _MARGINS, _GRID):
        if clarify_min > answer_min:
            continue
        thresholds = base.model_copy(
            update={"answer_min": answer_min, "answer_margin": margin, "clarify_min": clarify_min}
        )
        decisions: list[Decision] = [engine.conclude(item, thresholds) for item in prepared]
        metrics = measure(expectations, decisions)
        if metrics.wrong_answer > max_wrong or metrics.uncovered_declined < min_declined:
            continue
        rank = (metrics.self_service, metrics.assisted, metrics.uncovered_declined)
        if best is None or rank > best[0]:
            best = (rank, Calibration(thresholds, metrics))
    if best is None:
        raise ValueError(
            f"no thresholds keep wrong answers at or below {max_wrong:.1%} "
            f"with at least {min_declined:.1%} of uncovered questions declined"
        )
    return best[1]
