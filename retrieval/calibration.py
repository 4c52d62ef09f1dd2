"""Picking decision thresholds from a labelled eval file, and storing them for the running system."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.settings import DecisionThresholds, Settings
from retrieval.engine import AnswerEngine, Prepared
from retrieval.evaluation import EvalQuery, Metrics, measure, query_kind

logger = logging.getLogger(__name__)

THRESHOLDS_FILE = "thresholds.json"
_STEPS = 200
_MARGINS = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3]


def thresholds_path(settings: Settings) -> Path:
    return settings.data_dir / THRESHOLDS_FILE


def effective_thresholds(settings: Settings) -> DecisionThresholds:
    """Thresholds set in the environment win; then those `firstline calibrate` stored; then defaults."""
    path = thresholds_path(settings)
    if "decision" in settings.model_fields_set or not path.exists():
        return settings.decision
    return DecisionThresholds.model_validate_json(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class FixedThresholds:
    """Thresholds a person chose, which self-calibration leaves as they are."""

    thresholds: DecisionThresholds
    source: str  # "settings" or "firstline calibrate"


def fixed_thresholds(settings: Settings) -> FixedThresholds | None:
    """Thresholds stored by `firstline calibrate` or set in the settings, if any."""
    path = thresholds_path(settings)
    if path.exists():
        stored = DecisionThresholds.model_validate_json(path.read_text(encoding="utf-8"))
        if "decision" not in settings.model_fields_set or stored == settings.decision:
            return FixedThresholds(stored, "firstline calibrate")
    if "decision" in settings.model_fields_set:
        return FixedThresholds(settings.decision, "settings")
    return None


def store_thresholds(settings: Settings, thresholds: DecisionThresholds) -> Path:
    path = thresholds_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(thresholds.model_dump(), indent=2) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Calibration:
    thresholds: DecisionThresholds
    metrics: Metrics


@dataclass(frozen=True)
class Outcomes:
    """Per question, what any thresholds would need to know (numpy arrays, one row per question)."""

    top: np.ndarray  # confidence of the top candidate (-inf when settled without search)
    margin: np.ndarray  # top confidence minus the runner-up's
    top_right: np.ndarray  # the top candidate is the expected entry
    expected_confidence: (
        np.ndarray
    )  # confidence of the expected entry among the options (-inf if absent)
    covered: np.ndarray
    uncovered: np.ndarray


def outcomes_of(
    prepared: Sequence[Prepared],
    expected: Sequence[str | None],
    keys: Mapping[int, str],
    options: int,
) -> Outcomes:
    """The outcome arrays of prepared questions, each with the key it should get (``keys``: entry
    id -> key)."""
    top, margin, top_right, expected_confidence = [], [], [], []
    for right_key, item in zip(expected, prepared, strict=True):
        evidence = item.evidence
        top.append(evidence[0].confidence if evidence else -np.inf)
        runner_up = evidence[1].confidence if len(evidence) > 1 else 0.0
        margin.append(evidence[0].confidence - runner_up if evidence else 0.0)
        top_right.append(bool(evidence) and keys[evidence[0].entry_id] == right_key)
        found = [e.confidence for e in evidence[:options] if keys[e.entry_id] == right_key]
        expected_confidence.append(found[0] if found else -np.inf)
    kinds = [query_kind(right_key) for right_key in expected]
    return Outcomes(
        np.array(top, dtype=float),
        np.array(margin, dtype=float),
        np.array(top_right, dtype=bool),
        np.array(expected_confidence, dtype=float),
        np.array([kind == "covered" for kind in kinds], dtype=bool),
        np.array([kind == "uncovered" for kind in kinds], dtype=bool),
    )


def grid(values: np.ndarray) -> np.ndarray:
    """Candidate thresholds: the observed confidences' quantiles, so steps follow the data."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([0.5])
    return np.unique(np.round(np.quantile(finite, np.linspace(0, 1, _STEPS)), 4))


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
    keys = {entry.id: entry.key for entry in engine.entries.values()}
    seen = outcomes_of(
        engine.prepare_batch([query.text for query in queries]),
        [query.expected for query in queries],
        keys,
        base.clarify_options,
    )
    answer_grid = grid(seen.top)
    best: tuple[tuple[float, float, float], DecisionThresholds] | None = None
    for margin_min in _MARGINS:
        # rows: answer threshold; columns: clarify threshold
        answered = (seen.top[None, :] >= answer_grid[:, None]) & (
            seen.margin[None, :] >= margin_min
        )
        right = answered & seen.top_right
        wrong = (answered & ~seen.top_right).mean(axis=1)
        declined = (
            (~answered[:, seen.uncovered]).mean(axis=1)
            if seen.uncovered.any()
            else np.ones(len(answer_grid))
        )
        self_service = (
            right[:, seen.covered].mean(axis=1)
            if seen.covered.any()
            else np.zeros(len(answer_grid))
        )
        for row, answer_min in enumerate(answer_grid):
            if wrong[row] > max_wrong or declined[row] < min_declined:
                continue
            clarify_grid = answer_grid[answer_grid <= answer_min]
            offered = (seen.expected_confidence[None, :] >= clarify_grid[:, None]) & (
                seen.top[None, :] >= clarify_grid[:, None]
            )
            assisted = (right[row][None, :] | (~answered[row][None, :] & offered))[
                :, seen.covered
            ].mean(axis=1)
            column = int(np.argmax(assisted - 1e-6 * np.arange(len(clarify_grid))[::-1]))
            rank = (float(self_service[row]), float(assisted[column]), float(declined[row]))
            if best is None or rank > best[0]:
                best = (
                    rank,
                    base.model_copy(
                        update={
                            "answer_min": float(answer_min),
                            "answer_margin": margin_min,
                            "clarify_min": float(clarify_grid[column]),
                        }
                    ),
                )
    if best is None:
        raise ValueError(
            f"no thresholds keep wrong answers at or below {max_wrong:.1%} "
            f"with at least {min_declined:.1%} of uncovered questions declined"
        )
    thresholds = best[1]
    decisions = [
        engine.conclude(item, thresholds)
        for item in engine.prepare_batch([q.text for q in queries])
    ]
    return Calibration(thresholds, measure([query.expected for query in queries], decisions))
