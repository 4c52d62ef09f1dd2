"""What the engine does with messages that are not FAQ questions, with the real default model:
requests for a person in any words (and what merely mentions staff or a carrier), and questions
far from every entry — the weather, another company's product, general knowledge — (a plain
"outside what I can help with", not "did you mean…")."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from core.settings import DEFAULT_EMBEDDING_MODEL, DecisionThresholds
from retrieval.centring import LanguageCentredEmbedder
from retrieval.decision import Outcome, Reason
from retrieval.engine import AnswerEngine
from retrieval.entries import IndexedEntry, load_off_topic_references
from retrieval.evaluation import EvalFile, query_kind
from retrieval.intents import asks_for_human
from retrieval.loading import load_embedder

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[2]

REQUESTS_FOR_A_PERSON = [
    # the two the unseen FAQs' figures missed, and domain roles
    ("uk", "переведіть мене на співробітника підтримки"),
    ("en", "can I talk to an actual accountant?"),
    ("uk", "живий бухгалтер"),
    ("ru", "мне нужен живой бухгалтер"),
    ("ru", "менеджер"),
    ("uk", "співробітник"),
    ("ru", "переведите меня на сотрудника"),
    ("en", "put me through to a manager"),
    ("en", "I need a real accountant"),
    # words no lexicon lists: recognised by meaning
    ("ru", "хочу чтобы со мной связался кто-то из ваших бухгалтеров"),
    ("uk", "нехай зі мною зв'яжеться хтось із ваших фахівців"),
]
NOT_REQUESTS_FOR_A_PERSON = [
    ("en", "do your accountants check my declaration?"),
    ("uk", "чи перевіряє бухгалтер мою декларацію"),
    ("uk", "оператор мобільного зв'язку"),
    ("ru", "какой у вас оператор связи"),
    ("ru", "ваши менеджеры работают в выходные?"),
    ("ru", "переведите деньги на счёт человека"),
    ("en", "does a real accountant prepare my report?"),
    ("en", "how many employees do you have"),
    ("uk", "чи працюють ваші менеджери у вихідні"),
]
FAR_FROM_EVERY_ENTRY = [
    ("en", "what's the weather in Kyiv?"),
    ("ru", "расскажи анекдот"),
    ("uk", "як приготувати вареники з вишнями"),
    ("en", "how do I cook pasta"),
    # another company's product, asked of a streaming service
    ("ru", "как оформить кредит в Сбербанке"),
    ("en", "how do I reset my iPhone"),
    ("en", "where can I buy a PlayStation 5"),
    ("uk", "як відкрити рахунок у Монобанку"),
    # general knowledge
    ("ru", "кто написал евгения онегина"),
    ("uk", "у якому році заснували київ"),
    ("en", "is autism a genetic disease"),
]
DEV_FAQS = ["dev.json", "dev_ru_faq.json", "dev_uk_utility.json", "dev_en_cards.json"]


def _dev_set(name: str) -> EvalFile:
    return EvalFile.model_validate_json((ROOT / "evals" / name).read_bytes())


@functools.cache
def _engine_for(name: str) -> AnswerEngine:
    model = load_embedder(DEFAULT_EMBEDDING_MODEL, ROOT / "data" / "models")
    embedder = LanguageCentredEmbedder(model, load_off_topic_references())
    engine = AnswerEngine(embedder, thresholds=DecisionThresholds())
    engine.rebuild(
        [
            IndexedEntry(n, e.key, e.question, e.answer, e.language or "ru", tuple(e.alt_questions))
            for n, e in enumerate(_dev_set(name).faq, start=1)
        ]
    )
    return engine


@pytest.fixture(scope="module")
def engine() -> AnswerEngine:
    return _engine_for("dev.json")


@pytest.mark.parametrize(("language", "text"), REQUESTS_FOR_A_PERSON)
def test_a_request_for_a_person_in_any_words_is_handed_off(
    engine: AnswerEngine, language: str, text: str
) -> None:
    decision = engine.decide(text, language)
    assert (decision.decision, decision.reason) == (Outcome.HANDOFF, Reason.CUSTOMER_REQUEST)


@pytest.mark.parametrize(("language", "text"), NOT_REQUESTS_FOR_A_PERSON)
def test_staff_and_carriers_mentioned_in_a_question_are_no_request_for_a_person(
    engine: AnswerEngine, language: str, text: str
) -> None:
    assert not asks_for_human(text)
    assert engine.decide(text, language).reason is not Reason.CUSTOMER_REQUEST


@pytest.mark.parametrize(("language", "text"), FAR_FROM_EVERY_ENTRY)
def test_a_question_far_from_every_entry_gets_no_options(
    engine: AnswerEngine, language: str, text: str
) -> None:
    decision = engine.decide(text, language)
    assert (decision.decision, decision.reason) == (Outcome.CLARIFY, Reason.OFF_TOPIC)
    assert decision.candidates == []


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "how many stars are in the galaxy"), ("ru", "сколько звёзд в галактике")],
)
def test_a_far_question_is_not_answered_however_confident(
    engine: AnswerEngine, language: str, text: str
) -> None:
    prepared = engine.prepare_batch([text])[0]
    assert engine.policy.choose(prepared.evidence, engine.policy.thresholds).outcome is (
        Outcome.ANSWER  # the confidence model alone would answer "devices-limit"
    )
    decision = engine.conclude(prepared)
    assert (decision.decision, decision.reason) == (Outcome.CLARIFY, Reason.OFF_TOPIC)


def test_a_near_miss_still_gets_options(engine: AnswerEngine) -> None:
    decision = engine.decide("когда выйдет третий сезон", "ru")
    assert decision.decision is Outcome.CLARIFY
    assert decision.reason is not Reason.OFF_TOPIC
    assert decision.candidates


@pytest.mark.parametrize("name", DEV_FAQS)
def test_no_question_the_faq_covers_is_called_far_or_a_request(name: str) -> None:
    engine = _engine_for(name)
    covered = [query for query in _dev_set(name).queries if query_kind(query.expected) == "covered"]
    prepared = engine.prepare_batch([query.text for query in covered])
    reasons = {engine.conclude(item).reason for item in prepared}
    assert Reason.OFF_TOPIC not in reasons
    assert Reason.CUSTOMER_REQUEST not in reasons
