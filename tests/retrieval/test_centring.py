"""Language centring with hand-written vectors: meaning plus a language offset, no model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from retrieval.centring import LanguageCentredEmbedder
from retrieval.embedder import Vectors

MEANINGS = ["weather", "joke", "refund", "password"]
LANGUAGES = ["ru", "uk", "en"]
# The same two sentences in each language, as the built-in off-topic references are.
PARALLEL = {language: [f"{language}:weather", f"{language}:joke"] for language in LANGUAGES}
# Real sentences, for the language detector to read.
SENTENCES = {
    "верните деньги": "ru:refund",
    "поверніть гроші": "uk:refund",
    "give me my money back": "en:refund",
}


class OffsetEmbedder:
    """Texts "<language>:<meaning>" (or one of SENTENCES): one dimension per meaning plus a strong one per language, the
    way a multilingual model keeps some of a text's language in its vector. Passages get a
    further shared offset, as a model's passage prompt does."""

    name = "offset-test-embedder"
    dimension = len(MEANINGS) + len(LANGUAGES) + 1

    def encode(
        self,
        texts: Sequence[str],
        *,
        passages: bool = False,
        languages: Sequence[str | None] | None = None,
    ) -> Vectors:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            language, meaning = SENTENCES.get(text, text).split(":")
            vectors[row, MEANINGS.index(meaning)] = 1.0
            vectors[row, len(MEANINGS) + LANGUAGES.index(language)] = 1.5
            vectors[row, -1] = 2.0 if passages else 0.0
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _nearest(embedder: OffsetEmbedder | LanguageCentredEmbedder, query: str) -> str:
    candidates = ["ru:refund", "uk:password", "ru:password"]
    languages = [text.split(":")[0] for text in [query, *candidates]]
    vectors = embedder.encode([query, *candidates], languages=languages)
    return candidates[int(np.argmax(vectors[1:] @ vectors[0]))]


def test_a_question_finds_the_same_meaning_across_languages_once_centred() -> None:
    raw = OffsetEmbedder()
    centred = LanguageCentredEmbedder(raw, PARALLEL)
    # Raw, the shared language outweighs the meaning: a Ukrainian refund question lands on a
    # Ukrainian password phrasing.
    assert _nearest(raw, "uk:refund") == "uk:password"
    assert _nearest(centred, "uk:refund") == "ru:refund"
    assert _nearest(centred, "en:password") in ("ru:password", "uk:password")


def test_centred_vectors_are_unit_length_for_questions_and_passages() -> None:
    centred = LanguageCentredEmbedder(OffsetEmbedder(), PARALLEL)
    for passages in (False, True):
        vectors = centred.encode(
            ["ru:refund", "en:joke"], passages=passages, languages=["ru", "en"]
        )
        assert vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_passages_are_centred_on_passage_vectors() -> None:
    """The passage prompt moves every passage alike; its centre takes that off too, so a
    Ukrainian question meets a Russian passage of its meaning as it meets a phrasing."""
    centred = LanguageCentredEmbedder(OffsetEmbedder(), PARALLEL)
    question = centred.encode(["uk:refund"], languages=["uk"])[0]
    passages = centred.encode(["ru:refund", "ru:password"], passages=True, languages=["ru", "ru"])
    phrasing = centred.encode(["ru:refund"], languages=["ru"])[0]
    assert passages[0] @ question > passages[1] @ question
    assert passages[0] @ question == pytest.approx(phrasing @ question, abs=1e-5)


def test_an_unknown_language_is_centred_on_all_languages_together() -> None:
    centred = LanguageCentredEmbedder(OffsetEmbedder(), PARALLEL)
    unknown = centred.encode(["ru:refund"], languages=[None])[0]
    russian = centred.encode(["ru:refund"], languages=["ru"])[0]
    assert not np.allclose(unknown, russian)
    assert np.argmax(unknown[: len(MEANINGS)]) == MEANINGS.index("refund")


def test_languages_are_detected_when_the_caller_does_not_say() -> None:
    centred = LanguageCentredEmbedder(OffsetEmbedder(), PARALLEL)
    detected = centred.encode(list(SENTENCES))
    stated = centred.encode(list(SENTENCES), languages=["ru", "uk", "en"])
    assert np.allclose(detected, stated)


def test_nothing_to_encode_gives_no_vectors() -> None:
    centred = LanguageCentredEmbedder(OffsetEmbedder(), PARALLEL)
    assert centred.encode([]).shape == (0, OffsetEmbedder.dimension)
    assert centred.name == "offset-test-embedder"
    assert centred.dimension == OffsetEmbedder.dimension
