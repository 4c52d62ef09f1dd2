"""Wait estimates: honest upper bounds that never shrink further back in the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff.line.wait import (
    DEFAULT_AGENT_TURN,
    MIN_SAMPLES,
    WAIT_STEPS_MINUTES,
    PastWait,
    WaitEstimate,
    estimate_wait,
    turn_quantile,
)


def minutes(*values: float, position: int = 1, agents: int = 1) -> list[PastWait]:
    """Past waits of tickets that were ``position`` in line with ``agents`` on duty."""
    return [PastWait(timedelta(minutes=value), position, agents) for value in values]


def rank(estimate: WaitEstimate) -> float:
    """Longer waits rank higher: the steps, then "later today", then "after closing"."""
    if estimate.past_closing:
        return 2e9
    if estimate.later_today:
        return 1e9
    assert estimate.minutes is not None
    return estimate.minutes


HISTORIES = {
    "quick": minutes(*[1, 2, 2, 3, 4] * 10),
    "mixed": minutes(*range(1, 61)),
    "slow": minutes(*[20, 45, 90] * 10),
    "few": minutes(2, 3),
    "none": [],
}


@pytest.mark.parametrize("history", HISTORIES.values(), ids=HISTORIES.keys())
@pytest.mark.parametrize("agents", [0, 1, 3, 7])
@pytest.mark.parametrize("closes_in", [None, timedelta(hours=3)])
def test_wait_never_shrinks_further_back_in_the_queue(
    history: list[PastWait], agents: int, closes_in: timedelta | None
) -> None:
    estimates = [
        estimate_wait(
            position=position,
            active_agents=agents,
            recent_waits=history,
            closes_in=closes_in,
        )
        for position in range(1, 80)
    ]
    ranks = [rank(estimate) for estimate in estimates]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize(
    ("response_minutes", "stated"),
    [(1, 5), (5, 5), (5.5, 10), (12, 15), (16, 30), (31, 60), (61, 120), (200, 240), (241, None)],
)
def test_bound_is_rounded_up_to_the_next_step(response_minutes: float, stated: int | None) -> None:
    estimate = estimate_wait(
        position=1,
        active_agents=1,
        recent_waits=minutes(*[response_minutes] * MIN_SAMPLES),
    )
    assert estimate.minutes == stated
    assert estimate.later_today is (stated is None)
    assert stated is None or stated in WAIT_STEPS_MINUTES


def test_bound_is_a_high_quantile_not_the_average() -> None:
    history = minutes(*[2] * 16, *[25] * 4)  # most are quick, one in five waits long
    assert turn_quantile(history) == timedelta(minutes=2)
    assert turn_quantile([*history, *minutes(25)]) == timedelta(minutes=25)


def test_few_samples_do_not_promise_less_than_the_default() -> None:
    assert turn_quantile(minutes(1, 1, 2)) == DEFAULT_AGENT_TURN
    assert turn_quantile(minutes(40, 50)) == timedelta(minutes=50)
    assert turn_quantile([]) == DEFAULT_AGENT_TURN
    assert estimate_wait(position=1, active_agents=1, recent_waits=[]).minutes == 15


def test_a_past_wait_counts_per_place_in_its_queue() -> None:
    """20 minutes as fourth in line with one agent is a 5-minute turn, not a 20-minute one: the
    queue must not be counted twice."""
    history = minutes(*[20] * 30, position=4)
    assert turn_quantile(history) == timedelta(minutes=5)
    assert estimate_wait(position=1, active_agents=1, recent_waits=history).minutes == 5
    assert estimate_wait(position=4, active_agents=1, recent_waits=history).minutes == 30


def test_agents_on_duty_share_the_customers_ahead() -> None:
    history = minutes(*[4] * 30)  # one agent's turn: 4 minutes
    stated = [
        estimate_wait(position=position, active_agents=2, recent_waits=history).minutes
        for position in (1, 2, 3, 4, 5, 9)
    ]
    assert stated == [5, 5, 10, 10, 10, 30]
    two_then = minutes(*[4] * 30, agents=2)  # with two on duty then, one agent took 8
    assert estimate_wait(position=1, active_agents=1, recent_waits=two_then).minutes == 10


def test_no_active_agents_counts_as_one() -> None:
    history = minutes(*[8] * 30)
    for position in (1, 2, 5):
        nobody = estimate_wait(position=position, active_agents=0, recent_waits=history)
        one = estimate_wait(position=position, active_agents=1, recent_waits=history)
        assert nobody == one


def test_wait_past_closing_points_at_the_next_opening() -> None:
    reopens_at = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    estimate = estimate_wait(
        position=3,
        active_agents=1,
        recent_waits=minutes(*[20] * 30),
        closes_in=timedelta(minutes=45),
        reopens_at=reopens_at,
    )
    assert estimate == WaitEstimate(3, None, past_closing=True, reopens_at=reopens_at)


def test_wait_before_closing_is_stated_in_minutes() -> None:
    estimate = estimate_wait(
        position=1,
        active_agents=1,
        recent_waits=minutes(*[20] * 30),
        closes_in=timedelta(minutes=45),
    )
    assert estimate == WaitEstimate(1, 30)


@pytest.mark.parametrize(("position", "agents"), [(0, 1), (1, -1)])
def test_impossible_queue_is_refused(position: int, agents: int) -> None:
    with pytest.raises(ValueError, match=r"position|active_agents"):
        estimate_wait(position=position, active_agents=agents, recent_waits=[])
