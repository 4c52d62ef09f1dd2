"""The ONNX export of a sentence-transformers folder and the embedder that serves it alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from retrieval import onnx_encoder
from retrieval.errors import ModelLoadError
from retrieval.model.layout import ONNX_FILE
from retrieval.model.onnx_export import export_onnx
from retrieval.onnx_encoder import OnnxEmbedder, TokenTable
from tests.support.tiny_model import HIDDEN, build_tiny_model

WORDS = ["refund", "password", "parcel", "late", "where", "is", "my", "order", "query", "passage"]
# One word, a long text past the model's 64-token window, unknown words: padding and truncation.
TEXTS = ["refund", "where is my parcel " * 20, "password", "late order", "ПРИВЕТ мир 🙂"]
PROMPTS = {"query": "query: ", "document": "passage: "}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_tiny_model(tmp_path_factory.mktemp("tiny"), WORDS)
    assert export_onnx(folder) == folder / ONNX_FILE
    return folder


@pytest.fixture(scope="module")
def prompted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with e5's prompts, as the bundled model's folder has them."""
    folder = build_tiny_model(tmp_path_factory.mktemp("prompted"), WORDS)
    config_path = folder / "config_sentence_transformers.json"
    config = json.loads(config_path.read_text("utf-8"))
    config_path.write_text(json.dumps(config | {"prompts": PROMPTS}), "utf-8")
    export_onnx(folder)
    return folder


def test_the_export_gives_sentence_transformers_vectors_in_one_padded_batch(
    exported: Path,
) -> None:
    expected = SentenceTransformer(str(exported), device="cpu").encode(TEXTS)
    got = OnnxEmbedder("tiny", exported).encode(TEXTS)
    assert got.shape == (len(TEXTS), HIDDEN)
    assert got.dtype == np.float32
    assert np.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize(("passages", "prompt_name"), [(False, "query"), (True, "document")])
def test_questions_and_passages_get_the_folders_own_prompts(
    prompted: Path, passages: bool, prompt_name: str
) -> None:
    model = SentenceTransformer(str(prompted), device="cpu")
    expected = model.encode(TEXTS, prompt_name=prompt_name, normalize_embeddings=True)
    got = OnnxEmbedder("tiny", prompted).encode(TEXTS, passages=passages)
    assert np.allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, model.encode(TEXTS, normalize_embeddings=True), atol=1e-3)


def test_a_text_alone_gets_the_vector_it_gets_in_a_batch(exported: Path) -> None:
    embedder = OnnxEmbedder("tiny", exported, batch_size=2)
    batch = embedder.encode(TEXTS)
    alone = np.vstack([embedder.encode([text]) for text in TEXTS])
    assert np.allclose(alone, batch, atol=1e-5)
    assert embedder.encode([]).shape == (0, HIDDEN)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_session_computes_on_the_configured_number_of_threads(
    exported: Path, threads: int
) -> None:
    assert OnnxEmbedder("tiny", exported, threads=threads).session_threads == threads


def test_a_folder_without_the_export_says_how_to_make_it(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path, WORDS)
    with pytest.raises(ModelLoadError, match="firstline model prepare"):
        OnnxEmbedder("tiny", folder)


def test_a_folder_pooled_otherwise_is_refused_rather_than_given_other_vectors(
    exported: Path, tmp_path: Path
) -> None:
    import shutil

    folder = Path(shutil.copytree(exported, tmp_path / "cls-pooled"))
    pooling_path = folder / "1_Pooling" / "config.json"
    pooling = json.loads(pooling_path.read_text("utf-8"))
    pooling["pooling_mode"] = "cls"
    pooling_path.write_text(json.dumps(pooling), "utf-8")
    with pytest.raises(ModelLoadError, match="EMBEDDING_RUNTIME=torch"):
        OnnxEmbedder("tiny", folder)


def test_a_batch_of_long_texts_computed_a_few_rows_at_a_time_gets_the_same_vectors(
    exported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = OnnxEmbedder("tiny", exported)
    whole = embedder.encode(TEXTS)
    monkeypatch.setattr(onnx_encoder, "MAX_ATTENTION_CELLS", 2 * 64 * 64)  # two rows per run
    assert np.allclose(embedder.encode(TEXTS), whole, atol=1e-5)


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
