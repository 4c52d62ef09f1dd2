"""Loading an embedding model: its vectors and the CPU threads it computes on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

from core.settings import DecisionThresholds, Settings
from firstline.assembly import configured_embedder
from retrieval.engine import AnswerEngine
from retrieval.loading import load_embedder
from retrieval.service import DecisionService
from tests.support.fakes import KeywordEmbedder
from tests.support.processes import BUNDLED_MODELS_DIR
from tests.support.tiny_model import HIDDEN, build_tiny_model


def test_the_model_computes_on_the_configured_number_of_threads(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "model", ["refund", "password"])
    for threads in (2, 1):  # ends on one, the default every process of the suite runs with
        embedder = load_embedder(str(model), tmp_path / "models", threads=threads)
        assert torch.get_num_threads() == threads
        assert all(pool["num_threads"] <= threads for pool in threadpool_info())
    vectors = embedder.encode(["refund", "password please"])
    assert vectors.shape == (2, HIDDEN)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


async def test_the_answer_engines_thread_computes_on_the_configured_number_of_threads() -> None:
    # OpenMP keeps its limit per thread: a new thread starts with one per core.
    service = DecisionService(
        AnswerEngine(KeywordEmbedder(["refund"]), thresholds=DecisionThresholds()),
        compute_threads=1,
    )
    try:
        found = await service.run(lambda _engine: (torch.get_num_threads(), threadpool_info()))
    finally:
        service.close()
    threads, pools = found
    assert threads == 1
    assert all(pool["num_threads"] == 1 for pool in pools)


def test_the_bundled_model_is_read_from_the_configured_models_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRSTLINE_DATA_DIR", str(tmp_path / "data"))
    assert Settings().resolved_models_dir == tmp_path / "data" / "models"
    monkeypatch.setenv("FIRSTLINE_MODELS_DIR", str(BUNDLED_MODELS_DIR))
    embedder = configured_embedder(Settings())
    assert embedder.encode(["где мой заказ"]).shape == (1, embedder.dimension)
    assert not (tmp_path / "data" / "models").exists()  # nothing converted again
