"""A data directory at a busy team's size, for the console's page times: the demo FAQ plus
synthetic entries (imported with `firstline kb import`, so embedded and indexed as any FAQ), and
tickets with their customers written straight into the database (tickets need no embedding)."""

from __future__ import annotations

import json
import random
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert

from handoff.models import ACTIVE_TICKET_STATUSES, Customer, Priority, Ticket, TicketStatus
from tests.support.processes import FIRSTLINE

DEMO_FAQ = Path(__file__).resolve().parents[1] / "knowledge_base" / "demo" / "demo_faq.json"
SUBJECTS = ["заказ", "подписка", "оплата", "доставка", "пароль", "возврат", "фильм", "тариф"]
ACTIONS = ["отменить", "оплатить", "перенести", "найти", "изменить", "вернуть", "продлить"]
TICKETS_PER_CUSTOMER = 5
SPREAD_DAYS = 90


def write_faq(path: Path, entries: int) -> Path:
    """The demo FAQ and synthetic entries up to ``entries`` in all, as a JSON file."""
    faq = json.loads(DEMO_FAQ.read_text("utf-8"))
    for number in range(entries - len(faq)):
        action, subject = ACTIONS[number % len(ACTIONS)], SUBJECTS[number % len(SUBJECTS)]
        faq.append(
            {
                "key": f"synthetic-{number}",
                "question": f"Как {action} {subject} № {number}?",
                "alt_questions": [f"{subject} {number}: {action}"],
                "answer": f"1. Откройте раздел «{subject}».\n2. Нажмите «{action}» у № {number}.",
                "tags": [subject],
            }
        )
    path.write_text(json.dumps(faq, ensure_ascii=False), "utf-8")
    return path


def import_faq(env: dict[str, str], path: Path) -> None:
    subprocess.run([FIRSTLINE, "kb", "import", str(path)], env=env, check=True)


def seed_tickets(database: Path, tickets: int, seed: int = 7) -> None:
    """``tickets`` tickets over the last 90 days, five a customer, every status and priority
    (a customer's latest may be active: one active ticket a customer, as the desk keeps it)."""
    chance = random.Random(seed)
    now = datetime.now(UTC)
    engine = create_engine(f"sqlite:///{database}")
    customers = max(1, tickets // TICKETS_PER_CUSTOMER)
    with engine.begin() as connection:
        connection.execute(
            insert(Customer),
            [
                {
                    "telegram_user_id": 10_000_000 + number,
                    "chat_id": 10_000_000 + number,
                    "first_name": f"Клиент {number}",
                    "language": chance.choice(["ru", "uk", "en"]),
                }
                for number in range(customers)
            ],
        )
        first_customer = int(
            connection.exec_driver_sql("SELECT min(id) FROM customers").scalar_one()
        )
        rows = []
        for number in range(tickets):
            opened = now - timedelta(seconds=chance.uniform(0, SPREAD_DAYS * 86400))
            subject = chance.choice(SUBJECTS)
            rows.append(
                {
                    "customer_id": first_customer + number % customers,
                    "status": _status(chance, latest=number >= tickets - customers),
                    "priority": chance.choice(list(Priority)).value,
                    "reason": "low_confidence",
                    "language": chance.choice(["ru", "uk", "en"]),
                    "subject": f"{subject}: вопрос {number}",
                    "tags": [subject],
                    "created_at": opened,
                    "updated_at": opened,
                }
            )
        connection.execute(insert(Ticket), rows)
    engine.dispose()


def _status(chance: random.Random, *, latest: bool) -> str:
    done = [status for status in TicketStatus if status not in ACTIVE_TICKET_STATUSES]
    return chance.choice(list(TicketStatus) if latest else done).value
