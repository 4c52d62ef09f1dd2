"""Periods and time zones as reports and schedules receive them, checked with one wording."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def check_period(start: datetime, end: datetime) -> None:
    """A period [start, end): both timezone-aware, start before end; ValueError says what is wrong."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the period's start and end must be timezone-aware datetimes")
    if start >= end:
        raise ValueError(
            f"the period's start ({start.isoformat()}) must be before its end ({end.isoformat()})"
        )


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone; ValueError with a hint for an unknown name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {name!r}: give an IANA name such as 'Europe/Kyiv' or 'UTC'"
        ) from error
