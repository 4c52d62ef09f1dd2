"""Writes evals/dev_en_cards.json: an English FAQ with ten phrasings per entry, built from
CLINC150's banking and credit-card intents (train split for the phrasings, validation split for
the questions; its test split stays unseen), plus hand-written Russian and Ukrainian questions,
near misses and requests for a person.

    .venv/bin/python scripts/clinc_dev_faq.py
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "clinc150" / "data_full.json"
TARGET = ROOT / "evals" / "dev_en_cards.json"
COVERED = [
    "transfer",
    "transactions",
    "balance",
    "freeze_account",
    "pay_bill",
    "interest_rate",
    "routing",
    "min_payment",
    "order_checks",
    "pin_change",
    "report_fraud",
    "account_blocked",
    "credit_score",
    "report_lost_card",
    "credit_limit",
    "rewards_balance",
    "new_card",
    "card_declined",
    "international_fees",
    "apr",
    "redeem_rewards",
    "damaged_card",
    "replacement_card_duration",
    "expiration_date",
]
# Near misses: topics of the same bank the FAQ leaves out.
LEFT_OUT = [
    "bill_balance",
    "bill_due",
    "spending_history",
    "application_status",
    "credit_limit_change",
    "improve_credit_score",
]
PHRASINGS = 10
QUESTIONS_PER_INTENT = 4
LEFT_OUT_QUESTIONS = 3
OUT_OF_SCOPE_QUESTIONS = 12

WRITTEN = [
    ("transfer", "ru", "перекиньте 200 долларов с накопительного на текущий"),
    ("transfer", "uk", "як переказати гроші між своїми рахунками"),
    ("balance", "ru", "сколько у меня сейчас денег на карте"),
    ("balance", "uk", "який залишок на моєму рахунку"),
    ("freeze_account", "ru", "заблокируйте мой счёт на время, я уезжаю"),
    ("report_fraud", "uk", "з картки зняли гроші, яких я не витрачав, це шахраї"),
    ("report_fraud", "ru", "кто-то оплатил моей картой покупку, я её не делал"),
    ("pin_change", "ru", "хочу поменять пин-код"),
    ("pin_change", "uk", "як змінити пін від картки"),
    ("report_lost_card", "uk", "я загубив картку, що робити"),
    ("report_lost_card", "ru", "потерял кредитку"),
    ("card_declined", "ru", "почему в магазине не прошла оплата картой"),
    ("card_declined", "uk", "картку відхилили на касі"),
    ("credit_limit", "uk", "який в мене кредитний ліміт"),
    ("international_fees", "ru", "есть ли комиссия за покупки за границей"),
    ("international_fees", "uk", "чи беруть комісію, якщо платити карткою в Польщі"),
    ("apr", "ru", "какая годовая ставка по моей кредитке"),
    ("interest_rate", "uk", "який відсоток на депозит"),
    ("redeem_rewards", "ru", "как потратить накопленные баллы"),
    ("rewards_balance", "uk", "скільки в мене бонусних балів"),
    ("damaged_card", "ru", "карта треснула и не читается терминалом"),
    ("replacement_card_duration", "uk", "скільки чекати нову картку на заміну"),
    ("expiration_date", "ru", "до какого числа действует моя карта"),
    ("routing", "uk", "який маршрутний номер банку для переказу"),
    ("new_card", "ru", "хочу оформить ещё одну кредитную карту"),
    ("min_payment", "uk", "який мінімальний платіж цього місяця"),
    ("order_checks", "ru", "как заказать чековую книжку"),
    ("account_blocked", "uk", "чому мій рахунок заблокований"),
    ("pay_bill", "ru", "оплатите мой счёт за интернет"),
    ("credit_score", "uk", "який у мене кредитний рейтинг"),
    ("transactions", "ru", "покажите последние операции по карте"),
    (None, "ru", "когда мне нужно оплатить счёт за электричество"),
    (None, "uk", "на що я найбільше витратив минулого місяця"),
    (None, "ru", "одобрили ли мою заявку на карту"),
    (None, "uk", "як підвищити свій кредитний рейтинг"),
    (None, "ru", "какой курс евро сегодня"),
    (None, "uk", "де найближчий банкомат"),
    ("HUMAN", "en", "can I talk to a human banker please"),
    ("HUMAN", "en", "get me a real person"),
    ("HUMAN", "ru", "соедините с оператором"),
    ("HUMAN", "ru", "хочу поговорить с живым человеком"),
    ("HUMAN", "uk", "покличте співробітника банку"),
    ("HUMAN", "uk", "з'єднайте з людиною, будь ласка"),
]


def main() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    train: dict[str, list[str]] = defaultdict(list)
    for text, intent in data["train"]:
        train[intent].append(text)
    val: dict[str, list[str]] = defaultdict(list)
    for text, intent in data["val"]:
        val[intent].append(text)
    chance = random.Random(24)
    faq = []
    for intent in COVERED:
        phrasings = chance.sample(train[intent], PHRASINGS)
        faq.append(
            {
                "key": intent.replace("_", "-"),
                "question": phrasings[0],
                "alt_questions": phrasings[1:],
                "answer": f"Our answer about {intent.replace('_', ' ')}.",
                "tags": [],
                "language": "en",
            }
        )
    queries = []
    for intent in COVERED:
        for text in chance.sample(val[intent], QUESTIONS_PER_INTENT):
            queries.append({"text": text, "lang": "en", "expected": intent.replace("_", "-")})
    for intent in LEFT_OUT:
        for text in chance.sample(val[intent], LEFT_OUT_QUESTIONS):
            queries.append({"text": text, "lang": "en", "expected": None})
    for text, _ in chance.sample(data["oos_val"], OUT_OF_SCOPE_QUESTIONS):
        queries.append({"text": text, "lang": "en", "expected": None})
    for expected, language, text in WRITTEN:
        key = expected.replace("_", "-") if expected and expected != "HUMAN" else expected
        queries.append({"text": text, "lang": language, "expected": key})
    document = {"name": "clinc-cards-en-dev", "faq": faq, "queries": queries}
    TARGET.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{TARGET}: {len(faq)} entries, {len(queries)} queries")


if __name__ == "__main__":
    main()
