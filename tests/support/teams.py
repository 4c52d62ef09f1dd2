"""Teams end to end: the lead's API calls on a running Firstline, and where a customer's topic
and ticket are (shared by the teams' end-to-end modules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.e2e import Running
from tests.support.fake_bot_api import FakeBotApi
from tests.support.telegram_people import SentMessage


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
