"""The support report over a synthetic week (SQLite and PostgreSQL).

Percentiles interpolate linearly between the closest ranks (PostgreSQL's percentile_cont):
for sorted values v[0..n-1], the p-th is at position (n-1)·p, e.g. p90 of
[60, 120, 300, 600, 900] sits at 3.6: 600 + 0.6·(900-600) = 780.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.database import transaction
from handoff.insights.analytics import support_report
from handoff.insights.report import SupportReport, percentile
from handoff.models import MessageKind
from retrieval.decision import Outcome, Reason
from tests.handoff.analytics_week import (
    CANCEL,
    KYIV,
    REFUND,
    WEEK_END,
    WEEK_START,
    History,
    at,
    record_week,
)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def week(sessions: Sessions) -> SupportReport:
    async with transaction(sessions) as session:
        await record_week(History(session))
    async with sessions() as session:
        return await support_report(session, start=WEEK_START, end=WEEK_END, timezone=KYIV)


async def _report(sessions: Sessions, start: datetime = WEEK_START) -> SupportReport:
    async with sessions() as session:
        return await support_report(session, start=start, end=WEEK_END)


async def test_conversations_are_runs_of_messages_begun_in_the_period(week: SupportReport) -> None:
    # Ann's two, Bob's two, Cat's last one; Cat's begun before the week is not counted.
    assert week.conversations.total == 5


async def test_the_bot_resolves_the_conversations_it_answered_without_a_handoff(
    week: SupportReport,
) -> None:
    assert (week.conversations.resolved_by_bot, week.conversations.bot_resolution_rate) == (2, 0.4)


async def test_a_conversation_that_opened_a_ticket_was_handed_off(sessions: Sessions) -> None:
    """Even when the bot's handoff reply was never stored (Telegram failed to take it)."""
    async with transaction(sessions) as session:
        h = History(session)
        ann = await h.customer(1, "Ann")
        await h.asks(ann, at(2, "10:00"), Outcome.ANSWER, Reason.CONFIDENT, faq_key=CANCEL)
        await h.bot_says(ann, at(2, "10:00:01"), Outcome.ANSWER, faq_key=CANCEL)
        press = await h.asks(ann, at(2, "10:01"), kind=MessageKind.BUTTON)
        await h.ticket(ann, at(2, "10:01"), Reason.CUSTOMER_REQUEST, opening=press)
    report = await _report(sessions)
    assert (report.conversations.total, report.conversations.resolved_by_bot) == (1, 0)


