"""Two `firstline run` replicas on one PostgreSQL, in webhook mode behind a round-robin balancer:
started together, they answer every chat exactly once, and an FAQ entry created through one
replica's API is answered by the other."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bot.customers.texts import RU
from tests.support.e2e import bot_ready, firstline_environment
from tests.support.fake_bot_api import FakeBotApi
from tests.support.processes import create_token, free_port, start_firstline, stop_firstline
from tests.support.round_robin import RoundRobinForwarder
from tests.support.telegram_people import customer

pytestmark = pytest.mark.model

SECRET = "one-secret-for-every-replica-0123456789"
QUESTION = "можно забрать заказ из постамата?"
CHATS = range(6001, 6101)


def test_two_replicas_answer_each_chat_once_and_follow_each_others_edits(
    tmp_path: Path, postgres_url: str
) -> None:
    with FakeBotApi() as telegram:
        ports = [free_port(), free_port()]
        with RoundRobinForwarder([f"http://127.0.0.1:{port}" for port in ports]) as balancer:
            envs = [
                firstline_environment(
                    tmp_path / f"replica{number}",
                    telegram,
                    port,
                    FIRSTLINE_DATABASE_URL=postgres_url,
                    FIRSTLINE_WEBHOOK_URL=f"{balancer.url}/hooks/telegram",
                    FIRSTLINE_WEBHOOK_SECRET=SECRET,
                )
                for number, port in enumerate(ports)
            ]
            logs = [tmp_path / f"replica{number}.log" for number in range(2)]
            with ThreadPoolExecutor(2) as pool:  # started together: migrations, the demo FAQ
                replicas: list[subprocess.Popen[str]] = list(
                    pool.map(
                        lambda n: start_firstline(envs[n], ports[n], ready=bot_ready, log=logs[n]),
                        range(2),
                    )
                )
            try:
                for chat in CHATS:
                    telegram.send_text(customer(chat), "здравствуйте")
                telegram.wait_until(
                    lambda: all(telegram.messages_to(chat) for chat in CHATS), timeout=120
                )
                assert all(count > 10 for count in balancer.forwarded.values()), balancer.forwarded

                editor = create_token(envs[0], "editor", "Editor")
                entry = {
                    "key": "parcel-locker",
                    "question": "Можно ли забрать заказ из постамата?",
                    "alt_questions": ["заберу посылку в постамате"],
                    "answer": "Да: выберите постамат при оформлении заказа.",
                }
                created = httpx.post(
                    f"http://127.0.0.1:{ports[0]}/api/v1/faq",
                    json=entry,
                    headers={"Authorization": f"Bearer {editor}"},
                    timeout=30,
                )
                assert created.status_code == 201, created.text
                created_at = time.monotonic()
                stop_firstline(replicas[0])  # only the other replica can answer now
                answered_after = _asked_until_answered(telegram, entry["answer"], created_at)
            finally:
                for replica in replicas:
                    stop_firstline(replica)
    assert answered_after < 5.0, f"the other replica answered {answered_after:.1f} s after the edit"
    for chat in CHATS:
        assert [m.text for m in telegram.messages_to(chat)] == [RU.greeting_reply], chat
    for log in logs:
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def _asked_until_answered(telegram: FakeBotApi, answer: str, since: float) -> float:
    """A new customer asks every half second until one gets ``answer`` (the replica's index
    follows edits about once a second); seconds from ``since`` to that answer."""
    for chat in range(6200, 6240):
        telegram.send_text(customer(chat), QUESTION)
        reply = telegram.wait_for_messages(chat, 1, timeout=10)[0]
        if reply.text.startswith(answer[:20]):
            return time.monotonic() - since
        time.sleep(0.5)
    raise AssertionError("the other replica never answered with the new entry")
