"""The reference sentences' vectors kept beside the index: no model work at a start with nothing
changed, and embedded again whenever the model, the sentences or the file are not as stored."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from core.settings import DEFAULT_EMBEDDING_MODEL, DecisionThresholds
from retrieval.centring import LanguageCentredEmbedder
from retrieval.embedder import Vectors
from retrieval.engine import AnswerEngine
from retrieval.loading import model_signature
from retrieval.model.layout import BUNDLED_MODEL_FOLDER
from retrieval.reference_cache import REFERENCE_FILE, ReferenceCachedEmbedder, startup_references
from tests.support.fakes import KeywordEmbedder

REFERENCES = {
    "ru": ["какая погода", "расскажи анекдот"],
    "uk": ["яка погода", "розкажи анекдот"],
    "en": ["what is the weather", "tell me a joke"],
}


class CountingEmbedder(KeywordEmbedder):
    """Counts the texts it embeds: the model work a start does."""

    def __init__(self) -> None:
        super().__init__(["погод", "анекдот", "weather", "joke", "refund"])
        self.embedded = 0

    def encode(
        self,
        texts: Sequence[str],
        *,
        passages: bool = False,
        languages: Sequence[str | None] | None = None,
    ) -> Vectors:
        self.embedded += len(texts)
        vectors = super().encode(texts, passages=passages, languages=languages)
        return vectors[:, ::-1].copy() if passages else vectors  # the sides differ, as e5's do


def _start(model: CountingEmbedder, path: Path, signature: str | None = "model-a") -> AnswerEngine:
    """What start-up builds on the model: the centred embedder and the engine's references."""
    cached = ReferenceCachedEmbedder(model, startup_references(REFERENCES), path, signature)
    return AnswerEngine(
        LanguageCentredEmbedder(cached, REFERENCES),
        thresholds=DecisionThresholds(),
        off_topic=REFERENCES,
    )


def test_a_start_with_nothing_changed_does_no_model_work_for_the_references(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index" / REFERENCE_FILE
    first = CountingEmbedder()
    _start(first, path)
    sentences = sum(len(texts) for texts in startup_references(REFERENCES).values())
    assert first.embedded == 2 * sentences  # each once as a question, once as a passage
    again = CountingEmbedder()
    engine = _start(again, path)
    assert again.embedded == 0
    assert engine.decide("refund please").decision  # other texts still reach the model
    assert again.embedded == 1


def test_stored_vectors_are_the_ones_the_model_gives(tmp_path: Path) -> None:
    path = tmp_path / REFERENCE_FILE
    ReferenceCachedEmbedder(CountingEmbedder(), REFERENCES, path, "model-a")
    stored = ReferenceCachedEmbedder(CountingEmbedder(), REFERENCES, path, "model-a")
    texts = REFERENCES["uk"]
    for passages in (False, True):
        expected = CountingEmbedder().encode(texts, passages=passages)
        assert np.array_equal(stored.encode(texts, passages=passages), expected)


@pytest.mark.parametrize(
    ("signature", "references"),
    [
        ("model-b", REFERENCES),  # another model, or its files changed
        ("model-a", REFERENCES | {"en": ["what is the weather", "tell me a story"]}),
    ],
)
def test_another_model_or_other_sentences_are_embedded_again_and_stored(
    tmp_path: Path, signature: str, references: dict[str, list[str]]
) -> None:
    path = tmp_path / REFERENCE_FILE
    ReferenceCachedEmbedder(CountingEmbedder(), REFERENCES, path, "model-a")
    changed = CountingEmbedder()
    ReferenceCachedEmbedder(changed, references, path, signature)
    assert changed.embedded == 12
    after = CountingEmbedder()
    ReferenceCachedEmbedder(after, references, path, signature)
    assert after.embedded == 0


@pytest.mark.parametrize(
    "content", [b"", b"not a numpy file", b"PK\x03\x04 cut short", b"\x93NUMPY\x01\x00"]
)
def test_a_damaged_file_is_embedded_again_and_replaced(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / REFERENCE_FILE
    path.write_bytes(content)
    damaged = CountingEmbedder()
    ReferenceCachedEmbedder(damaged, REFERENCES, path, "model-a")
    assert damaged.embedded == 12
    after = CountingEmbedder()
    ReferenceCachedEmbedder(after, REFERENCES, path, "model-a")
    assert after.embedded == 0
    assert [p.name for p in tmp_path.iterdir()] == [REFERENCE_FILE]  # no temporary file left


def test_an_unwritable_place_costs_the_embedding_not_the_start(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    model = CountingEmbedder()
    cached = ReferenceCachedEmbedder(model, REFERENCES, blocked / REFERENCE_FILE, "model-a")
    assert cached.encode(REFERENCES["en"]).shape == (2, model.dimension)


def test_a_model_hubs_name_stores_nothing(tmp_path: Path) -> None:
    ReferenceCachedEmbedder(CountingEmbedder(), REFERENCES, tmp_path / REFERENCE_FILE, None)
    assert not (tmp_path / REFERENCE_FILE).exists()


def test_the_models_signature_follows_its_name_runtime_and_files(tmp_path: Path) -> None:
    folder = tmp_path / BUNDLED_MODEL_FOLDER
    (folder / "onnx").mkdir(parents=True)
    weights = folder / "onnx" / "model.onnx_data"
    weights.write_bytes(b"weights")
    signature = model_signature(DEFAULT_EMBEDDING_MODEL, tmp_path, "onnx")
    assert signature == model_signature(DEFAULT_EMBEDDING_MODEL, tmp_path, "onnx")
    assert signature != model_signature(DEFAULT_EMBEDDING_MODEL, tmp_path, "torch")
    weights.write_bytes(b"WEIGHTS")
    os.utime(weights, ns=(1, 1))
    changed = model_signature(DEFAULT_EMBEDDING_MODEL, tmp_path, "onnx")
    assert changed != signature
    assert model_signature(str(folder), tmp_path, "onnx") not in (None, changed)
    assert model_signature("intfloat/multilingual-e5-small", tmp_path, "onnx") is None
