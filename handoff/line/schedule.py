"""What a schedule is made of, and reading it: intervals of local time, special days, weekly
hours written as text ('mon-fri 09:00-18:00; sat 10:00-14:00'), time zones and countries'
public holidays — each mistake a ``ScheduleError`` that says how to fix it. The line's clock
built from them is ``handoff.line.hours.BusinessHours``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_calendars

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "always"
MIDNIGHT = time(0)
SCHEDULE_EXAMPLE = "'mon-fri 09:00-18:00; sat 10:00-14:00', or 'always' for 24/7"

_Value = TypeVar("_Value")
_INTERVAL = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


class ScheduleError(ValueError):
    """A schedule that cannot be read; the message says how to fix it."""


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _clock(hour: str, minute: str, *, end: bool) -> time:
    hours, minutes = int(hour), int(minute)
    if end and (hours, minutes) == (24, 0):
        return MIDNIGHT
    if hours > 23 or minutes > 59:
        raise ScheduleError(
            f"'{hour}:{minute}' is not a time: write HH:MM from 00:00 to 23:59 "
            "(24:00 only as the end of an interval)"
        )
    return time(hours, minutes)


@dataclass(frozen=True)
class Interval:
    """Open from start to end, local time; an end at or before the start is on the next day.

    An end of 00:00 is midnight at the end of the day (written 24:00); 00:00-24:00 is the whole day.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        for moment in (self.start, self.end):
            if moment.tzinfo is not None or moment.second or moment.microsecond:
                raise ScheduleError(
                    f"{moment.isoformat()} is not a whole minute of local time: "
                    "give hours and minutes only, without a time zone"
                )
        if self.start == self.end != MIDNIGHT:
            raise ScheduleError(
                f"{self} opens and closes at the same time: write 00:00-24:00 for a whole day"
            )

    @classmethod
    def parse(cls, text: str) -> Interval:
        """Read ``09:00-18:00``, ``22:00-06:00`` (overnight) or ``18:00-24:00``."""
        match = _INTERVAL.fullmatch(text.strip())
        if match is None:
            raise ScheduleError(f"'{text}' is not an interval: write HH:MM-HH:MM, e.g. 09:00-18:00")
        start_hour, start_minute, end_hour, end_minute = match.groups()
        return cls(
            _clock(start_hour, start_minute, end=False), _clock(end_hour, end_minute, end=True)
        )

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def local_bounds(self, day: date) -> tuple[datetime, datetime]:
        """Naive local start and end when the interval opens on ``day``."""
        end_day = day + timedelta(days=1) if self.overnight else day
        return datetime.combine(day, self.start), datetime.combine(end_day, self.end)

    def __str__(self) -> str:
        end = "24:00" if self.end == MIDNIGHT else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


WHOLE_DAY = Interval(MIDNIGHT, MIDNIGHT)


def checked_day(intervals: Iterable[Interval], where: str) -> tuple[Interval, ...]:
    """One day's intervals in order; overlapping ones are a typo, touching ones are fine."""
    ordered = tuple(sorted(intervals, key=lambda interval: interval.start))
    for earlier, later in pairwise(ordered):
        earlier_end = _minutes(earlier.end) + (24 * 60 if earlier.overnight else 0)
        if _minutes(later.start) < earlier_end:
            raise ScheduleError(
                f"{where}: {earlier} and {later} overlap: join them into one interval or fix the times"
            )
    return ordered


def _parse_intervals(text: str) -> tuple[Interval, ...]:
    return tuple(Interval.parse(part) for part in re.sub(r"\s", "", text).split(","))


@dataclass(frozen=True)
class SpecialDay:
    """A one-off day: closed when it has no intervals, otherwise open at these hours only."""

    day: date
    intervals: tuple[Interval, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "intervals", checked_day(self.intervals, self.day.isoformat()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "hours": [str(interval) for interval in self.intervals],
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "special day") -> SpecialDay:
        """Read ``{"date": "2027-01-01", "hours": ["10:00-14:00"], "note": "…"}``."""
        fields = expect_mapping(data, where, required={"date"}, optional={"hours", "note"})
        text = expect(fields["date"], str, f"{where}.date")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ScheduleError(f"{where}.date: '{text}' is not a date: write YYYY-MM-DD") from None
        hours = expect(fields.get("hours", []), list, f"{where}.hours")
        note = expect(fields.get("note", ""), str, f"{where}.note")
        return cls(day, intervals_from(hours, f"{where}.hours"), note)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone '{name}': use an IANA name such as Europe/Kyiv or UTC"
        ) from None


