"""The answer engine end to end with a keyword embedder (hand-written vectors, no model)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from core.settings import DecisionThresholds
from retrieval.decision import Outcome, Reason, Turn
from retrieval.engine import AnswerEngine, Message
from retrieval.entries import IndexedEntry
from tests.support.fakes import KeywordEmbedder

TOPICS = ["вернут", "возврат", "деньг", "парол", "войт", "отмен", "подписк", "refund", "password"]
# Thresholds for this toy model's confidences; the real defaults are calibrated for the real model.
THRESHOLDS = DecisionThresholds(answer_min=0.9, answer_margin=0.1, clarify_min=0.7)
ENTRIES = [
    IndexedEntry(
        1,
        "refund",
        "Как вернуть деньги?",
        "Возврат за 3–10 дней.",
        "ru",
        ("возврат денег", "refund"),
    ),
    IndexedEntry(
        2,
        "password",
        "Забыл пароль",
        "Нажмите «Забыли пароль?».",
        "ru",
        ("не могу войти", "password"),
    ),
    IndexedEntry(
        3,
        "cancel",
        "Как отменить подписку?",
        "Профиль → Подписка → Отменить.",
        "ru",
        ("отмена подписки",),
    ),
]
OFF_TOPIC = {
    "ru": ["какая погода", "расскажи анекдот", "деньги любят счёт", "где купить хлеб"],
    "en": ["what is the weather", "tell me a joke", "time is money", "buy bread"],
    "uk": ["яка погода", "розкажи анекдот", "де купити хліб", "що на вечерю"],
}


@pytest.fixture
def engine() -> AnswerEngine:
    engine = AnswerEngine(KeywordEmbedder(TOPICS), thresholds=THRESHOLDS, off_topic=OFF_TOPIC)
    engine.rebuild(ENTRIES)
    return engine


def test_a_clear_question_is_answered_with_its_entry(engine: AnswerEngine) -> None:
    decision = engine.decide("я забыл пароль, не могу войти")
    assert (decision.decision, decision.reason, decision.faq_key) == (
        Outcome.ANSWER,
        Reason.CONFIDENT,
        "password",
    )
    assert decision.answer == "Нажмите «Забыли пароль?»." and decision.language == "ru"
    assert decision.candidates[0].faq_key == "password"


def test_a_question_between_two_entries_is_clarified(engine: AnswerEngine) -> None:
    engine.upsert(IndexedEntry(4, "refund-subscription", "вернуть подписку", "…", "ru"))
    engine.upsert(IndexedEntry(5, "cancel-refund", "отменить и вернуть", "…", "ru"))
    decision = engine.decide("вернуть подписку отменить")
    assert decision.decision is Outcome.CLARIFY and decision.reason is Reason.AMBIGUOUS
    assert {"refund-subscription", "cancel-refund"} <= {c.faq_key for c in decision.candidates}


def test_an_unrelated_question_is_not_answered(engine: AnswerEngine) -> None:
    decision = engine.decide("когда выйдет новый сезон сериала")
    assert decision.decision is not Outcome.ANSWER and decision.faq_key is None


@pytest.mark.parametrize(
    "text",
    [
        "оператор",
        "позовите живого человека",
        "з людиною з'єднайте, будь ласка",
        "agent please",
        "Talk to a real person!",
    ],
)
def test_requests_for_a_person_are_handed_off_at_once(engine: AnswerEngine, text: str) -> None:
    decision = engine.decide(text)
    assert (decision.decision, decision.reason) == (Outcome.HANDOFF, Reason.CUSTOMER_REQUEST)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Привет!", Reason.GREETING),
        ("дякую!", Reason.THANKS),
        ("ok", Reason.SMALLTALK),
        ("ты бот?", Reason.SMALLTALK),
    ],
)
def test_greetings_and_small_talk_never_get_an_faq_entry(
    engine: AnswerEngine, text: str, reason: Reason
) -> None:
    decision = engine.decide(text)
    assert (decision.decision, decision.reason, decision.faq_key) == (Outcome.CLARIFY, reason, None)


def test_a_greeting_with_a_question_answers_the_question(engine: AnswerEngine) -> None:
    assert engine.decide("Здравствуйте! Забыл пароль").faq_key == "password"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", Reason.EMPTY),
        ("   \n\t ", Reason.EMPTY),
        ("😀😀🔥", Reason.NOT_TEXT),
        ("?!...", Reason.NOT_TEXT),
        ("\x00\x01\x02\xff binary", Reason.NOT_TEXT),
        ("\ufffd\ufffd garbage", Reason.NOT_TEXT),
    ],
)
def test_input_without_words_is_answered_with_a_request_for_words(
    engine: AnswerEngine, text: str, reason: Reason
) -> None:
    decision = engine.decide(text)
    assert (decision.decision, decision.reason) == (Outcome.CLARIFY, reason)


@pytest.mark.parametrize(
    "text",
    [
        "пароль " * 20000,
        "<b>пароль</b> & [x](y) *_`",
        "'; DROP TABLE faq_entries; -- пароль",
        "пароль password пароль",
        "ПАРОЛЬ!!! 😡😡😡",
    ],
)
def test_odd_input_still_gets_a_decision(engine: AnswerEngine, text: str) -> None:
    decision = engine.decide(text)
    assert decision.decision in set(Outcome)
    assert decision.to_dict()["decision"] in {"answer", "clarify", "handoff"}


def test_the_same_question_after_an_answer_goes_to_a_person(engine: AnswerEngine) -> None:
    history = [
        Turn("забыл пароль", from_customer=True),
        Turn(
            "Нажмите «Забыли пароль?».",
            from_customer=False,
            faq_key="password",
            outcome=Outcome.ANSWER,
        ),
    ]
    assert engine.decide("забыл пароль", history=history).reason is Reason.REPEATED_FAILURE
    assert engine.decide("не то, я не об этом", history=history).reason is Reason.REPEATED_FAILURE
    assert engine.decide("не то", history=()).reason is not Reason.REPEATED_FAILURE


def test_edits_are_seen_by_the_very_next_question(engine: AnswerEngine) -> None:
    engine.upsert(
        IndexedEntry(1, "refund", "Как вернуть деньги?", "Теперь за 1 день.", "ru", ("возврат",))
    )
    assert engine.decide("возврат денег пожалуйста").answer == "Теперь за 1 день."
    engine.remove(2)
    gone = engine.decide("забыл пароль")
    assert gone.faq_key is None and "password" not in {c.faq_key for c in gone.candidates}


def test_the_index_is_reused_when_it_fits_and_rebuilt_with_a_log_line_when_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def opened(entries: list[IndexedEntry], embedder: KeywordEmbedder) -> AnswerEngine:
        engine = AnswerEngine(embedder, thresholds=THRESHOLDS, off_topic=OFF_TOPIC)
        engine.open(tmp_path, entries)
        return engine

    with caplog.at_level(logging.WARNING):
        opened(ENTRIES, KeywordEmbedder(TOPICS))
        assert "rebuilding the FAQ index" in caplog.text
        caplog.clear()
        reopened = opened(ENTRIES, KeywordEmbedder(TOPICS))
        assert caplog.text == ""
        assert reopened.decide("забыл пароль").faq_key == "password"
        opened(ENTRIES[:2], KeywordEmbedder(TOPICS))
        assert "fingerprint" in caplog.text
        caplog.clear()
        opened(ENTRIES[:2], KeywordEmbedder(TOPICS, name="another-model"))
        assert "model" in caplog.text


def test_an_edited_answer_does_not_reuse_the_saved_index(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = AnswerEngine(KeywordEmbedder(TOPICS), thresholds=THRESHOLDS, off_topic=OFF_TOPIC)
    engine.open(tmp_path, ENTRIES)
    assert (tmp_path / "passages").is_dir()
    edited = [ENTRIES[0], ENTRIES[1], replace(ENTRIES[2], answer="Напишите нам «отмена».")]
    with caplog.at_level(logging.WARNING):
        AnswerEngine(KeywordEmbedder(TOPICS), thresholds=THRESHOLDS, off_topic=OFF_TOPIC).open(
            tmp_path, edited
        )
    assert "fingerprint" in caplog.text


def test_the_mean_of_an_entrys_phrasings_is_saved_and_follows_its_edits(tmp_path: Path) -> None:
    engine = AnswerEngine(KeywordEmbedder(TOPICS), thresholds=THRESHOLDS, off_topic=OFF_TOPIC)
    engine.open(tmp_path, ENTRIES)
    assert (tmp_path / "centroids").is_dir()

    def refund_centroid_margin(engine: AnswerEngine) -> float:
        evidence = engine.prepare("возврат денег").evidence
        return next(e.features["centroid_margin"] for e in evidence if e.entry_id == 1)

    before = refund_centroid_margin(engine)
    reopened = AnswerEngine(KeywordEmbedder(TOPICS), thresholds=THRESHOLDS, off_topic=OFF_TOPIC)
    reopened.open(tmp_path, ENTRIES)
    assert refund_centroid_margin(reopened) == pytest.approx(before) and before > 0
    # Phrasings that drift to another topic pull the entry's mean away from the message.
    engine.upsert(replace(ENTRIES[0], alt_questions=("пароль", "войти", "подписка")))
    assert refund_centroid_margin(engine) < before


def test_the_answer_tells_apart_entries_whose_questions_match_alike() -> None:
    """Two entries asked alike: the one whose answer speaks of the customer's words ranks first."""
    engine = AnswerEngine(KeywordEmbedder(TOPICS), thresholds=THRESHOLDS, off_topic=OFF_TOPIC)
    engine.rebuild(
        [
            IndexedEntry(1, "money-back", "Верните деньги", "Возврат придёт за 3 дня.", "ru"),
            IndexedEntry(2, "money-card", "Верните деньги", "Проверьте карту в профиле.", "ru"),
        ]
    )
    first, second = engine.prepare("возврат денег").evidence
    assert (first.entry_id, second.entry_id) == (1, 2)
    assert first.features["passage_margin"] > 0 and first.confidence > second.confidence
    # Worded nearer the entries than the toy off-topic "деньги любят счёт" (else it is far).
    assert engine.decide("верните деньги, нужен возврат").candidates[0].faq_key == "money-back"


def test_a_batch_larger_than_the_remembered_vectors_is_decided_whole(
    engine: AnswerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retrieval.engine.RECENT_VECTORS", 2)
    texts = ["забыл пароль", "возврат денег", "отмена подписки", "refund please"]
    decisions = engine.decide_many([Message(text) for text in texts])
    assert [d.faq_key for d in decisions] == ["password", "refund", "cancel", "refund"]
