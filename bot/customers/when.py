"""When we open and how long a person takes, in the customer's words (ru, uk, en)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from handoff.line.wait import WaitEstimate

# Further ahead than this, "5 January" alone could be read as the wrong year.
DAYS_BEFORE_YEAR_SHOWN = 183


@dataclass(frozen=True)
class WhenWords:
    today: str  # {at} {time}
    tomorrow: str  # {at} {time}
    on_weekday: str  # {weekday} {at} {time}
    on_date: str  # {day} {month} {at} {time}
    at: str
    weekdays: tuple[str, ...]  # Monday first, in the form that follows "on"
    months: tuple[str, ...]  # in the form that follows a day number
    minutes: tuple[str, str, str]  # "about N …": one, few, many
    hours: tuple[str, str, str]  # "within N …": one, few, many
    half_an_hour: str
    within_an_hour: str
    later_today: str
    after_opening: str  # {opening}
    when_open_again: str
    # Ukrainian says "об" before a vowel: 11:00 is "об одинадцятій".
    at_before_vowel: str = ""
    # Russian and Ukrainian nouns after a number take three forms (1 / 2-4 / 5-20), English two.
    east_slavic_plural: bool = True


RU = WhenWords(
    today="сегодня {at} {time}",
    tomorrow="завтра {at} {time}",
    on_weekday="{weekday} {at} {time}",
    on_date="{day} {month} {at} {time}",
    at="в",
    weekdays=(
        "в понедельник",
        "во вторник",
        "в среду",
        "в четверг",
        "в пятницу",
        "в субботу",
        "в воскресенье",
    ),
    months=(
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ),
    minutes=("примерно {count} минуту", "примерно {count} минуты", "примерно {count} минут"),
    hours=("в течение {count} часа", "в течение {count} часов", "в течение {count} часов"),
    half_an_hour="около получаса",
    within_an_hour="в течение часа",
    later_today="сегодня, но позже",
    after_opening="после открытия: {opening}",
    when_open_again="после открытия",
)

UK = WhenWords(
    today="сьогодні {at} {time}",
    tomorrow="завтра {at} {time}",
    on_weekday="{weekday} {at} {time}",
    on_date="{day} {month} {at} {time}",
    at="о",
    at_before_vowel="об",
    weekdays=(
        "у понеділок",
        "у вівторок",
        "у середу",
        "у четвер",
        "у п'ятницю",
        "у суботу",
        "у неділю",
    ),
    months=(
        "січня",
        "лютого",
        "березня",
        "квітня",
        "травня",
        "червня",
        "липня",
        "серпня",
        "вересня",
        "жовтня",
        "листопада",
        "грудня",
    ),
    minutes=("приблизно {count} хвилину", "приблизно {count} хвилини", "приблизно {count} хвилин"),
    hours=("протягом {count} години", "протягом {count} годин", "протягом {count} годин"),
    half_an_hour="близько пів години",
    within_an_hour="протягом години",
    later_today="сьогодні, але пізніше",
    after_opening="після відкриття: {opening}",
    when_open_again="після відкриття",
)

EN = WhenWords(
    today="today {at} {time}",
    tomorrow="tomorrow {at} {time}",
    on_weekday="on {weekday} {at} {time}",
    on_date="on {day} {month} {at} {time}",
    at="at",
    weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    months=(
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    minutes=("about {count} minute", "about {count} minutes", "about {count} minutes"),
    hours=("within {count} hour", "within {count} hours", "within {count} hours"),
    half_an_hour="about half an hour",
    within_an_hour="within an hour",
    later_today="later today",
    after_opening="after we open, {opening}",
    when_open_again="once we open again",
    east_slavic_plural=False,
)

WORDS: dict[str, WhenWords] = {"ru": RU, "uk": UK, "en": EN}


def words_for(language: str | None) -> WhenWords:
    """The words in a language, English for any we do not speak."""
    return WORDS.get(language or "en", EN)


def counted(count: int, forms: tuple[str, str, str], words: WhenWords) -> str:
    """``forms`` filled with ``count``: one, few (2-4, 22-24, …) or many (5-20, 25, …)."""
    if not words.east_slavic_plural:
        form = forms[0] if count == 1 else forms[2]
    elif count % 10 == 1 and count % 100 != 11:
        form = forms[0]
    elif 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        form = forms[1]
    else:
        form = forms[2]
    return form.format(count=count)


def describe_opening(opening: datetime, now: datetime, language: str) -> str:
    """ "today at 18:00", "tomorrow at 9:00", "on Monday at 10:00", "on 5 January at 9:00", in opening's time zone.

    Pass ``opening`` in the line's time zone (BusinessHours returns it so); ``now`` may be in any.
    """
    words = words_for(language)
    today = now.astimezone(opening.tzinfo).date()
    days_ahead = (opening.date() - today).days
    at = words.at_before_vowel if words.at_before_vowel and opening.hour == 11 else words.at
    time = f"{opening.hour}:{opening.minute:02d}"
    if days_ahead == 0:
        return words.today.format(at=at, time=time)
    if days_ahead == 1:
        return words.tomorrow.format(at=at, time=time)
    if 1 < days_ahead < 7:
        return words.on_weekday.format(weekday=words.weekdays[opening.weekday()], at=at, time=time)
    month = words.months[opening.month - 1]
    if days_ahead >= DAYS_BEFORE_YEAR_SHOWN:
        month = f"{month} {opening.year}"
    return words.on_date.format(day=opening.day, month=month, at=at, time=time)


def describe_wait(estimate: WaitEstimate, language: str, *, now: datetime | None = None) -> str:
    """ "about 5 minutes", "about half an hour", "within 2 hours", "later today".

    Past closing: "after we open, tomorrow at 9:00" when the estimate knows the opening and
    ``now`` is given, otherwise "once we open again".
    """
    words = words_for(language)
    if estimate.past_closing:
        if estimate.reopens_at is None or now is None:
            return words.when_open_again
        return words.after_opening.format(
            opening=describe_opening(estimate.reopens_at, now, language)
        )
    if estimate.minutes is None:
        return words.later_today
    if estimate.minutes == 30:
        return words.half_an_hour
    if estimate.minutes < 60:
        return counted(estimate.minutes, words.minutes, words)
    if estimate.minutes == 60:
        return words.within_an_hour
    return counted(math.ceil(estimate.minutes / 60), words.hours, words)
