"""The expected wait for a person while the line is open: an honest upper bound, not an average.

A customer told "about 10 minutes" who waits 25 feels lied to; one who is answered in 4 does not
mind. So the bound is a high quantile of measured waits, scaled by how many customers are ahead
per agent, and rounded up, never down, to a few steps a person can hold on to.

A past wait already contains the queue that ticket stood in, so it is first divided by its place
in that queue and multiplied by the agents then on duty: one agent's turn. Scaling raw waits by
today's place would count the queue twice (measured in ``benchmarks/wait_accuracy.py``: at 95 %
load the bound was four times the real wait, and a third of customers heard "later today").
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
DEFAULT_AGENT_TURN = timedelta(minutes=15)


@dataclass(frozen=True)
class PastWait:
    """One ticket's wait for its first answer, its place in the queue and the agents on duty
    when it opened."""

    waited: timedelta
    position: int
    agents: int

    @property
    def agent_turn(self) -> timedelta:
        return self.waited * max(self.agents, 1) / max(self.position, 1)


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


def turn_quantile(past: Sequence[PastWait]) -> timedelta:
    """One agent's turn per ticket, as most recent tickets measured it (nearest rank)."""
    if not past:
        return DEFAULT_AGENT_TURN
    ordered = sorted(wait.agent_turn for wait in past)
    observed = ordered[math.ceil(RESPONSE_QUANTILE * len(ordered)) - 1]
    if len(ordered) < MIN_SAMPLES:
        return max(observed, DEFAULT_AGENT_TURN)
    return observed


def wait_bound(*, position: int, active_agents: int, agent_turn: timedelta) -> timedelta:
    """How long the customer at ``position`` may wait when one agent's turn takes ``agent_turn``:
    the agents on duty share the customers ahead."""
    if position < 1:
        raise ValueError(f"position is 1-based, got {position}")
    if active_agents < 0:
        raise ValueError(f"active_agents cannot be negative, got {active_agents}")
    # Nobody active lately still means the line is open and someone is on duty (the activity
    # window just missed them, or a shift is starting): estimate for one agent, not for never.
    return agent_turn * position / max(active_agents, 1)


def estimate_wait(
    *,
    position: int,
    active_agents: int,
    recent_waits: Sequence[PastWait],
    closes_in: timedelta | None = None,
    reopens_at: datetime | None = None,
) -> WaitEstimate:
    """The honest upper bound on the wait of the customer at ``position`` (1-based).

    ``position`` counts unassigned tickets of the same team and priority, this one included;
    ``active_agents`` is how many agents acted recently; ``recent_waits`` are the first-answer
    waits of the last days, of tickets opened while the line was open. When the line closes in
    less than the bound (``closes_in``), the estimate says so, with ``reopens_at`` passed through.
    Non-decreasing in ``position``: a customer further back is never promised a shorter wait.
    """
    bound = wait_bound(
        position=position,
        active_agents=active_agents,
        agent_turn=turn_quantile(recent_waits),
    )
    if closes_in is not None and bound > closes_in:
        return WaitEstimate(position, None, past_closing=True, reopens_at=reopens_at)
    minutes = next((step for step in WAIT_STEPS_MINUTES if bound <= timedelta(minutes=step)), None)
    return WaitEstimate(position, minutes, later_today=minutes is None)
