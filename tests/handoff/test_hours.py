"""Business hours: openings, holidays, overnight shifts, daylight saving, the stored forms."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from handoff.line.hours import BusinessHours
from handoff.line.schedule import Interval, ScheduleError, SpecialDay

KYIV = ZoneInfo("Europe/Kyiv")
OFFICE = "mon-fri 09:00-18:00"


def kyiv(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV)


def office(**options: object) -> BusinessHours:
    return BusinessHours.parse(OFFICE, timezone="Europe/Kyiv", **options)  # type: ignore[arg-type]


def test_friday_evening_handoff_opens_monday_morning() -> None:
    friday_evening = kyiv(2026, 12, 4, 20, 0)
    hours = office()
    assert not hours.is_open(friday_evening)
    assert hours.next_opening(friday_evening) == kyiv(2026, 12, 7, 9, 0)


def test_next_opening_is_in_the_line_time_zone_whatever_the_moment_zone() -> None:
    opening = office().next_opening(datetime(2026, 12, 4, 18, 0, tzinfo=UTC))
    assert opening is not None
    assert opening.tzinfo == KYIV
    assert (opening.hour, opening.weekday()) == (9, 0)


def test_open_line_opens_at_the_moment_itself_and_closes_at_the_end_of_the_day() -> None:
    moment = kyiv(2026, 12, 2, 10, 30)
    hours = office()
    assert hours.is_open(moment)
    assert hours.next_opening(moment) == moment
    assert hours.next_closing(moment) == kyiv(2026, 12, 2, 18, 0)


def test_closed_line_closes_at_the_moment_itself() -> None:
    moment = kyiv(2026, 12, 2, 19, 0)
    assert office().next_closing(moment) == moment


def test_public_holiday_moves_the_opening_to_the_next_working_day() -> None:
    new_years_eve = kyiv(2026, 12, 31, 20, 0)
    assert office().next_opening(new_years_eve) == kyiv(2027, 1, 1, 9, 0)
    assert office(holidays="DE").next_opening(new_years_eve) == kyiv(2027, 1, 4, 9, 0)


def test_special_day_closes_the_line_or_sets_its_hours() -> None:
    new_years_eve = kyiv(2026, 12, 31, 20, 0)
    closed = office(special_days=[SpecialDay(date(2027, 1, 1), note="New Year")])
    assert closed.next_opening(new_years_eve) == kyiv(2027, 1, 4, 9, 0)
    short_day = office(
        holidays="DE",
        special_days=[SpecialDay(date(2027, 1, 1), (Interval(time(12), time(15)),))],
    )
    assert short_day.next_opening(new_years_eve) == kyiv(2027, 1, 1, 12, 0)
    assert short_day.next_closing(kyiv(2027, 1, 1, 13, 0)) == kyiv(2027, 1, 1, 15, 0)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (kyiv(2026, 12, 4, 23, 0), True),  # Friday night
        (kyiv(2026, 12, 5, 3, 0), True),  # Friday's shift runs into Saturday
        (kyiv(2026, 12, 5, 6, 0), False),
        (kyiv(2026, 12, 5, 23, 0), False),  # no shift starts on Saturday
        (kyiv(2026, 12, 7, 3, 0), False),  # nor on Sunday
        (kyiv(2026, 12, 7, 22, 0), True),
    ],
)
def test_overnight_shift_belongs_to_the_day_it_starts(moment: datetime, is_open: bool) -> None:
    night = BusinessHours.parse("mon-fri 22:00-06:00", timezone="Europe/Kyiv")
    assert night.is_open(moment) is is_open


def test_holiday_cancels_its_own_night_shift_not_the_one_ending_that_morning() -> None:
    tuesday = date(2027, 1, 12)
    night = BusinessHours.parse(
        "mon-fri 22:00-06:00", timezone="Europe/Kyiv", special_days=[SpecialDay(tuesday)]
    )
    assert night.is_open(kyiv(2027, 1, 12, 3, 0))  # Monday's shift
    assert not night.is_open(kyiv(2027, 1, 12, 23, 0))
    assert night.next_opening(kyiv(2027, 1, 12, 7, 0)) == kyiv(2027, 1, 13, 22, 0)


def test_shifts_that_meet_at_midnight_close_only_at_the_end_of_the_last() -> None:
    hours = BusinessHours.parse("mon 18:00-24:00; tue 00:00-02:00", timezone="Europe/Kyiv")
    assert hours.next_closing(kyiv(2026, 12, 7, 20, 0)) == kyiv(2026, 12, 8, 2, 0)


def test_always_is_open_and_never_closes() -> None:
    always = BusinessHours.parse("always", timezone="Europe/Kyiv")
    moment = kyiv(2027, 3, 28, 3, 30)
    assert always.is_open(moment)
    assert always.next_opening(moment) == moment
    assert always.next_closing(moment) is None
    assert always.current_period_start(moment) is None


def test_line_that_never_opens_within_the_horizon_has_no_opening() -> None:
    special_days = [SpecialDay(date(2027, 1, 1) + timedelta(days=n)) for n in range(420)]
    closed = office(special_days=special_days)
    assert closed.next_opening(kyiv(2027, 1, 1, 8, 0)) is None


@pytest.mark.parametrize(
    ("before", "after", "utc_offsets"),
    [
        # Spring forward on 28 March 2027: 09:00 is still 09:00, now at UTC+3.
        (kyiv(2027, 3, 26, 20, 0), kyiv(2027, 3, 29, 9, 0), (2, 3)),
        # Autumn back on 31 October 2027: 09:00 again, now at UTC+2.
        (kyiv(2027, 10, 29, 20, 0), kyiv(2027, 11, 1, 9, 0), (3, 2)),
    ],
)
def test_wall_clock_hours_stay_put_across_daylight_saving(
    before: datetime, after: datetime, utc_offsets: tuple[int, int]
) -> None:
    opening = office().next_opening(before)
    assert opening == after
    assert opening is not None
    assert (opening.hour, opening.minute) == (9, 0)
    offsets = (before.utcoffset(), opening.utcoffset())
    assert offsets == tuple(timedelta(hours=hours) for hours in utc_offsets)


@pytest.mark.parametrize(
    ("day", "real_hours"),
    [(date(2027, 3, 27), 7), (date(2027, 10, 30), 9), (date(2027, 1, 9), 8)],
)
def test_night_shift_across_a_clock_change_lasts_what_the_clocks_say(
    day: date, real_hours: int
) -> None:
    night = BusinessHours.parse("sat 22:00-06:00", timezone="Europe/Kyiv")
    start = datetime.combine(day, time(22), tzinfo=KYIV)
    end = night.next_closing(start)
    assert end is not None
    assert (end.hour, end.minute) == (6, 0)
    # Aware datetimes in one zone subtract by the wall clock: measure the real time in UTC.
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=real_hours)


def test_skipped_local_time_opens_when_the_clocks_jump() -> None:
    # 03:30 does not exist on 28 March 2027 in Kyiv: 03:00 becomes 04:00.
    hours = BusinessHours.parse("sun 03:30-10:00", timezone="Europe/Kyiv")
    opening = hours.next_opening(kyiv(2027, 3, 27, 12, 0))
    assert opening == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert opening is not None
    assert (opening.hour, opening.minute) == (4, 0)


def test_repeated_local_time_opens_at_its_first_occurrence() -> None:
    # 03:30 happens twice on 31 October 2027 in Kyiv; the first is at UTC+3.
    hours = BusinessHours.parse("sun 03:30-10:00", timezone="Europe/Kyiv")
    opening = hours.next_opening(kyiv(2027, 10, 30, 12, 0))
    assert opening is not None
    # A repeated local time never equals a time in another zone (PEP 495): compare in UTC.
    assert opening.astimezone(UTC) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_interval_wholly_inside_the_skipped_hour_never_opens() -> None:
    hours = BusinessHours.parse("sun 03:10-03:50,12:00-13:00", timezone="Europe/Kyiv")
    assert hours.next_opening(kyiv(2027, 3, 28, 0, 0)) == kyiv(2027, 3, 28, 12, 0)


def test_closed_period_starts_at_the_last_closing_for_every_moment_in_it() -> None:
    hours = office()
    friday_closing = kyiv(2026, 12, 4, 18, 0)
    for moment in (kyiv(2026, 12, 4, 18, 0), kyiv(2026, 12, 5, 12, 0), kyiv(2026, 12, 7, 8, 59)):
        assert hours.current_period_start(moment) == friday_closing
    assert hours.current_period_start(kyiv(2026, 12, 7, 9, 0)) == kyiv(2026, 12, 7, 9, 0)
    assert hours.current_period_start(kyiv(2026, 12, 7, 17, 0)) == kyiv(2026, 12, 7, 9, 0)


def test_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        office().is_open(datetime(2026, 12, 4, 12, 0))


@pytest.mark.parametrize(
    "schedule",
    [
        "mon-fri 09:00-18:00",
        "mon-fri 09:00-13:00,14:00-18:00; sat 10:00-14:00",
        "mon,wed,fri 10:00-16:00",
        "mon-fri 22:00-06:00",
        "sat-sun 00:00-24:00",
        "always",
    ],
)
def test_describe_gives_back_the_schedule(schedule: str) -> None:
    hours = BusinessHours.parse(schedule, timezone="Europe/Kyiv")
    assert hours.describe() == schedule
    assert BusinessHours.parse(hours.describe(), timezone="Europe/Kyiv") == hours


@pytest.mark.parametrize(
    ("schedule", "described"),
    [
        ("Mon-Fri 9:00-18:00", "mon-fri 09:00-18:00"),
        ("fri-mon 10:00-12:00", "mon,fri-sun 10:00-12:00"),
        (
            "mon-fri 09:00-18:00; fri 18:00-20:00",
            "mon-thu 09:00-18:00; fri 09:00-18:00,18:00-20:00",
        ),
        ("mon-sun 00:00-24:00", "always"),
        ("mon, wed 14:00-18:00, 09:00-13:00", "mon,wed 09:00-13:00,14:00-18:00"),
    ],
)
def test_schedule_is_read_leniently_and_described_in_one_form(
    schedule: str, described: str
) -> None:
    assert BusinessHours.parse(schedule, timezone="UTC").describe() == described


@pytest.mark.parametrize(
    ("schedule", "advice"),
    [
        ("", "the schedule is empty"),
        ("mon-fri 9-18", "write HH:MM-HH:MM"),
        ("monday 09:00-18:00", "'monday' is not a day: use mon"),
        ("mon-fri", "has no hours"),
        ("09:00-18:00", "start with days"),
        ("mon 09:00-13:00,12:00-18:00", "overlap"),
        ("mon 09:00-25:00", "'25:00' is not a time"),
        ("mon 24:00-06:00", "24:00 only as the end"),
        ("mon 09:00-09:00", "write 00:00-24:00 for a whole day"),
        ("always; sat 10:00-14:00", "stands alone"),
    ],
)
def test_unreadable_schedule_says_how_to_fix_it(schedule: str, advice: str) -> None:
    with pytest.raises(ScheduleError, match=advice):
        BusinessHours.parse(schedule, timezone="UTC")


def test_unknown_time_zone_and_country_are_refused() -> None:
    with pytest.raises(ScheduleError, match="IANA name such as Europe/Kyiv"):
        BusinessHours.parse(OFFICE, timezone="Europe/Kiyv")
    with pytest.raises(ScheduleError, match="two-letter country code"):
        BusinessHours.parse(OFFICE, timezone="UTC", holidays="XX")


def test_stored_form_round_trips() -> None:
    hours = BusinessHours.parse(
        "mon-fri 09:00-13:00,14:00-18:00; sat 22:00-02:00",
        timezone="Europe/Kyiv",
        holidays="ua",
        special_days=[
            SpecialDay(date(2027, 1, 1), note="New Year"),
            SpecialDay(date(2026, 12, 31), (Interval(time(9), time(14)),)),
        ],
    )
    stored = hours.to_dict()
    assert stored["weekly"]["mon"] == ["09:00-13:00", "14:00-18:00"]
    assert stored["weekly"]["sun"] == []
    assert stored["holidays"] == "UA"
    assert stored["special_days"][0] == {"date": "2026-12-31", "hours": ["09:00-14:00"], "note": ""}
    assert BusinessHours.from_dict(stored) == hours


@pytest.mark.parametrize(
    ("change", "advice"),
    [
        ({"weekly": {"monday": ["09:00-18:00"]}}, "unknown monday"),
        ({"weekly": {"mon": "09:00-18:00"}}, "weekly.mon: expected a list"),
        ({"weekly": {"mon": ["9-18"]}}, r"weekly.mon\[0\]: '9-18' is not an interval"),
        ({"weekly": {"sun": []}}, "the week has no opening hours"),
        ({"special_days": [{"date": "2027-13-01"}]}, "write YYYY-MM-DD"),
        ({"special_days": [{"date": "2027-01-01"}, {"date": "2027-01-01"}]}, "given twice"),
        ({"timezone": 3}, "timezone: expected a string"),
        ({"colour": "blue"}, "unknown colour"),
    ],
)
def test_stored_form_is_validated_on_the_way_in(change: dict[str, object], advice: str) -> None:
    data = office().to_dict() | change
    with pytest.raises(ScheduleError, match=advice):
        BusinessHours.from_dict(data)
