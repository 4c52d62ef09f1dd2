"""What publishing an edit would change, told from the same messages decided by the live engine
and by a copy of it that holds the edit (``AnswerEngine.with_changes``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.decision import Decision, Outcome
from retrieval.engine import Message


@dataclass(frozen=True)
class Tally:
    """How a set of messages was decided."""

    answered: int
    clarified: int
    handed_off: int
    answered_with_entry: int  # answered with the edited entry

    @classmethod
    def of(cls, decisions: Sequence[Decision], key: str) -> Tally:
        outcomes = [decision.decision for decision in decisions]
        return cls(
            answered=outcomes.count(Outcome.ANSWER),
            clarified=outcomes.count(Outcome.CLARIFY),
            handed_off=outcomes.count(Outcome.HANDOFF),
            answered_with_entry=sum(
                decision.decision == Outcome.ANSWER and decision.faq_key == key
                for decision in decisions
            ),
        )


@dataclass(frozen=True)
class Change:
    """One message whose decision the edit would change."""

    text: str
    before: Decision
    after: Decision


def changed_decisions(
    messages: Sequence[Message], before: Sequence[Decision], after: Sequence[Decision]
) -> list[Change]:
    """The messages decided otherwise (another outcome, or another entry answered or offered
    first), in the order they came."""
    return [
        Change(message.text, was, will_be)
        for message, was, will_be in zip(messages, before, after, strict=True)
        if _gist(was) != _gist(will_be)
    ]


def _gist(decision: Decision) -> tuple[Outcome, str | None]:
    first = decision.faq_key or (decision.candidates[0].faq_key if decision.candidates else None)
    return decision.decision, first if decision.decision != Outcome.HANDOFF else None
