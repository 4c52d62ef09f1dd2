"""The decision policy with hand-written signals: confidence and thresholds."""

from __future__ import annotations

from dataclasses import replace

from core.settings import DecisionThresholds
from retrieval.decision import Outcome, Reason
from retrieval.policy import Policy, Signals


def _policy() -> Policy:
    return Policy(DecisionThresholds(answer_min=0.7, answer_margin=0.1, clarify_min=0.3))


def _signal(
    entry_id: int,
    dense: float,
    *,
    votes: float = 0.0,
    coverage: float = 0.0,
    off_topic: float = 0.8,
) -> Signals:
    return Signals(
        entry_id=entry_id,
        dense=dense,
        support=dense,
        votes=votes,
        coverage=coverage,
        off_topic=off_topic,
        passage=dense,
        centroid=dense,
        phrasings=5,
    )


def test_a_clear_winner_is_answered() -> None:
    policy = _policy()
    evidence = policy.score([_signal(1, 0.95, votes=1.0, coverage=0.8), _signal(2, 0.83)])
    assert evidence[0].entry_id == 1
    verdict = policy.choose(evidence, policy.thresholds)
    assert (verdict.outcome, verdict.reason) == (Outcome.ANSWER, Reason.CONFIDENT)


def test_two_close_candidates_are_offered_not_guessed() -> None:
    policy = _policy()
    evidence = policy.score(
        [_signal(1, 0.93, votes=0.5, coverage=0.5), _signal(2, 0.93, votes=0.5, coverage=0.5)]
    )
    verdict = policy.choose(evidence, policy.thresholds)
    assert (verdict.outcome, verdict.reason) == (Outcome.CLARIFY, Reason.AMBIGUOUS)
    assert {item.entry_id for item in verdict.options} == {1, 2}


def test_a_message_as_near_to_off_topic_chat_is_handed_off() -> None:
    policy = _policy()
    off_topic_alike = [_signal(1, 0.82, off_topic=0.83), _signal(2, 0.81, off_topic=0.83)]
    verdict = policy.choose(policy.score(off_topic_alike), policy.thresholds)
    assert (verdict.outcome, verdict.reason) == (Outcome.HANDOFF, Reason.LOW_CONFIDENCE)
    assert policy.choose([], policy.thresholds).outcome is Outcome.HANDOFF


def test_confidence_falls_as_off_topic_chat_comes_nearer() -> None:
    policy = _policy()
    far, near = (
        policy.score([_signal(1, 0.86, votes=1.0, off_topic=off_topic), _signal(2, 0.80)])[0]
        for off_topic in (0.70, 0.84)
    )
    assert far.entry_id == near.entry_id == 1
    assert far.confidence > near.confidence


def test_stricter_thresholds_answer_less() -> None:
    policy = _policy()
    evidence = policy.score([_signal(1, 0.95, votes=1.0, coverage=0.8), _signal(2, 0.83)])
    strict = DecisionThresholds(answer_min=0.999999, answer_margin=1.0, clarify_min=0.3)
    assert policy.choose(evidence, strict).outcome is Outcome.CLARIFY


def test_a_lone_candidate_is_weighed_against_off_topic_chat() -> None:
    """A one-entry FAQ: a message nearer to off-topic chat than to the entry is not answered."""
    policy = _policy()
    unrelated = _signal(1, 0.70, votes=1.0, off_topic=0.85)
    related = replace(_signal(1, 0.95, votes=1.0, coverage=0.8, off_topic=0.75), passage=0.9)
    assert policy.choose(policy.score([unrelated]), policy.thresholds).outcome is Outcome.HANDOFF
    assert policy.choose(policy.score([related]), policy.thresholds).outcome is Outcome.ANSWER


def test_a_clarify_offers_a_choice_even_when_one_option_stands_out() -> None:
    policy = _policy()
    evidence = policy.score([_signal(1, 0.86), _signal(2, 0.70), _signal(3, 0.69)])
    lenient = DecisionThresholds(answer_min=0.999999, answer_margin=1.0, clarify_min=0.3)
    assert evidence[1].confidence < lenient.clarify_min
    verdict = policy.choose(evidence, lenient)
    assert verdict.outcome is Outcome.CLARIFY
    assert [item.entry_id for item in verdict.options] == [1, 2]
