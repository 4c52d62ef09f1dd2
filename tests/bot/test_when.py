"""When we open and how long it takes, as the customer reads it in ru, uk and en."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.customers.when import EN, RU, UK, counted, describe_opening, describe_wait
from handoff.line.wait import WaitEstimate

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=KYIV)  # a Wednesday


def kyiv(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV)


@pytest.mark.parametrize(
    ("opening", "en", "ru", "uk"),
    [
        (kyiv(2026, 12, 2, 18, 0), "today at 18:00", "сегодня в 18:00", "сьогодні о 18:00"),
        (kyiv(2026, 12, 3, 9, 0), "tomorrow at 9:00", "завтра в 9:00", "завтра о 9:00"),
        (
            kyiv(2026, 12, 7, 10, 0),
            "on Monday at 10:00",
            "в понедельник в 10:00",
            "у понеділок о 10:00",
        ),
        (kyiv(2026, 12, 8, 9, 30), "on Tuesday at 9:30", "во вторник в 9:30", "у вівторок о 9:30"),
        (
            kyiv(2026, 12, 4, 11, 0),
            "on Friday at 11:00",
            "в пятницу в 11:00",
            "у п'ятницю об 11:00",
        ),
        (kyiv(2027, 1, 5, 9, 0), "on 5 January at 9:00", "5 января в 9:00", "5 січня о 9:00"),
        (
            kyiv(2027, 9, 1, 9, 0),
            "on 1 September 2027 at 9:00",
            "1 сентября 2027 в 9:00",
            "1 вересня 2027 о 9:00",
        ),
    ],
)
def test_opening_is_named_as_a_person_would_say_it(
    opening: datetime, en: str, ru: str, uk: str
) -> None:
    said = {language: describe_opening(opening, NOW, language) for language in ("en", "ru", "uk")}
    assert said == {"en": en, "ru": ru, "uk": uk}


def test_today_and_tomorrow_follow_the_line_time_zone_not_the_caller() -> None:
    # 23:30 UTC on Wednesday is already Thursday in Kyiv.
    now = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    assert describe_opening(kyiv(2026, 12, 3, 9, 0), now, "en") == "today at 9:00"


def test_unknown_language_gets_english() -> None:
    assert describe_opening(kyiv(2026, 12, 3, 9, 0), NOW, "de") == "tomorrow at 9:00"


@pytest.mark.parametrize(
    ("estimate", "en", "ru", "uk"),
    [
        (WaitEstimate(1, 5), "about 5 minutes", "примерно 5 минут", "приблизно 5 хвилин"),
        (WaitEstimate(1, 15), "about 15 minutes", "примерно 15 минут", "приблизно 15 хвилин"),
        (WaitEstimate(2, 30), "about half an hour", "около получаса", "близько пів години"),
        (WaitEstimate(3, 60), "within an hour", "в течение часа", "протягом години"),
        (WaitEstimate(4, 120), "within 2 hours", "в течение 2 часов", "протягом 2 годин"),
        (WaitEstimate(5, 240), "within 4 hours", "в течение 4 часов", "протягом 4 годин"),
        (
            WaitEstimate(9, None, later_today=True),
            "later today",
            "сегодня, но позже",
            "сьогодні, але пізніше",
        ),
        (
            WaitEstimate(9, None, past_closing=True, reopens_at=kyiv(2026, 12, 3, 9, 0)),
            "after we open, tomorrow at 9:00",
            "после открытия: завтра в 9:00",
            "після відкриття: завтра о 9:00",
        ),
    ],
)
def test_wait_is_said_as_an_honest_bound(estimate: WaitEstimate, en: str, ru: str, uk: str) -> None:
    said = {language: describe_wait(estimate, language, now=NOW) for language in ("en", "ru", "uk")}
    assert said == {"en": en, "ru": ru, "uk": uk}


def test_wait_past_closing_without_a_known_opening_is_still_said() -> None:
    estimate = WaitEstimate(9, None, past_closing=True)
    assert describe_wait(estimate, "ru") == "после открытия"


@pytest.mark.parametrize(
    ("count", "ru", "uk", "en"),
    [
        (1, "примерно 1 минуту", "приблизно 1 хвилину", "about 1 minute"),
        (2, "примерно 2 минуты", "приблизно 2 хвилини", "about 2 minutes"),
        (5, "примерно 5 минут", "приблизно 5 хвилин", "about 5 minutes"),
        (11, "примерно 11 минут", "приблизно 11 хвилин", "about 11 minutes"),
        (12, "примерно 12 минут", "приблизно 12 хвилин", "about 12 minutes"),
        (21, "примерно 21 минуту", "приблизно 21 хвилину", "about 21 minutes"),
        (24, "примерно 24 минуты", "приблизно 24 хвилини", "about 24 minutes"),
    ],
)
def test_numbers_take_the_right_plural_form(count: int, ru: str, uk: str, en: str) -> None:
    assert counted(count, RU.minutes, RU) == ru
    assert counted(count, UK.minutes, UK) == uk
    assert counted(count, EN.minutes, EN) == en
