"""A soak: customers writing for minutes while Telegram fails at random (429 and 502) and the bot
is killed with SIGKILL once a minute, on PostgreSQL — then counts what was lost and doubled.

Each customer sends a greeting or a thanks every few seconds (each gets exactly one reply, so
replies map to messages one to one, in order per chat). After the run the bot gets time to
catch up; then every message must have its reply (lost: 0) and none two (duplicated: 0 — a copy
only where the log owns up to a crash between Telegram's success and our record is counted
apart). Latency runs from the update reaching the fake Telegram to the reply reaching it.

    python -m benchmarks.soak [--customers 30] [--minutes 3] [--kill-every 60] [--fault-rate 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from core.database import create_engine
from tests.support.e2e import firstline_environment
from tests.support.fake_bot_api import FakeBotApi
from tests.support.processes import free_port, start_firstline, stop_firstline
from tests.support.telegram_people import customer

POSTGRES = os.environ.get(
    "FIRSTLINE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
LINES = ("здравствуйте", "привет", "добрый день", "дякую", "thanks a lot", "hello", "спасибо")
FIRST_CHAT = 70001


async def _postgres(statement: str) -> None:
    engine = create_engine(POSTGRES)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(statement))
    await engine.dispose()


SOAK_SETTINGS = {
    "FIRSTLINE_DELIVERY_RETRY_SECONDS": "1",
    "FIRSTLINE_DELIVERY_RETRY_MAX_SECONDS": "10",
    # Customers write far more often than people do: the soak is about faults, not floods.
    "FIRSTLINE_FLOOD_PER_MINUTE": "600",
    "FIRSTLINE_FLOOD_BURST": "50",
}


def _ready(status: dict[str, object]) -> bool:
    return status.get("bot") == "ok"


def soak(customers: int, minutes: float, kill_every: float, fault_rate: float) -> None:
    name = f"firstline_soak_{uuid.uuid4().hex[:8]}"
    asyncio.run(_postgres(f'CREATE DATABASE "{name}"'))
    url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    chats = range(FIRST_CHAT, FIRST_CHAT + customers)
    sent: dict[int, list[int]] = {chat: [] for chat in chats}  # update ids, in order
    kills = 0
    chance = random.Random(1)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="firstline-soak-") as workdir,
            FakeBotApi() as telegram,
        ):
            port = free_port()
            env = firstline_environment(
                Path(workdir) / "data", telegram, port, FIRSTLINE_DATABASE_URL=url, **SOAK_SETTINGS
            )
            log = Path(workdir) / "firstline.log"
            process = start_firstline(env, port, ready=_ready, log=log)
            telegram.random_faults(fault_rate)
            started = time.monotonic()
            next_kill = started + kill_every
            next_message = {chat: started + chance.uniform(0, 3) for chat in chats}
            try:
                while time.monotonic() - started < minutes * 60:
                    now = time.monotonic()
                    for chat in chats:
                        if next_message[chat] <= now:
                            telegram.send_text(customer(chat), chance.choice(LINES))
                            sent[chat].append(telegram.last_update_id)
                            next_message[chat] = now + chance.uniform(2, 6)
                    if now >= next_kill:
                        process.kill()
                        process.wait()
                        kills += 1
                        process = start_firstline(env, port, ready=_ready, log=log)
                        next_kill = time.monotonic() + kill_every
                    time.sleep(0.05)
                expected = sum(len(ids) for ids in sent.values())
                telegram.random_faults(0.0)
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    if (
                        sum(min(len(telegram.messages_to(c)), len(sent[c])) for c in chats)
                        >= expected
                    ):
                        break
                    time.sleep(0.5)
                time.sleep(2.0)  # a late duplicate would show by now
            finally:
                stop_firstline(process)
            owned_up = log.read_text().count("it may arrive twice")
            _report(telegram, sent, kills, owned_up, customers, minutes, fault_rate)
    finally:
        asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _report(
    telegram: FakeBotApi,
    sent: dict[int, list[int]],
    kills: int,
    owned_up: int,
    customers: int,
    minutes: float,
    fault_rate: float,
) -> None:
    updates = sum(len(ids) for ids in sent.values())
    lost = duplicated = replies = 0
    latencies: list[float] = []
    for chat, update_ids in sent.items():
        answers = telegram.messages_to(chat)
        replies += len(answers)
        lost += max(len(update_ids) - len(answers), 0)
        duplicated += max(len(answers) - len(update_ids), 0)
        for update_id, answer in zip(update_ids, answers, strict=False):
            latencies.append((answer.received_at - telegram.update_times[update_id]) * 1000)
    latencies.sort()
    calls = sum(1 for method, _ in telegram.calls if method not in ("getUpdates", "getMe"))
    rows = [
        ("customers", f"{customers}"),
        ("minutes", f"{minutes:g}"),
        ("SIGKILLs", f"{kills}"),
        (
            f"Telegram calls refused (429/502, {fault_rate:.0%} chance)",
            f"{telegram.faults_injected} of {calls}",
        ),
        ("updates in", f"{updates}"),
        ("replies out", f"{replies}"),
        ("lost", f"{lost}"),
        ("duplicated", f"{duplicated} ({owned_up} logged as possibly doubled)"),
        ("latency p50", f"{statistics.median(latencies):.0f} ms" if latencies else "-"),
        ("latency p95", f"{latencies[int(len(latencies) * 0.95)]:.0f} ms" if latencies else "-"),
    ]
    width = max(len(name) for name, _ in rows)
    print("\nsoak on PostgreSQL, polling, the bundled model")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--kill-every", type=float, default=60, help="seconds between SIGKILLs")
    parser.add_argument("--fault-rate", type=float, default=0.05)
    args = parser.parse_args()
    soak(args.customers, args.minutes, args.kill_every, args.fault_rate)


if __name__ == "__main__":
    main()
