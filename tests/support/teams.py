"""Teams end to end: a running Firstline with its agents' groups, the lead's API calls, and where
a customer's topic and ticket are (shared by the teams' end-to-end modules)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.desk import HAND_OFF_WHEN_UNSURE
from tests.support.e2e import Running, bot_ready, firstline_environment
from tests.support.fake_bot_api import FakeBotApi
from tests.support.processes import create_token, free_port, start_firstline, stop_firstline
from tests.support.telegram_people import SentMessage


@contextmanager
def running_teams(
    workdir: Path, imported_faq: Path, main_group: int, **settings: str
) -> Iterator[tuple[Running, str, str]]:
    """`firstline run` on the end-to-end FAQ with ``main_group`` as FIRSTLINE_AGENT_CHAT_ID and
    handing off whatever it is unsure of: the running bot, the admin API's URL and an admin
    token. Stopped on the way out; its log must hold no traceback."""
    shutil.copytree(imported_faq, workdir / "data")
    with FakeBotApi() as telegram:
        env = firstline_environment(
            workdir / "data",
            telegram,
            free_port(),
            FIRSTLINE_AGENT_CHAT_ID=str(main_group),
            **HAND_OFF_WHEN_UNSURE,
            **settings,
        )
        port = int(env["FIRSTLINE_API_PORT"])
        admin = create_token(env, "admin", "Lead")
        process = start_firstline(env, port, ready=bot_ready, log=workdir / "firstline.log")
        running = Running(telegram, port, workdir / "data" / "firstline.sqlite3", {})
        try:
            yield running, f"http://127.0.0.1:{port}", admin
        finally:
            stop_firstline(process)
    log = (workdir / "firstline.log").read_text()
    assert "Traceback" not in log, log[-3000:]


@dataclass
class TeamsRun:
    running: Running
    url: str
    admin: str

    def call(self, method: str, path: str, token: str | None = None, **body: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.url}/api/v1{path}",
            headers={"Authorization": f"Bearer {token or self.admin}"},
            json=body or None,
            timeout=60,
        )

    def issue_agent_token(self, name: str) -> str:
        """A new agent's token, issued by the lead over the API."""
        issued = self.call("POST", "/tokens", role="agent", name=name)
        assert issued.status_code == 201, issued.text
        return str(issued.json()["token"])

    @property
    def telegram(self) -> FakeBotApi:
        return self.running.telegram

    def customer_topic(self, group: int, user_id: int) -> int:
        """The customer's topic in this group (waits for it)."""

        def found() -> list[int]:
            return [
                thread
                for (thread,) in self.running.rows(
                    "SELECT ct.topic_id FROM customer_topics ct JOIN customers c"
                    " ON c.id = ct.customer_id WHERE c.telegram_user_id = ? AND ct.chat_id = ?",
                    user_id,
                    group,
                )
            ]

        return int(self.telegram.wait_until_found(found)[0])

    def in_topic(self, group: int, thread: int, needle: str) -> SentMessage:
        telegram = self.telegram
        return telegram.wait_until_found(
            lambda: [m for m in telegram.messages_in_topic(group, thread) if needle in m.text]
        )[-1]

    def ticket(self, user_id: int) -> tuple[int, int, int | None]:
        """(id, team, owner) of the customer's newest ticket."""
        rows = self.running.rows(
            "SELECT t.id, t.team_id, t.assignee_id FROM tickets t JOIN customers c"
            " ON c.id = t.customer_id WHERE c.telegram_user_id = ? ORDER BY t.id DESC LIMIT 1",
            user_id,
        )
        return rows[0]
