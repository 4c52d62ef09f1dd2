"""Evaluation files (the format of `evals/*.json`) and the metrics that say how well the engine decides."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from knowledge_base.formats import FaqEntryData
from retrieval.decision import Decision, Outcome

HUMAN = "HUMAN"


class EvalQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str
    lang: str | None = None
    expected: str | None


class EvalFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = "eval"
    faq: list[FaqEntryData] = Field(min_length=1)
    queries: list[EvalQuery] = Field(min_length=1)

    @field_validator("faq")
    @classmethod
    def _keys_are_unique(cls, faq: list[FaqEntryData]) -> list[FaqEntryData]:
        seen: set[str] = set()
        for entry in faq:
            if entry.key in seen:
                raise ValueError(f"the key '{entry.key}' is used by two entries")
            seen.add(entry.key)
        return faq


@dataclass(frozen=True)
class Metrics:
    self_service: float  # covered questions answered with the right entry
    assisted: float  # covered questions answered right or offered the right entry
    wrong_answer: float  # all queries answered with a wrong entry
    uncovered_declined: float  # uncovered questions not answered
    human_handoff: float  # requests for a person handed off
    queries: int

    def as_dict(self) -> dict[str, Any]:
        return {
            name: round(value, 4) if isinstance(value, float) else value
            for name, value in self.__dict__.items()
        }


Kind = Literal["covered", "uncovered", "human"]


def query_kind(expected: str | None) -> Kind:
    if expected is None:
        return "uncovered"
    return "human" if expected == HUMAN else "covered"


def is_answered_right(expected: str | None, decision: Decision) -> bool:
    return decision.decision is Outcome.ANSWER and decision.faq_key == expected


def is_wrong_answer(expected: str | None, decision: Decision) -> bool:
    return decision.decision is Outcome.ANSWER and decision.faq_key != expected


def is_assisted(expected: str | None, decision: Decision) -> bool:
    if is_answered_right(expected, decision):
        return True
    return decision.decision is Outcome.CLARIFY and any(
        candidate.faq_key == expected for candidate in decision.candidates
    )


def measure(expectations: Sequence[str | None], decisions: Sequence[Decision]) -> Metrics:
    pairs = list(zip(expectations, decisions, strict=True))

    def share(kind: Kind | None, test: Callable[[str | None, Decision], bool]) -> float:
        chosen = [(e, d) for e, d in pairs if kind is None or query_kind(e) == kind]
        return sum(test(e, d) for e, d in chosen) / len(chosen) if chosen else 0.0

    return Metrics(
        self_service=share("covered", is_answered_right),
        assisted=share("covered", is_assisted),
        wrong_answer=share(None, is_wrong_answer),
        uncovered_declined=share("uncovered", lambda _e, d: d.decision is not Outcome.ANSWER),
        human_handoff=share("human", lambda _e, d: d.decision is Outcome.HANDOFF),
        queries=len(pairs),
    )
