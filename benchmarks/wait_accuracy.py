"""How honest the wait estimate is: a simulated queue at several loads.

Customers arrive at random (Poisson, seeded); each is handed to the next free agent in arrival
order; an agent works one ticket at a time for a random handling time (log-normal), and the
first response comes a little after the pickup. As each ticket arrives, ``estimate_wait`` sees
what the bot would see then: its place in the queue, the number of agents, and the waits of the
last three days with the place in line each of those tickets had. The table shows the share of real waits that fall
within the stated bound (goal: 80 % or more) and the mean stated bound beside the mean real wait.

The second table runs it per team (issue 28): three teams with their own agents, handling times
and loads, each estimated from its own queue and history as the bot does now, beside the one-line
estimate of before teams (every team's waiting tickets in one queue, every agent counted, every
team's past waits mixed).

    .venv/bin/python benchmarks/wait_accuracy.py
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
import statistics
from dataclasses import dataclass
from datetime import timedelta

from handoff.line.wait import PastWait, estimate_wait

SEED = 6
AGENTS = 3
MEAN_HANDLING_MINUTES = 12.0
HANDLING_SPREAD = 0.6  # sigma of the log-normal: some tickets take three times the median
FIRST_REPLY_MINUTES = (0.5, 3.0)  # reading the context card and typing, after the pickup
SIMULATED_DAYS = 30
WARM_UP_DAYS = 3
HISTORY = timedelta(days=3)
LOADS = (0.3, 0.5, 0.7, 0.85, 0.95)


@dataclass(frozen=True)
class Team:
    name: str
    agents: int
    mean_handling_minutes: float
    load: float


TEAMS = (
    Team("first line", 3, 12.0, 0.7),
    Team("billing (second line)", 2, 25.0, 0.6),
    Team("lawyers (department)", 1, 45.0, 0.5),
)


@dataclass(frozen=True)
class Ticket:
    arrived: float  # minutes since the start
    position: int
    first_response: float
    pickup: float = 0.0


@dataclass(frozen=True)
class LoadResult:
    load: float
    tickets: int
    within_bound: float
    later_today: float
    mean_bound: float
    mean_wait: float


def handling_minutes(rng: random.Random, mean: float = MEAN_HANDLING_MINUTES) -> float:
    # The log-normal's mean is exp(mu + sigma²/2): pick mu so that it is ``mean``.
    mu = math.log(mean) - HANDLING_SPREAD**2 / 2
    return rng.lognormvariate(mu, HANDLING_SPREAD)


def simulate_queue(
    load: float, rng: random.Random, team: Team = Team("one line", AGENTS, MEAN_HANDLING_MINUTES, 0)
) -> list[Ticket]:
    """First-come-first-served with the team's agents; positions as the bot sees them on
    arrival."""
    arrivals_per_minute = load * team.agents / team.mean_handling_minutes
    free_at = [0.0] * team.agents
    pickups: list[float] = []  # non-decreasing: the queue is served in arrival order
    tickets = []
    now = 0.0
    while now < SIMULATED_DAYS * 24 * 60:
        now += rng.expovariate(arrivals_per_minute)
        pickup = max(now, heapq.heappop(free_at))
        heapq.heappush(free_at, pickup + handling_minutes(rng, team.mean_handling_minutes))
        waiting_ahead = len(pickups) - bisect.bisect_right(pickups, now)
        pickups.append(pickup)
        reply = rng.uniform(*FIRST_REPLY_MINUTES)
        tickets.append(Ticket(now, waiting_ahead + 1, pickup + reply, pickup))
    return tickets


def measure(
    load: float,
    tickets: list[Ticket],
    *,
    agents: int = AGENTS,
    history: list[Ticket] | None = None,
) -> LoadResult:
    """Score the estimates of ``tickets`` made from ``history`` (default: the same tickets),
    with ``agents`` counted on duty."""
    answered = sorted(history or tickets, key=lambda ticket: ticket.first_response)
    answered_at = [ticket.first_response for ticket in answered]
    window = HISTORY.total_seconds() / 60
    covered = later = 0
    bounds: list[float] = []
    waits: list[float] = []
    for ticket in tickets:
        if ticket.arrived < WARM_UP_DAYS * 24 * 60:
            continue
        seen = answered[
            bisect.bisect_left(answered_at, ticket.arrived - window) : bisect.bisect_right(
                answered_at, ticket.arrived
            )
        ]
        estimate = estimate_wait(
            position=ticket.position,
            active_agents=agents,
            recent_waits=[
                PastWait(
                    timedelta(minutes=past.first_response - past.arrived), past.position, agents
                )
                for past in seen
            ],
        )
        wait = ticket.first_response - ticket.arrived
        waits.append(wait)
        if estimate.minutes is None:
            later += 1
            continue
        bounds.append(estimate.minutes)
        covered += wait <= estimate.minutes
    counted = len(waits)
    return LoadResult(
        load=load,
        tickets=counted,
        within_bound=covered / (counted - later) if counted > later else 0.0,
        later_today=later / counted,
        mean_bound=statistics.fmean(bounds) if bounds else 0.0,
        mean_wait=statistics.fmean(waits),
    )


def pooled(queues: list[list[Ticket]]) -> list[list[Ticket]]:
    """The same tickets as one line saw them before teams: a place among every team's waiting
    tickets (each team serves its own in order, so one waits from its arrival to its pickup)."""
    arrivals = [[ticket.arrived for ticket in queue] for queue in queues]
    pickups = [sorted(ticket.pickup for ticket in queue) for queue in queues]

    def waiting_in(team: int, moment: float) -> int:
        return bisect.bisect_left(arrivals[team], moment) - bisect.bisect_right(
            pickups[team], moment
        )

    return [
        [
            Ticket(
                ticket.arrived,
                ticket.position
                + sum(
                    waiting_in(other, ticket.arrived)
                    for other in range(len(queues))
                    if other != team
                ),
                ticket.first_response,
            )
            for ticket in queue
        ]
        for team, queue in enumerate(queues)
    ]


def print_per_team() -> None:
    print(
        "\nPer team (each its own queue, agents and past waits) beside one line for all "
        f"({SIMULATED_DAYS} days, seed {SEED}):\n"
    )
    print(
        "| team | agents | mean handling | load | estimated | tickets | within the bound "
        "| 'later today' | mean bound | mean real wait |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    queues = [
        simulate_queue(team.load, random.Random(f"{SEED}-{team.name}"), team) for team in TEAMS
    ]
    everyone = sum(team.agents for team in TEAMS)
    one_line = pooled(queues)
    all_history = [ticket for queue in one_line for ticket in queue]
    for team, own, as_one_line in zip(TEAMS, queues, one_line, strict=True):
        for label, result in (
            ("per team", measure(team.load, own, agents=team.agents)),
            ("one line", measure(team.load, as_one_line, agents=everyone, history=all_history)),
        ):
            print(
                f"| {team.name} | {team.agents} | {team.mean_handling_minutes:g} min "
                f"| {team.load:.0%} | {label} | {result.tickets} | {result.within_bound:.1%} "
                f"| {result.later_today:.1%} | {result.mean_bound:.1f} min "
                f"| {result.mean_wait:.1f} min |"
            )


def main() -> None:
    print(
        f"{AGENTS} agents, handling time log-normal with mean {MEAN_HANDLING_MINUTES:g} min, "
        f"{SIMULATED_DAYS} days per load ({WARM_UP_DAYS} of warm-up not counted), seed {SEED}\n"
    )
    print(
        "| load | tickets | real wait within the bound | 'later today' | mean bound | mean real wait |"
    )
    print("|---|---|---|---|---|---|")
    for load in LOADS:
        result = measure(load, simulate_queue(load, random.Random(f"{SEED}-{load}")))
        print(
            f"| {result.load:.0%} | {result.tickets} | {result.within_bound:.1%} "
            f"| {result.later_today:.1%} | {result.mean_bound:.1f} min | {result.mean_wait:.1f} min |"
        )
    print_per_team()


if __name__ == "__main__":
    main()
