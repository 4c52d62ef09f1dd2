"""The agents' side of an end-to-end run: `firstline run` with its forum group of agents on the
end-to-end FAQ, and what agents and customers do there (hand a question off, find its topic and
card, take the ticket), shared by the end-to-end tests of the desk, the API, the console and faults.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.e2e import Running, bot_ready, firstline_environment
from tests.support.fake_bot_api import FakeBotApi
from tests.support.processes import create_token, free_port, start_firstline, stop_firstline
from tests.support.telegram_people import SentMessage, agent

GROUP = -1001234567890
OLGA = agent(9001, "Olga", "olga_support")
PETR = agent(9002, "Petr", "petr_support")
UNCOVERED = "перевод в последней серии ужасный"
# These lines hand off whatever the bot is not confident about (no "did you mean…" first), so
# an uncovered question reaches the agents in one step whatever the calibration offers.
HAND_OFF_WHEN_UNSURE = {"FIRSTLINE_DECISION__CLARIFY_MIN": "0.5"}


def start_desk(workdir: Path, telegram: FakeBotApi, env: dict[str, str]) -> subprocess.Popen[str]:
    port = int(env["FIRSTLINE_API_PORT"])
    return start_firstline(env, port, ready=bot_ready, log=workdir / "firstline.log")


def desk_environment(
    workdir: Path, telegram: FakeBotApi, imported_faq: Path, group: int = GROUP, **settings: str
) -> dict[str, str]:
    shutil.copytree(imported_faq, workdir / "data")
    return firstline_environment(
        workdir / "data",
        telegram,
        free_port(),
        FIRSTLINE_AGENT_CHAT_ID=str(group),
        **HAND_OFF_WHEN_UNSURE,
        **settings,
    )


@contextmanager
def desk_with_admin(
    workdir: Path, imported_faq: Path, group: int = GROUP, **settings: str
) -> Iterator[tuple[Running, str, str]]:
    """`firstline run` with the agents' desk (``group``) on the end-to-end FAQ, and an admin
    token: the running bot, the admin API's URL and the token. Stopped on the way out; its log
    must hold no traceback."""
    with FakeBotApi() as telegram:
        env = desk_environment(workdir, telegram, imported_faq, group, **settings)
        admin = create_token(env, "admin", "Lead")
        process = start_desk(workdir, telegram, env)
        port = int(env["FIRSTLINE_API_PORT"])
        running = Running(telegram, port, workdir / "data" / "firstline.sqlite3", {})
        try:
            yield running, f"http://127.0.0.1:{port}", admin
        finally:
            stop_firstline(process)
        log = (workdir / "firstline.log").read_text()
        assert "Traceback" not in log, log[-3000:]


def hand_off(
    running: Running, user: dict[str, Any], text: str = UNCOVERED
) -> tuple[int, SentMessage]:
    """The customer's question goes to a person: their topic and its pinned card."""
    telegram = running.telegram
    telegram.send_text(user, text)
    telegram.wait_until(lambda: topic_of(running, user["id"]) is not None)
    thread = topic_of(running, user["id"])
    assert thread is not None
    cards = telegram.wait_until_found(
        lambda: [m for m in telegram.messages_in_topic(GROUP, thread) if "<b>Ticket #" in m.text]
    )
    return thread, cards[-1]


def topic_of(running: Running, user_id: int) -> int | None:
    rows = running.rows("SELECT topic_id FROM customers WHERE telegram_user_id = ?", user_id)
    return rows[0][0] if rows and rows[0][0] else None


def ticket_row(running: Running, user_id: int) -> tuple[Any, ...]:
    return running.rows(
        "SELECT t.id, t.status, t.assignee_id, t.rating, t.priority FROM tickets t"
        " JOIN customers c ON c.id = t.customer_id WHERE c.telegram_user_id = ?"
        " ORDER BY t.id DESC LIMIT 1",
        user_id,
    )[0]


def topic_name(running: Running, thread: int) -> str:
    return running.telegram.topics[(GROUP, thread)]


def in_topic(running: Running, thread: int, needle: str, timeout: float = 30) -> SentMessage:
    telegram = running.telegram
    return telegram.wait_until_found(
        lambda: [m for m in telegram.messages_in_topic(GROUP, thread) if needle in m.text],
        timeout,
    )[-1]


def take(running: Running, who: dict[str, Any], card_message: SentMessage) -> str:
    telegram = running.telegram
    answered = len(telegram.answers_to_presses())
    telegram.press_in_group(who, card_message, card_message.buttons[0][1])
    telegram.wait_until(lambda: len(telegram.answers_to_presses()) > answered)
    return telegram.answers_to_presses()[answered]
