"""`firstline run` on PostgreSQL through a TCP proxy that breaks the network: the database refusing
connections for 8 s, then black-holed for 8 s (over twice the 3 s statement bound set here;
FIRSTLINE_TEST_REFUSE_SECONDS=30 FIRSTLINE_TEST_BLACKHOLE_SECONDS=90 run the issue's lengths).
Nothing a customer sent is lost (an update is confirmed to Telegram only once stored), no handler
hangs, and /readyz says 503 fast."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from bot.customers.texts import RU
from tests.support.e2e import bot_ready, firstline_environment
from tests.support.fake_bot_api import FakeBotApi
from tests.support.processes import free_port, start_firstline, stop_firstline
from tests.support.tcp_proxy import Mode, TcpProxy
from tests.support.telegram_people import customer

pytestmark = pytest.mark.model

OUTAGES = {
    Mode.REFUSE: float(os.environ.get("FIRSTLINE_TEST_REFUSE_SECONDS", "8")),
    Mode.BLACKHOLE: float(os.environ.get("FIRSTLINE_TEST_BLACKHOLE_SECONDS", "8")),
}


def _readyz_seconds(port: int) -> tuple[int, float]:
    started = time.monotonic()
    status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code
    return status, time.monotonic() - started


def _answered(telegram: FakeBotApi, chats: range) -> bool:
    return all(telegram.messages_to(chat) for chat in chats)


def test_a_database_that_refuses_then_vanishes_loses_no_message(
    tmp_path: Path, postgres_url: str
) -> None:
    with TcpProxy(5432) as proxy, FakeBotApi() as telegram:
        port = free_port()
        through_proxy = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        env = firstline_environment(
            tmp_path / "data",
            telegram,
            port,
            FIRSTLINE_DATABASE_URL=through_proxy,
            FIRSTLINE_DATABASE_TIMEOUT="3",
            FIRSTLINE_DATABASE_CONNECT_TIMEOUT="2",
        )
        log = tmp_path / "firstline.log"
        process = start_firstline(env, port, ready=bot_ready, log=log)
        try:
            for mode, chats in (
                (Mode.REFUSE, range(7001, 7006)),
                (Mode.BLACKHOLE, range(7101, 7106)),
            ):
                confirmed_before = telegram.confirmed_update_id
                proxy.mode = mode
                if mode == Mode.REFUSE:  # a restarting server: open connections break too
                    proxy.drop_connections()
                for chat in chats:
                    telegram.send_text(customer(chat), "здравствуйте")
                time.sleep(3)
                status, seconds = _readyz_seconds(port)
                assert (status, seconds < 2.0) == (503, True), (mode, status, seconds)
                time.sleep(OUTAGES[mode] - 3)
                # Not stored, so not confirmed: Telegram still holds them.
                assert telegram.confirmed_update_id == confirmed_before, mode
                assert not any(telegram.messages_to(chat) for chat in chats)
                proxy.mode = Mode.PASS
                telegram.wait_until(lambda chats=chats: _answered(telegram, chats), timeout=60)
                assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
        finally:
            proxy.mode = Mode.PASS
            stop_firstline(process)
    for chat in (*range(7001, 7006), *range(7101, 7106)):
        assert [m.text for m in telegram.messages_to(chat)] == [RU.greeting_reply], chat
