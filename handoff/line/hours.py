"""Business hours: when the support line is open, in the line's own time zone.

Hours are wall-clock times of the line's time zone, so 09:00 stays 09:00 across daylight saving
changes. A local time the clocks skip (spring forward) and a local time they show twice (autumn
back) are both read as the first instant at which the line's clock shows that time or later: a
skipped 03:30 is the instant of the jump, a repeated 03:30 its first occurrence. That reading
never runs backwards, so no interval ends before it starts.

An interval belongs to the day it starts on, overnight ones included: a public holiday on Tuesday
cancels Tuesday 22:00-Wednesday 06:00, not Monday's night shift that ends on Tuesday morning.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from handoff.line.schedule import (
    ALWAYS,
    DAY_NAMES,
    SCHEDULE_EXAMPLE,
    WHOLE_DAY,
    Interval,
    ScheduleError,
    SpecialDay,
    checked_day,
    describe_days,
    expect,
    expect_mapping,
    intervals_from,
    parse_weekly,
    public_holidays,
    zone,
)

# How far ahead next_opening and next_closing look, and how far back current_period_start does.
HORIZON = timedelta(days=400)


@dataclass(frozen=True)
class _Span:
    """An open stretch of time, as UTC instants."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class BusinessHours:
    """When the line is open: weekly hours, public holidays of a country, and special days.

    ``weekly`` maps a weekday (0 is Monday) to its intervals; missing days are closed. Every
    datetime it returns is in the line's time zone, ready to show. Python subtracts two datetimes
    of one zone by the wall clock, so measure durations after ``.astimezone(UTC)``.
    """

    timezone: str
    weekly: Mapping[int, tuple[Interval, ...]]
    holidays_country: str | None = None
    special_days: tuple[SpecialDay, ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _holidays: holiday_calendars.HolidayBase | None = field(init=False, repr=False, compare=False)
    _special: Mapping[date, SpecialDay] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "_zone", zone(self.timezone))
        country = (self.holidays_country or "").strip().upper() or None
        set_(self, "holidays_country", country)
        set_(self, "_holidays", public_holidays(country) if country else None)
        unknown = set(self.weekly) - set(range(7))
        if unknown:
            raise ScheduleError(f"weekdays are 0 (Monday) to 6 (Sunday), not {sorted(unknown)}")
        weekly = {day: checked_day(self.weekly.get(day, ()), DAY_NAMES[day]) for day in range(7)}
        if not any(weekly.values()):
            raise ScheduleError(f"the week has no opening hours: write e.g. {SCHEDULE_EXAMPLE}")
        set_(self, "weekly", MappingProxyType(weekly))
        special = sorted(self.special_days, key=lambda special_day: special_day.day)
        for earlier, later in pairwise(special):
            if earlier.day == later.day:
                raise ScheduleError(
                    f"{later.day.isoformat()} is given twice as a special day: keep one"
                )
        set_(self, "special_days", tuple(special))
        set_(self, "_special", MappingProxyType({item.day: item for item in special}))

    @classmethod
    def parse(
        cls,
        schedule: str,
        *,
        timezone: str,
        holidays: str = "",
        special_days: Iterable[SpecialDay] = (),
    ) -> BusinessHours:
        """Read the settings' format: ``mon-fri 09:00-13:00,14:00-18:00; sat 10:00-14:00``.

        Days are ``mon``…``sun``, ranges (``mon-fri``, ``fri-mon``) and lists (``mon,wed``);
        a day named in several clauses gets all their intervals. ``always`` means 24/7.
        """
        return cls(
            timezone=timezone,
            weekly=parse_weekly(schedule),
            holidays_country=holidays or None,
            special_days=tuple(special_days),
        )

    def describe(self) -> str:
        """The weekly hours in the settings' format; ``parse`` reads it back to the same hours."""
        if all(self.weekly[day] == (WHOLE_DAY,) for day in range(7)):
            return ALWAYS
        days_by_hours: dict[tuple[Interval, ...], list[int]] = {}
        for day in range(7):
            if self.weekly[day]:
                days_by_hours.setdefault(self.weekly[day], []).append(day)
        return "; ".join(
            f"{describe_days(days)} {','.join(str(interval) for interval in intervals)}"
            for intervals, days in days_by_hours.items()
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form for the database and the admin API; ``from_dict`` reads it back."""
        return {
            "timezone": self.timezone,
            "weekly": {
                DAY_NAMES[day]: [str(interval) for interval in self.weekly[day]] for day in range(7)
            },
            "holidays": self.holidays_country,
            "special_days": [special.to_dict() for special in self.special_days],
        }

    @classmethod
    def from_dict(cls, data: Any) -> BusinessHours:
        """Read and validate the form ``to_dict`` writes; days missing from weekly are closed."""
        fields = expect_mapping(
            data,
            "business hours",
            required={"timezone", "weekly"},
            optional={"holidays", "special_days"},
        )
        weekly_data = expect_mapping(
            fields["weekly"], "weekly", required=set(), optional=set(DAY_NAMES)
        )
        weekly = {
            DAY_NAMES.index(name): intervals_from(
                expect(hours, list, f"weekly.{name}"), f"weekly.{name}"
            )
            for name, hours in weekly_data.items()
        }
        holidays = fields.get("holidays")
        special_data = expect(fields.get("special_days", []), list, "special_days")
        return cls(
            timezone=expect(fields["timezone"], str, "timezone"),
            weekly=weekly,
            holidays_country=None if holidays is None else expect(holidays, str, "holidays"),
            special_days=tuple(
                SpecialDay.from_dict(item, f"special_days[{index}]")
                for index, item in enumerate(special_data)
            ),
        )

    def is_open(self, moment: datetime) -> bool:
        """Whether the line is open at ``moment`` (timezone-aware, any zone)."""
        day = self._local_day(moment)
        return any(
            span.start <= moment < span.end
            for span in self._spans(day - timedelta(days=1), day + timedelta(days=1))
        )

    def next_opening(self, moment: datetime) -> datetime | None:
        """The first instant at or after ``moment`` when the line is open.

        ``moment`` itself when the line is open then; None when it stays closed for the next
        400 days.
        """
        for span in self._forward_spans(moment):
            if span.end > moment:
                opening = max(span.start, moment)
                return self._local(opening) if opening - moment <= HORIZON else None
        return None

    def next_closing(self, moment: datetime) -> datetime | None:
        """The first instant at or after ``moment`` when the line is closed.

        ``moment`` itself when the line is closed then; None when it stays open for the next
        400 days (``always``).
        """
        for span in self._forward_spans(moment):
            if span.end > moment:
                if span.start > moment:
                    return self._local(moment)
                return self._local(span.end) if span.end - moment <= HORIZON else None
        return self._local(moment)

    def current_period_start(self, moment: datetime) -> datetime | None:
        """When the line last changed between open and closed, at or before ``moment``.

        So: the start of the closed period ``moment`` is in when the line is closed, of the open
        period when it is open. Every moment of one period gives the same answer, which makes it a
        key for "once per closed period" notices. None when the line has been in the same state
        for the last 400 days (``always``): then any earlier notice was in this same period.
        """
        day = self._local_day(moment)
        change: datetime | None = None
        for span in self._spans(day - HORIZON - timedelta(days=2), day + timedelta(days=1)):
            if span.start > moment:
                break
            if span.end > moment:
                change = span.start
                break
            change = span.end
        if change is None or moment - change > HORIZON:
            return None
        return self._local(change)

    def open_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How much of [start, end) the line is open: service-level clocks run in open hours."""
        if end <= start:
            return timedelta(0)
        spans = self._spans(
            self._local_day(start) - timedelta(days=1), self._local_day(end) + timedelta(days=1)
        )
        return sum(
            (
                min(span.end, end) - max(span.start, start)
                for span in spans
                if span.end > start and span.start < end
            ),
            timedelta(0),
        )

    def _hours_on(self, day: date) -> tuple[Interval, ...]:
        special = self._special.get(day)
        if special is not None:
            return special.intervals
        if self._holidays is not None and day in self._holidays:
            return ()
        return self.weekly[day.weekday()]

    def _instant(self, local: datetime) -> datetime:
        """The first instant (UTC) at which the line's clock shows ``local`` or later."""
        first = local.replace(tzinfo=self._zone).astimezone(UTC)  # fold=0: the first occurrence
        if first.astimezone(self._zone).replace(tzinfo=None) == local:
            return first
        # Skipped by a jump forward: find the jump between reading ``local`` with the offset
        # after it (too early) and with the offset before it (too late). Jumps fall on whole seconds.
        early = int(local.replace(tzinfo=self._zone, fold=1).timestamp())
        late = int(first.timestamp())
        while late - early > 1:
            middle = (early + late) // 2
            shown = datetime.fromtimestamp(middle, self._zone).replace(tzinfo=None)
            early, late = (early, middle) if shown >= local else (middle, late)
        return datetime.fromtimestamp(late, UTC)

    def _spans(self, first_day: date, last_day: date) -> Iterator[_Span]:
        """Open spans from the intervals of the days first_day..last_day, joined where they meet."""
        current: _Span | None = None
        day = first_day
        while day <= last_day:
            for interval in self._hours_on(day):
                local_start, local_end = interval.local_bounds(day)
                start, end = self._instant(local_start), self._instant(local_end)
                if start >= end:  # wholly inside a skipped hour
                    continue
                if current is not None and start <= current.end:
                    current = _Span(current.start, max(current.end, end))
                    continue
                if current is not None:
                    yield current
                current = _Span(start, end)
            day += timedelta(days=1)
        if current is not None:
            yield current

    def _forward_spans(self, moment: datetime) -> Iterator[_Span]:
        # Two days beyond the horizon: a span cut off by the last day then ends past it.
        day = self._local_day(moment)
        return self._spans(day - timedelta(days=1), day + HORIZON + timedelta(days=2))

    def _local_day(self, moment: datetime) -> date:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("the moment must be timezone-aware, e.g. datetime.now(UTC)")
        return moment.astimezone(self._zone).date()

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self._zone)