async def test_messages_an_hour_apart_are_one_conversation_as_the_bot_reads_them(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        h = History(session)
        ann = await h.customer(1, "Ann")
        for when in (at(2, "10:00"), at(2, "11:00"), at(2, "12:00:01")):
            await h.asks(ann, when, Outcome.CLARIFY, Reason.GREETING)
    report = await _report(sessions)
    assert report.conversations.total == 2
    assert report.conversations.bot_resolution_rate == 0


async def test_handoffs_count_each_ticket_opened_once_by_its_reason(week: SupportReport) -> None:
    assert week.handoffs.total == 6
    assert list(week.handoffs.by_reason.items()) == [
        ("customer_request", 3),
        ("low_confidence", 2),
        ("repeated_failure", 1),
    ]
    assert week.handoffs.reopened == 1


async def test_response_and_resolution_times_are_median_and_p90_overall_and_per_agent(
    week: SupportReport,
) -> None:
    times = {
        name: (
            service.tickets,
            service.first_response.model_dump(),
            service.resolution.model_dump(),
        )
        for name, service in [
            ("all", week.tickets),
            *((agent.name, agent.service) for agent in week.agents),
        ]
    }
    assert times == {
        # first responses 60, 120, 300, 600, 900 (one never answered); resolutions 1800, 3600,
        # 7200, 7200 (two still open)
        "all": (
            6,
            {"count": 5, "median_seconds": 300.0, "p90_seconds": 780.0},
            {"count": 4, "median_seconds": 5400.0, "p90_seconds": 7200.0},
        ),
        "Olga": (  # 60, 120, 600; 3600, 7200
            3,
            {"count": 3, "median_seconds": 120.0, "p90_seconds": 504.0},
            {"count": 2, "median_seconds": 5400.0, "p90_seconds": 6840.0},
        ),
        "Petr": (  # 300, 900; 1800, 7200
            2,
            {"count": 2, "median_seconds": 600.0, "p90_seconds": 840.0},
            {"count": 2, "median_seconds": 4500.0, "p90_seconds": 6660.0},
        ),
    }
    assert [agent.name for agent in week.agents] == ["Olga", "Petr"]  # the busiest first


async def test_csat_is_the_mean_and_distribution_of_ratings_overall_and_per_agent(
    week: SupportReport,
) -> None:
    olga, petr = week.agents
    assert week.tickets.csat.model_dump() == {
        "count": 4,
        "mean": 4.0,
        "distribution": {1: 0, 2: 1, 3: 0, 4: 1, 5: 2},
    }
    assert (olga.service.csat.mean, olga.service.csat.distribution) == (
        4.5,
        {1: 0, 2: 0, 3: 0, 4: 1, 5: 1},
    )
    assert (petr.service.csat.count, petr.service.csat.mean) == (2, 3.5)


async def test_volume_counts_customer_messages_by_hour_and_weekday_in_the_time_zone(
    week: SupportReport,
) -> None:
    """Kyiv is UTC+2: Cat's Sunday 23:30 UTC is Monday 01:30; presses and edits are not messages."""
    busy_hours = {hour: count for hour, count in week.volume.by_hour.items() if count}
    assert busy_hours == {1: 1, 2: 1, 11: 1, 12: 1, 14: 2, 17: 2}
    assert list(week.volume.by_hour) == list(range(24))
    assert week.volume.by_weekday == {
        "mon": 5,
        "tue": 3,
        "wed": 0,
        "thu": 0,
        "fri": 0,
        "sat": 0,
        "sun": 0,
    }


async def test_faq_entries_count_each_answer_once_with_its_votes(week: SupportReport) -> None:
    """Ann's two-part answer is one; Cat's answer before the week and its 👍 are not counted."""
    assert [usage.model_dump() for usage in week.top_faq] == [
        {
            "faq_key": CANCEL,
            "question": "How do I cancel my subscription?",
            "answers": 3,
            "helpful": 1,
            "not_helpful": 0,
        },
        {
            "faq_key": REFUND,
            "question": "How do I get a refund?",
            "answers": 1,
            "helpful": 0,
            "not_helpful": 1,
        },
    ]


async def test_only_the_twenty_most_answered_entries_are_listed(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        h = History(session)
        ann = await h.customer(1, "Ann")
        for index in range(21):
            # Each an hour and more apart: 21 conversations, entry-20 answered once more.
            for repeat in range(2 if index == 20 else 1):
                when = at(2, "00:00") + timedelta(hours=2 * index, minutes=repeat)
                await h.asks(ann, when, Outcome.ANSWER, Reason.CONFIDENT, faq_key=f"entry-{index}")
                await h.bot_says(
                    ann, when + timedelta(seconds=1), Outcome.ANSWER, faq_key=f"entry-{index}"
                )
    report = await _report(sessions)
    assert [(usage.faq_key, usage.answers) for usage in report.top_faq[:2]] == [
        ("entry-20", 2),
        ("entry-0", 1),
    ]
    assert len(report.top_faq) == 20
    assert report.top_faq[-1].faq_key == "entry-8"  # keys in order among equals: entry-9 is cut
    assert report.top_faq[0].question is None  # no such entry in the knowledge base
    assert report.conversations.total == 21


async def test_low_confidence_handoffs_are_the_uncovered_questions(week: SupportReport) -> None:
    assert week.uncovered_questions == 1  # Ann's at 12:59; Cat's at the week's end is the next


async def test_an_empty_period_gives_zeros_and_no_times(sessions: Sessions) -> None:
    report = await _report(sessions)
    empty_days = [
        {"day": date(2026, 3, 2) + timedelta(days=n), "total": 0, "resolved_by_bot": 0}
        for n in range(7)
    ]
    assert report.conversations.model_dump() == {
        "total": 0,
        "resolved_by_bot": 0,
        "bot_resolution_rate": None,
        "by_day": empty_days,
    }
    assert report.handoffs.model_dump() == {"total": 0, "by_reason": {}, "reopened": 0}
    assert report.tickets.first_response.model_dump() == {
        "count": 0,
        "median_seconds": None,
        "p90_seconds": None,
    }
    assert (report.tickets.csat.mean, sum(report.tickets.csat.distribution.values())) == (None, 0)
    assert (report.agents, report.top_faq, report.uncovered_questions) == ([], [], 0)
    assert sum(report.volume.by_hour.values()) == sum(report.volume.by_weekday.values()) == 0


async def test_the_report_is_json_for_the_admin_api(week: SupportReport) -> None:
    data = week.model_dump(mode="json")
    assert data["start"] == "2026-03-02T00:00:00Z"
    assert data["volume"]["by_weekday"]["mon"] == 5
    assert data["tickets"]["csat"]["distribution"]["5"] == 2
    assert SupportReport.model_validate_json(week.model_dump_json()) == week


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (WEEK_END, WEEK_START, "must be before its end"),
        (WEEK_START, WEEK_START, "must be before its end"),
        (datetime(2026, 3, 2), WEEK_END, "timezone-aware"),
    ],
)
async def test_a_period_that_is_not_a_forward_interval_is_refused(
    sessions: Sessions, start: datetime, end: datetime, message: str
) -> None:
    async with sessions() as session:
        with pytest.raises(ValueError, match=message):
            await support_report(session, start=start, end=end)


