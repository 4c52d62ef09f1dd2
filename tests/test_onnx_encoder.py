"""The ONNX export of a sentence-transformers folder and the module that runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from retrieval import onnx_encoder
from retrieval.errors import ModelLoadError
from retrieval.onnx_encoder import ONNX_FILE, TokenTable, export_onnx, onnx_sentence_transformer
from tests.tiny_model import HIDDEN, build_tiny_model

WORDS = ["refund", "password", "parcel", "late", "where", "is", "my", "order"]
# One word, a long text past the model's 64-token window, unknown words: padding and truncation.
TEXTS = ["refund", "where is my parcel " * 20, "password", "late order", "ПРИВЕТ мир 🙂"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_tiny_model(tmp_path_factory.mktemp("tiny"), WORDS)
    assert export_onnx(folder) == folder / ONNX_FILE
    return folder


def test_the_export_gives_pytorchs_vectors_in_one_padded_batch(exported: Path) -> None:
    expected = SentenceTransformer(str(exported), device="cpu").encode(TEXTS)
    got = onnx_sentence_transformer(exported, threads=1).encode(TEXTS)
    assert got.shape == (len(TEXTS), HIDDEN)
    assert np.allclose(got, expected, atol=1e-5)


def test_a_text_alone_gets_the_vector_it_gets_in_a_batch(exported: Path) -> None:
    model = onnx_sentence_transformer(exported, threads=1)
    batch = model.encode(TEXTS)
    alone = np.vstack([model.encode([text]) for text in TEXTS])
    assert np.allclose(alone, batch, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_session_computes_on_the_configured_number_of_threads(
    exported: Path, threads: int
) -> None:
    encoder = onnx_sentence_transformer(exported, threads=threads)[0]
    assert encoder.session_threads == threads


def test_a_folder_without_the_export_says_how_to_make_it(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path, WORDS)
    with pytest.raises(ModelLoadError, match="firstline model prepare"):
        onnx_sentence_transformer(folder, threads=1)


def test_a_batch_of_long_texts_computed_a_few_rows_at_a_time_gets_the_same_vectors(
    exported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = onnx_sentence_transformer(exported, threads=1)
    whole = model.encode(TEXTS)
    monkeypatch.setattr(onnx_encoder, "MAX_ATTENTION_CELLS", 2 * 64 * 64)  # two rows per run
    assert np.allclose(model.encode(TEXTS), whole, atol=1e-5)


def test_the_token_table_reads_the_rows_of_the_models_own_embedding_matrix(
    exported: Path,
) -> None:
    from transformers import AutoModel

    weights = AutoModel.from_pretrained(str(exported)).get_input_embeddings().weight
    table = TokenTable(exported)
    ids = np.array([[2, 5, 5, 0], [7, 1, 3, 2]])
    assert np.array_equal(table.rows(ids), weights.detach().numpy()[ids])
    with pytest.raises(ValueError, match="outside the table"):
        table.rows(np.array([[len(weights)]]))
