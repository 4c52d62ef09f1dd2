"""The expected wait for a person while the line is open: an honest upper bound, not an average.

A customer told "about 10 minutes" who waits 25 feels lied to; one who is answered in 4 does not
mind. So the bound is a high quantile of measured first responses, scaled by how many customers
are ahead per agent, and rounded up, never down, to a few steps a person can hold on to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WAIT_STEPS_MINUTES = (5, 10, 15, 30, 60, 120, 240)
RESPONSE_QUANTILE = 0.8
# Below this many measured first responses the quantile is noise; the default is then a floor.
MIN_SAMPLES = 20
DEFAULT_FIRST_RESPONSE = timedelta(minutes=15)


@dataclass(frozen=True)
class WaitEstimate:
    """What to tell the customer at ``position`` in the queue; exactly one case holds.

    - ``minutes``: a person answers within that many minutes (one of ``WAIT_STEPS_MINUTES``);
    - ``later_today``: longer than the longest step, but before the line closes;
    - ``past_closing``: the line closes first; ``reopens_at`` is when it opens again, if known.
    """

    position: int
    minutes: int | None
    later_today: bool = False
    past_closing: bool = False
    reopens_at: datetime | None = None


def response_quantile(first_responses: Sequence[timedelta]) -> timedelta:
    """The time within which most recent tickets got their first response (nearest rank)."""
    if not first_responses:
        return DEFAULT_FIRST_RESPONSE
    ordered = sorted(first_responses)
    observed = ordered[math.ceil(RESPONSE_QUANTILE * len(ordered)) - 1]
    if len(ordered) < MIN_SAMPLES:
        return max(observed, DEFAULT_FIRST_RESPONSE)
    return observed


def wait_bound(*, position: int, active_agents: int, per_ticket: timedelta) -> timedelta:
    """How long the customer at ``position`` may wait when each turn takes ``per_ticket``.

    The first ``agents`` customers are each served by the next agent to come free; every further
    ``agents`` customers add one more turn.
    """
    if position < 1:
        raise ValueError(f"position is 1-based, got {position}")
    if active_agents < 0:
        raise ValueError(f"active_agents cannot be negative, got {active_agents}")
    # Nobody active lately still means the line is open and someone is on duty (the activity
    # window just missed them, or a shift is starting): estimate for one agent, not for never.
    agents = max(active_agents, 1)
    return per_ticket * math.ceil(position / agents)


def estimate_wait(
    *,
    position: int,
    active_agents: int,
    recent_first_responses: Sequence[timedelta],
    closes_in: timedelta | None = None,
    reopens_at: datetime | None = None,
) -> WaitEstimate:
    """The honest upper bound on the wait of the customer at ``position`` (1-based).

    ``position`` counts unassigned tickets of the same team and priority, this one included;
    ``active_agents`` is how many agents acted recently; ``recent_first_responses`` are measured
    first-response times of the last days, counted in open hours only. When the line closes in
    less than the bound (``closes_in``), the estimate says so, with ``reopens_at`` passed through.
    Non-decreasing in ``position``: a customer further back is never promised a shorter wait.
    """
    bound = wait_bound(
        position=position,
        active_agents=active_agents,
        per_ticket=response_quantile(recent_first_responses),
    )
    if closes_in is not None and bound > closes_in:
        return WaitEstimate(position, None, past_closing=True, reopens_at=reopens_at)
    minutes = next((step for step in WAIT_STEPS_MINUTES if bound <= timedelta(minutes=step)), None)
    return WaitEstimate(position, minutes, later_today=minutes is None)
