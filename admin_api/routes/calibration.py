"""What the answer engine expects on the FAQ it serves: the thresholds it fitted to the team's
wrong-answer budget (or that a person fixed), and the answered-right and wrong-answer rates it
expects there, with their bounds."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from admin_api.deps import EditorDep, ServicesDep
from admin_api.errors import ERROR_RESPONSES
from core.settings import DecisionThresholds
from retrieval.engine import AnswerEngine
from retrieval.self_calibration import Estimate

router = APIRouter(prefix="/faq", tags=["faq"], responses=ERROR_RESPONSES)


class ShareOut(BaseModel):
    value: float = Field(description="the expected share")
    low: float = Field(description="one-sided 90 % lower bound")
    high: float = Field(description="one-sided 90 % upper bound")


class RehearsedOut(BaseModel):
    covered: int = Field(description="phrasings asked against the index without them")
    uncovered: int = Field(description="phrasings asked against the index without their entry")
    labelled: int = Field(
        description="customers' questions with a known right entry, or that nothing offered fitted"
    )


class CalibrationOut(BaseModel):
    state: Literal["fitted", "refitting", "empty"] = Field(
        description="fitted: the estimate is for the FAQ as it is; refitting: the FAQ changed "
        "and a new fit (for fixed thresholds, a new estimate) is under way — the estimate, if "
        "any, is for the FAQ before; empty: no entries"
    )
    source: str | None = Field(
        None, description="self-calibrated, or settings / firstline calibrate when fixed"
    )
    wrong_answer_budget: float | None = None
    thresholds: DecisionThresholds | None = None
    answered_right: ShareOut | None = Field(
        None, description="covered questions answered outright with the right entry"
    )
    wrong_answers: ShareOut | None = Field(None, description="all questions answered wrongly")
    uncovered_declined: ShareOut | None = Field(
        None, description="questions the FAQ does not cover, not answered"
    )
    rehearsed: RehearsedOut | None = None

    @classmethod
    def of(cls, estimate: Estimate | None, fingerprint: str, entries: int) -> CalibrationOut:
        if entries == 0:
            return cls(state="empty")
        if estimate is None:
            return cls(state="refitting")
        data = estimate.as_dict()
        data.pop("fingerprint")
        state = "fitted" if estimate.fingerprint == fingerprint else "refitting"
        return cls.model_validate({"state": state, **data})


def _faq_state(engine: AnswerEngine) -> tuple[str, int]:
    return engine.fingerprint, len(engine.entries)


@router.get("/calibration", summary="What the bot expects on this FAQ")
async def faq_calibration(services: ServicesDep, _token: EditorDep) -> CalibrationOut:
    """The self-calibration's estimate: refitted in the background after every FAQ change (for
    fixed thresholds, made in the background when asked: "refitting" until it is ready)."""
    calibrator = services.decisions.calibrator
    if calibrator is not None and not calibrator.keeps_fitting:
        calibrator.estimate_soon()
    fingerprint, entries = await services.decisions.run(_faq_state)
    return CalibrationOut.of(
        calibrator.estimate if calibrator is not None else None, fingerprint, entries
    )
