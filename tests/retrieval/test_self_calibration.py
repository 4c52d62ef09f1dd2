"""Self-calibration: the FAQ rehearses itself (hand-written vectors), the thresholds follow the
team's wrong-answer budget, the keeper refits after every change, and editors read the estimate
over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from admin_api.tokens import Role
from core.database import transaction
from core.settings import DecisionThresholds, Settings
from firstline.assembly import open_services
from handoff.conversations import (
    NONE_OF_THESE,
    CustomerProfile,
    record_message,
    register_customer,
)
from handoff.insights import choices
from handoff.models import Direction, MessageKind
from knowledge_base.formats import FaqEntryData
from knowledge_base.repository import get_entry
from retrieval.calibration import FixedThresholds, fixed_thresholds, store_thresholds
from retrieval.calibration_keeper import LABELLED_REFIT_STEP, CalibrationKeeper
from retrieval.engine import AnswerEngine
from retrieval.entries import IndexedEntry
from retrieval.self_calibration import (
    NEVER,
    UNCOVERED_SHARE,
    Estimate,
    LabelledQuestion,
    estimate,
    fit,
    rehearse,
)
from retrieval.service import DecisionService
from retrieval.sync import import_and_index
from tests.support.api_harness import TOPICS, ApiHarness, api_harness
from tests.support.fakes import KeywordEmbedder

WORDS = ["пароль", "деньг", "доставк", "курьер", "карт", "налич"]
BASE = DecisionThresholds()


def _entry(number: int, key: str, *phrasings: str) -> IndexedEntry:
    return IndexedEntry(
        id=number,
        key=key,
        question=phrasings[0],
        answer=f"answer {key}",
        language="ru",
        alt_questions=phrasings[1:],
    )


DISTINCT = [
    _entry(1, "password", "забыл пароль", "пароль не подходит", "сбросить пароль", "новый пароль"),
    _entry(2, "refund", "верните деньги", "где мои деньги", "деньги назад", "возврат денег"),
    _entry(3, "delivery", "где доставка", "доставка опаздывает", "доставка не пришла", "доставку"),
    _entry(4, "courier", "курьер грубит", "курьер не звонит", "курьер потерялся", "курьеру"),
]
# Two entries no vector tells apart: any rehearsed question of one lands on the other as often.
CONFUSABLE = [
    _entry(1, "refund-card", "деньги карта", "деньги на карту", "карта деньги", "картой деньги"),
    _entry(2, "refund-cash", "деньги карта", "деньги на карту", "карта деньги", "картой деньги"),
    _entry(3, "delivery", "где доставка", "доставка опаздывает", "доставка не пришла", "доставку"),
]


def _fitted(entries: list[IndexedEntry], budget: float = 0.02) -> Estimate:
    rehearsal = rehearse(entries, KeywordEmbedder(WORDS), BASE)
    return fit(rehearsal, BASE, budget=budget, fingerprint="test")


def test_a_faq_of_distinct_entries_answers_and_expects_few_wrong_answers() -> None:
    estimate = _fitted(DISTINCT)
    assert estimate.source == "self-calibrated"
    assert estimate.thresholds.answer_min < NEVER
    assert estimate.covered_questions == 16  # every phrasing held out once
    assert estimate.uncovered_questions == 12  # three phrasings of each left-out entry
    assert estimate.answered_right.value >= 0.9
    # none seen, but 28 rehearsed questions leave room: the 90 % bound says how much
    assert estimate.wrong_answers.value == 0.0 < estimate.wrong_answers.high < 0.05


def test_entries_that_cannot_be_told_apart_make_it_careful() -> None:
    distinct, confusable = _fitted(DISTINCT), _fitted(CONFUSABLE)
    assert confusable.thresholds.answer_min > distinct.thresholds.answer_min
    assert confusable.answered_right.value < distinct.answered_right.value


def test_one_phrasing_per_entry_gives_wide_bounds_and_never_answers_outright() -> None:
    single = [_entry(entry.id, entry.key, entry.question) for entry in DISTINCT]
    estimate = _fitted(single)
    assert estimate.covered_questions == 0
    assert (estimate.answered_right.low, estimate.answered_right.high) == (0.0, 1.0)
    assert estimate.thresholds.answer_min == NEVER
    assert estimate.thresholds.clarify_min <= NEVER  # options are still offered


def test_a_bigger_budget_never_makes_it_more_careful() -> None:
    rehearsal = rehearse(CONFUSABLE, KeywordEmbedder(WORDS), BASE)
    strict = fit(rehearsal, BASE, budget=0.02, fingerprint="test")
    lenient = fit(rehearsal, BASE, budget=0.5, fingerprint="test")
    assert lenient.thresholds.answer_min <= strict.thresholds.answer_min
    assert lenient.answered_right.value >= strict.answered_right.value


def test_labelled_questions_join_the_evidence() -> None:
    alone, _, refined = _with_labelled(
        [("пароль забыл опять", "password"), ("курьер нахамил", "courier")]
    )
    assert refined.labelled_questions == 2
    assert refined.covered_questions == alone.covered_questions + 2


def _with_labelled(texts: list[tuple[str, str | None]]) -> tuple[Estimate, Estimate, Estimate]:
    """The fit without the labelled questions, the estimate at its thresholds with them, and the
    fit with them."""
    embedder = KeywordEmbedder(WORDS)
    rehearsal = rehearse(DISTINCT, embedder, BASE)
    engine = AnswerEngine(embedder, thresholds=BASE)
    engine.rebuild(DISTINCT)
    prepared = engine.prepare_batch([text for text, _ in texts])
    labelled = [LabelledQuestion(item, key) for item, (_, key) in zip(prepared, texts, strict=True)]
    alone = fit(rehearsal, BASE, budget=0.02, fingerprint="test")
    at_the_same = estimate(
        rehearsal,
        alone.thresholds,
        source="test",
        budget=0.02,
        fingerprint="test",
        labelled=labelled,
    )
    refined = fit(rehearsal, BASE, budget=0.02, fingerprint="test", labelled=labelled)
    return alone, at_the_same, refined


def test_a_customers_wrong_answer_counts_in_full_not_discounted_like_a_rehearsed_one() -> None:
    # Customers picked "refund" for questions the engine answers with "password": had it
    # answered, each would have been a wrong answer.
    alone, at_the_same, refined = _with_labelled(
        [("пароль забыл", "refund"), ("пароль сброс", "refund")]
    )
    covered = alone.covered_questions + 2
    share_of_covered = 1 - UNCOVERED_SHARE
    assert at_the_same.wrong_answers.value == pytest.approx(2 / covered * share_of_covered)
    assert refined.thresholds.answer_min > alone.thresholds.answer_min  # more careful


def test_a_question_customers_said_nothing_fitted_counts_in_full_not_as_a_near_miss() -> None:
    # 👎 or "None of these" on questions the engine answers with "password"
    alone, at_the_same, refined = _with_labelled([("пароль забыл", None), ("пароль сброс", None)])
    assert alone.wrong_answers.value == 0.0
    uncovered = alone.uncovered_questions + 2
    assert at_the_same.uncovered_declined.value == pytest.approx(1 - 2 / uncovered)
    assert at_the_same.wrong_answers.value == pytest.approx(2 / uncovered * UNCOVERED_SHARE)
    assert refined.thresholds.answer_min > alone.thresholds.answer_min  # more careful


async def test_the_keeper_refits_once_enough_customers_questions_are_known(
    settings: Settings,
) -> None:
    known: list[tuple[str, str | None]] = [("забыл пароль", "password")]  # a phrasing: left out

    async def labelled() -> list[tuple[str, str | None]]:
        return list(known)

    embedder = KeywordEmbedder(WORDS)
    decisions = DecisionService(AnswerEngine(embedder, thresholds=BASE))
    decisions.engine.rebuild(DISTINCT)
    keeper = CalibrationKeeper(decisions, budget=0.02, labelled=labelled)
    try:
        first = await keeper.refresh()
        assert first is not None and first.labelled_questions == 0
        known.extend((f"пароль {n}", "password") for n in range(LABELLED_REFIT_STEP - 1))
        assert await keeper.refresh() is first  # a few more: not worth seconds of model work
        known.append(("деньги где", "refund"))
        refitted = await keeper.refresh()
        assert refitted is not None and refitted.labelled_questions == LABELLED_REFIT_STEP
    finally:
        decisions.close()


def test_an_estimate_survives_its_round_trip() -> None:
    estimate = _fitted(DISTINCT)
    assert Estimate.from_dict(estimate.as_dict()) == estimate


@pytest.fixture
async def fitting_api(settings: Settings) -> AsyncIterator[ApiHarness]:
    url = f"sqlite+aiosqlite:///{settings.data_dir / 'api.sqlite3'}"
    async with api_harness(settings, url, self_calibrated=True) as harness:
        yield harness


async def _calibration(api: ApiHarness) -> dict[str, object]:
    response = await api.client.get("/api/v1/faq/calibration", headers=api.auth(Role.EDITOR))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_editors_read_the_estimate_and_it_follows_an_edit(fitting_api: ApiHarness) -> None:
    decisions = fitting_api.services.decisions
    assert decisions.calibrator is not None
    await decisions.calibrator.refresh()
    first = await _calibration(fitting_api)
    assert (first["state"], first["source"], first["wrong_answer_budget"]) == (
        "fitted",
        "self-calibrated",
        0.02,
    )
    assert first["thresholds"] == decisions.engine.policy.thresholds.model_dump()
    assert set(first["answered_right"]) == {"value", "low", "high"}  # type: ignore[arg-type]

    created = await fitting_api.client.post(
        "/api/v1/faq",
        json={
            "key": "delivery",
            "question": "Где моя доставка?",
            "alt_questions": ["Доставка опаздывает", "Когда приедет доставка"],
            "answer": "Курьер в пути.",
        },
        headers=fitting_api.auth(Role.EDITOR),
    )
    assert created.status_code == 201, created.text
    for _ in range(200):  # the keeper refits in the background, no call needed
        latest = await _calibration(fitting_api)
        if latest["state"] == "fitted" and latest["rehearsed"] != first["rehearsed"]:
            break
        await asyncio.sleep(0.1)
    assert latest["state"] == "fitted"
    assert latest["rehearsed"]["covered"] > first["rehearsed"]["covered"]  # type: ignore[index]

    agent = await fitting_api.client.get(
        "/api/v1/faq/calibration", headers=fitting_api.auth(Role.AGENT)
    )
    assert agent.status_code == 403


async def test_customers_picks_reach_the_running_fit(fitting_api: ApiHarness) -> None:
    sessions = fitting_api.services.sessions
    async with transaction(sessions) as session:
        entry = await get_entry(session, key="password")
        assert entry is not None
        for user in range(LABELLED_REFIT_STEP):
            customer = await register_customer(session, CustomerProfile(user, user, "C"))
            await choices.record_choice(
                session,
                customer_id=customer.id,
                entry=entry,
                question=f"пароль не помню {user}",
                language="ru",
            )
    calibrator = fitting_api.services.decisions.calibrator
    assert calibrator is not None
    await calibrator.refresh()  # the background loop reads them within LABELLED_READ_SECONDS
    rehearsed = (await _calibration(fitting_api))["rehearsed"]
    labelled = rehearsed["labelled"] if isinstance(rehearsed, dict) else None
    assert labelled == LABELLED_REFIT_STEP


async def test_customers_none_of_these_reaches_the_running_fit(fitting_api: ApiHarness) -> None:
    sessions = fitting_api.services.sessions
    async with transaction(sessions) as session:
        for user in range(LABELLED_REFIT_STEP):
            customer = await register_customer(session, CustomerProfile(user, user, "C"))
            for direction, kind, text in (
                (Direction.INBOUND, MessageKind.TEXT, f"скидка студентам {user}"),
                (Direction.OUTBOUND, MessageKind.TEXT, "Did you mean…"),
                (Direction.INBOUND, MessageKind.BUTTON, NONE_OF_THESE),
            ):
                record_message(session, customer, direction, kind, text=text)
            await session.flush()
    calibrator = fitting_api.services.decisions.calibrator
    assert calibrator is not None
    await calibrator.refresh()
    rehearsed = (await _calibration(fitting_api))["rehearsed"]
    assert isinstance(rehearsed, dict) and rehearsed["labelled"] == LABELLED_REFIT_STEP


async def test_fixed_thresholds_stay_and_are_estimated(settings: Settings) -> None:
    url = f"sqlite+aiosqlite:///{settings.data_dir / 'api.sqlite3'}"
    async with api_harness(settings, url) as api:
        calibrator = api.services.decisions.calibrator
        assert calibrator is not None
        fixed = api.services.decisions.engine.policy.thresholds
        await calibrator.refresh()
        body = await _calibration(api)
        assert (body["state"], body["source"]) == ("fitted", "settings")
        assert body["thresholds"] == fixed.model_dump()
        assert api.services.decisions.engine.policy.thresholds == fixed


async def test_fixed_thresholds_are_estimated_in_the_background_when_first_asked(
    settings: Settings,
) -> None:
    url = f"sqlite+aiosqlite:///{settings.data_dir / 'api.sqlite3'}"
    async with api_harness(settings, url) as api:
        first = await _calibration(api)  # does not wait for the rehearsal
        assert (first["state"], first["answered_right"]) == ("refitting", None)
        for _ in range(300):
            body = await _calibration(api)
            if body["state"] == "fitted":
                break
            await asyncio.sleep(0.1)
        assert (body["state"], body["source"]) == ("fitted", "settings")


async def test_a_restart_with_the_same_faq_starts_fitted(settings: Settings) -> None:
    settings = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{settings.data_dir / 'kb.sqlite3'}"}
    )
    embedder = KeywordEmbedder(TOPICS)
    faq = [
        FaqEntryData(
            key="password", question="Забыл пароль", alt_questions=["Сбросить пароль"], answer="A."
        ),
        FaqEntryData(
            key="refund", question="Вернуть деньги", alt_questions=["Где деньги"], answer="B."
        ),
    ]
    services = await open_services(settings, embedder=embedder)
    try:
        await import_and_index(services.sessions, services.decisions, faq, author="test")
        assert services.decisions.calibrator is not None
        fitted = await services.decisions.calibrator.refresh()
    finally:
        await services.close()
    again = await open_services(settings, embedder=embedder)
    try:
        assert again.decisions.calibrator is not None
        assert again.decisions.calibrator.estimate == fitted  # before any refit
        assert fitted is not None and again.answers.policy.thresholds == fitted.thresholds
    finally:
        await again.close()


def test_thresholds_from_firstline_calibrate_fix_the_engines(settings: Settings) -> None:
    assert fixed_thresholds(settings) is None  # nothing chosen: the engine fits its own
    chosen = DecisionThresholds(answer_min=0.77, answer_margin=0.05, clarify_min=0.2)
    store_thresholds(settings, chosen)
    assert fixed_thresholds(settings) == FixedThresholds(chosen, "firstline calibrate")
    by_settings = DecisionThresholds(answer_min=0.5)
    overridden = settings.model_copy(update={"decision": by_settings})
    assert fixed_thresholds(overridden) == FixedThresholds(by_settings, "settings")