def public_holidays(country: str) -> holiday_calendars.HolidayBase:
    try:
        return holiday_calendars.country_holidays(country)
    except NotImplementedError:
        raise ScheduleError(
            f"no public holidays known for '{country}': use a two-letter country code "
            "such as UA, PL or DE, or leave it empty for none"
        ) from None


def parse_weekly(schedule: str) -> dict[int, tuple[Interval, ...]]:
    clauses = [clause.strip() for clause in re.split(r"[;\n]", schedule.lower()) if clause.strip()]
    if clauses == [ALWAYS]:
        return {day: (WHOLE_DAY,) for day in range(7)}
    if not clauses:
        raise ScheduleError(f"the schedule is empty: write e.g. {SCHEDULE_EXAMPLE}")
    weekly: dict[int, list[Interval]] = {day: [] for day in range(7)}
    for clause in clauses:
        if clause == ALWAYS:
            raise ScheduleError("'always' means 24/7 and stands alone: remove the other clauses")
        hours_at = re.search(r"\d", clause)
        if hours_at is None:
            raise ScheduleError(
                f"'{clause}' has no hours: write days, a space and hours, e.g. 'mon-fri 09:00-18:00'"
            )
        days_text, hours_text = clause[: hours_at.start()], clause[hours_at.start() :]
        try:
            intervals = _parse_intervals(hours_text)
            for day in _parse_days(days_text):
                weekly[day].extend(intervals)
        except ScheduleError as error:
            raise ScheduleError(f"in '{clause}': {error}") from None
    return {day: tuple(intervals) for day, intervals in weekly.items()}


def _parse_days(text: str) -> list[int]:
    names = re.sub(r"\s", "", text)
    if not names:
        raise ScheduleError("which days? start with days, e.g. 'mon-fri 09:00-18:00'")
    days: list[int] = []
    for part in names.split(","):
        first, _, last = part.partition("-")
        start = _day_number(first)
        count = (_day_number(last) - start) % 7 + 1 if last else 1
        days.extend((start + offset) % 7 for offset in range(count))
    return days


def _day_number(name: str) -> int:
    if name not in DAY_NAMES:
        raise ScheduleError(f"'{name}' is not a day: use {', '.join(DAY_NAMES)}")
    return DAY_NAMES.index(name)


def describe_days(days: list[int]) -> str:
    """``[0, 1, 2, 4]`` → ``mon-wed,fri``."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        DAY_NAMES[run[0]] if len(run) == 1 else f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}"
        for run in runs
    )


def expect(value: Any, kind: type[_Value], where: str) -> _Value:
    if not isinstance(value, kind):
        raise ScheduleError(f"{where}: expected {_KIND_NAMES[kind]}, got {value!r}")
    return value


_KIND_NAMES: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}


def expect_mapping(
    value: Any, where: str, *, required: set[str], optional: set[str]
) -> dict[str, Any]:
    fields = expect(value, dict, where)
    missing = required - set(fields)
    if missing:
        raise ScheduleError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = set(fields) - required - optional
    if unknown:
        known = ", ".join(sorted(required | optional))
        raise ScheduleError(f"{where}: unknown {', '.join(sorted(unknown))} (known: {known})")
    return fields


def intervals_from(hours: list[Any], where: str) -> tuple[Interval, ...]:
    intervals = []
    for index, item in enumerate(hours):
        text = expect(item, str, f"{where}[{index}]")
        try:
            intervals.append(Interval.parse(text))
        except ScheduleError as error:
            raise ScheduleError(f"{where}[{index}]: {error}") from None
    return tuple(intervals)
