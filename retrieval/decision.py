"""The answer engine's verdict on one customer message: what the bot, the API and the
evaluation read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    HANDOFF = "handoff"


class Reason(StrEnum):
    CONFIDENT = "confident"  # answer: one entry clearly fits
    CUSTOMER_CHOICE = "customer_choice"  # answer: they picked the entry from the options
    AMBIGUOUS = "ambiguous"  # clarify: a few entries fit about equally
    UNSURE = "unsure"  # clarify: something fits, not surely enough to answer
    OFF_TOPIC = "off_topic"  # clarify: far from every entry; say what the bot can help with
    LOW_CONFIDENCE = "low_confidence"  # handoff: nothing in the FAQ fits
    CUSTOMER_REQUEST = "customer_request"  # handoff: they asked for a person
    REPEATED_FAILURE = "repeated_failure"  # handoff: asked again / "that's not what I asked"
    GREETING = "greeting"  # clarify: greet back and ask how to help
    THANKS = "thanks"  # clarify: you're welcome, anything else?
    SMALLTALK = "smalltalk"  # clarify: polite reply, steer to the question
    EMPTY = "empty"  # clarify: nothing was written
    NOT_TEXT = "not_text"  # clarify: no words to understand (emoji, garbage, media)


@dataclass(frozen=True)
class Candidate:
    faq_id: int
    faq_key: str
    question: str
    score: float


@dataclass(frozen=True)
class Decision:
    decision: Outcome
    reason: Reason
    language: str | None = None
    faq_id: int | None = None
    faq_key: str | None = None
    answer: str | None = None
    score: float | None = None
    # The language ``answer`` is in: the customer's, or the entry's main one without a translation.
    answer_language: str | None = None
    candidates: list[Candidate] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["decision"] = self.decision.value
        data["reason"] = self.reason.value
        return data


@dataclass(frozen=True)
class Turn:
    """One earlier message of the conversation, as the decision needs it."""

    text: str
    from_customer: bool
    faq_key: str | None = None  # for the bot's turns: the entry it answered with
    outcome: Outcome | None = None  # for the bot's turns: what it decided
