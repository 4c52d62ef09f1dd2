"""Out of hours, end to end: the real `firstline run` over the fake Bot API, with business hours
that have the line closed right now."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.customers.texts import RU
from bot.customers.when import describe_opening
from handoff.line.hours import BusinessHours
from tests.support.desk import HAND_OFF_WHEN_UNSURE, UNCOVERED
from tests.support.e2e import bot_ready, firstline_environment
from tests.support.fake_bot_api import FakeBotApi
from tests.support.processes import free_port, start_firstline, stop_firstline
from tests.support.telegram_people import customer

pytestmark = pytest.mark.model


def _closed_now_schedule(now: datetime) -> str:
    """One hour a day, starting two to three hours from now (UTC): closed at the moment."""
    opens = (now + timedelta(hours=2)).hour
    return f"mon-sun {opens:02d}:00-{(opens + 1) % 24:02d}:00"


@pytest.fixture(scope="module")
def closed_line(
    tmp_path_factory: pytest.TempPathFactory, imported_faq: Path
) -> Iterator[tuple[FakeBotApi, str]]:
    workdir = tmp_path_factory.mktemp("hours-e2e")
    schedule = _closed_now_schedule(datetime.now(UTC))
    shutil.copytree(imported_faq, workdir / "data")
    with FakeBotApi() as telegram:
        env = firstline_environment(
            workdir / "data",
            telegram,
            free_port(),
            FIRSTLINE_BUSINESS_HOURS=schedule,
            FIRSTLINE_TIMEZONE="UTC",
            **HAND_OFF_WHEN_UNSURE,
        )
        process = start_firstline(
            env, int(env["FIRSTLINE_API_PORT"]), ready=bot_ready, log=workdir / "firstline.log"
        )
        try:
            yield telegram, schedule
        finally:
            stop_firstline(process)
        log = (workdir / "firstline.log").read_text()
        assert "Traceback" not in log, log[-3000:]


def _opening_words(schedule: str) -> str:
    now = datetime.now(UTC)
    opening = BusinessHours.parse(schedule, timezone="UTC").next_opening(now)
    assert opening is not None
    return describe_opening(opening, now, "ru")


def test_an_out_of_hours_handoff_says_when_we_open(closed_line: tuple[FakeBotApi, str]) -> None:
    telegram, schedule = closed_line
    telegram.send_text(customer(801, "Анна"), UNCOVERED)
    reply = telegram.wait_for_messages(801, 1)[0].text
    assert reply.startswith(RU.handoff_unsure)
    assert RU.out_of_hours.format(opening=_opening_words(schedule)) in reply


def test_how_long_out_of_hours_gets_the_opening_time_and_faq_still_works(
    closed_line: tuple[FakeBotApi, str],
) -> None:
    telegram, schedule = closed_line
    user = customer(802, "Борис")
    telegram.send_text(user, UNCOVERED)
    telegram.wait_for_messages(802, 1)
    telegram.send_text(user, "скоро ответите?")
    status = telegram.wait_for_messages(802, 2)[1].text
    assert status == RU.wait_closed.format(opening=_opening_words(schedule))
    telegram.send_text(user, "Как отменить подписку?")
    answer = telegram.wait_for_messages(802, 3)[2].text
    assert "Отменить подписку" in answer  # the entry cancel-subscription