@pytest.mark.parametrize("zone", ["Europe/Kiev-ish", "", "../etc/passwd"])
async def test_an_unknown_time_zone_is_refused(sessions: Sessions, zone: str) -> None:
    async with sessions() as session:
        with pytest.raises(ValueError, match="unknown time zone"):
            await support_report(session, start=WEEK_START, end=WEEK_END, timezone=zone)


def test_percentiles_interpolate_between_the_closest_ranks() -> None:
    seconds = [900.0, 60.0, 600.0, 120.0, 300.0]
    assert [percentile(seconds, fraction) for fraction in (0, 0.5, 0.9, 1)] == [
        60.0,
        300.0,
        pytest.approx(780.0),
        900.0,
    ]
    assert percentile([1800.0, 3600.0, 7200.0, 7200.0], 0.5) == 5400.0  # the two middle ones
    assert percentile([42.0], 0.9) == 42.0
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError, match="0 to 1"):
        percentile(seconds, 90)


async def test_conversations_by_day_cover_every_local_day_of_the_period(
    week: SupportReport,
) -> None:
    """Monday 00:00 UTC to the next is 02:00 to 02:00 in Kyiv: eight local days, counted by the
    day each conversation began there (the console draws them over time)."""
    days = week.conversations.by_day
    assert [day.day for day in days] == [date(2026, 3, 2) + timedelta(days=n) for n in range(8)]
    assert sum(day.total for day in days) == week.conversations.total
    assert sum(day.resolved_by_bot for day in days) == week.conversations.resolved_by_bot
    busy = {day.day.isoformat(): (day.total, day.resolved_by_bot) for day in days if day.total}
    # Ann's and Bob's on Monday and Tuesday; Cat's last at Sunday 23:30 UTC, Monday 01:30 there.
    assert busy == {"2026-03-02": (2, 1), "2026-03-03": (2, 0), "2026-03-09": (1, 1)}
