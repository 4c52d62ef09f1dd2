"""One integration test with the real default model: the demo FAQ and our dev set, in three languages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.settings import DEFAULT_EMBEDDING_MODEL, DecisionThresholds
from retrieval.centring import LanguageCentredEmbedder
from retrieval.decision import Outcome, Reason
from retrieval.embedder import Embedder
from retrieval.engine import AnswerEngine
from retrieval.entries import IndexedEntry, load_off_topic_references
from retrieval.evaluation import EvalFile, measure
from retrieval.loading import load_embedder

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dev_set() -> EvalFile:
    return EvalFile.model_validate_json((ROOT / "evals" / "dev.json").read_bytes())


@pytest.fixture(scope="module")
def model() -> Embedder:
    # The repository's data directory holds the converted model after ./scripts/setup.sh;
    # converting it here instead, if missing, is the same code path.
    return load_embedder(DEFAULT_EMBEDDING_MODEL, ROOT / "data" / "models")


@pytest.fixture(scope="module")
def embedder(model: Embedder) -> LanguageCentredEmbedder:
    return LanguageCentredEmbedder(model, load_off_topic_references())


@pytest.fixture(scope="module")
def engine(embedder: LanguageCentredEmbedder, dev_set: EvalFile) -> AnswerEngine:
    engine = AnswerEngine(embedder, thresholds=DecisionThresholds())
    engine.rebuild(_entries(dev_set))
    return engine


def _entries(eval_file: EvalFile) -> list[IndexedEntry]:
    return [
        IndexedEntry(n, e.key, e.question, e.answer, e.language or "ru", tuple(e.alt_questions))
        for n, e in enumerate(eval_file.faq, start=1)
    ]


def test_the_dev_set_meets_the_product_bar(engine: AnswerEngine, dev_set: EvalFile) -> None:
    prepared = engine.prepare_batch([query.text for query in dev_set.queries])
    metrics = measure([q.expected for q in dev_set.queries], [engine.conclude(p) for p in prepared])
    assert metrics.wrong_answer <= 0.03
    assert metrics.self_service >= 0.60
    assert metrics.assisted >= 0.90
    assert metrics.uncovered_declined >= 0.85
    assert metrics.human_handoff >= 14 / 15


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("забыл пароль от аккаунта, что делать", "forgot-password"),
        ("як скасувати підписку", "cancel-subscription"),
        ("i forgot my password", "forgot-password"),
    ],
)
def test_one_question_in_each_language_finds_its_entry(
    engine: AnswerEngine, text: str, key: str
) -> None:
    decision = engine.decide(text)
    assert decision.decision in (Outcome.ANSWER, Outcome.CLARIFY)
    assert decision.candidates[0].faq_key == key


def test_a_joke_request_is_not_answered_from_the_faq(engine: AnswerEngine) -> None:
    decision = engine.decide("расскажи анекдот про кота")
    assert decision.decision is not Outcome.ANSWER
    assert engine.decide("agent please").reason is Reason.CUSTOMER_REQUEST


def test_centring_finds_entries_of_a_russian_faq_for_ukrainian_and_english_questions(
    model: Embedder, embedder: LanguageCentredEmbedder
) -> None:
    """The nearest phrasing, with and without the language centres (measured: 67.6 -> 75.3 %)."""
    ru_faq = EvalFile.model_validate_json((ROOT / "evals" / "dev_ru_faq.json").read_bytes())
    phrasings = [(e.key, text) for e in ru_faq.faq for text in (e.question, *e.alt_questions)]
    asked = [q for q in ru_faq.queries if q.lang in ("uk", "en") and q.expected is not None]
    asked = [q for q in asked if q.expected in {key for key, _ in phrasings}]

    def nearest_right(encode: Callable[[list[str]], np.ndarray]) -> int:
        scores = encode([q.text for q in asked]) @ encode([text for _, text in phrasings]).T
        return sum(
            phrasings[int(row.argmax())][0] == q.expected
            for q, row in zip(asked, scores, strict=True)
        )

    raw = nearest_right(model.encode)
    centred = nearest_right(embedder.encode)
    print(f"nearest phrasing right: {raw / len(asked):.1%} raw, {centred / len(asked):.1%} centred")
    assert centred > raw


@pytest.mark.parametrize(
    "text",
    [
        "пароль " * 15_000,  # about 100 KB
        "забыл password от akkaунта",  # mixed scripts
        "忘记密码了",  # letters of no supported language: centred on all languages together
        "<b>как</b> *отменить* `подписку`'; DROP TABLE faq; --",
    ],
)
def test_odd_messages_get_a_decision_from_the_centred_model(
    engine: AnswerEngine, text: str
) -> None:
    decision = engine.decide(text)
    assert decision.decision in (Outcome.ANSWER, Outcome.CLARIFY, Outcome.HANDOFF)
    assert decision.score is None or 0.0 <= decision.score <= 1.0
