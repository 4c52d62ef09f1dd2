"""Loading an embedding model: its vectors and the CPU threads it computes on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_info

from retrieval.embedder import load_embedder
from tests.tiny_model import HIDDEN, build_tiny_model


def test_the_model_computes_on_the_configured_number_of_threads(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "model", ["refund", "password"])
    for threads in (2, 1):  # ends on one, the default every process of the suite runs with
        embedder = load_embedder(str(model), tmp_path / "models", threads=threads)
        assert torch.get_num_threads() == threads
        assert all(pool["num_threads"] <= threads for pool in threadpool_info())
    vectors = embedder.encode(["refund", "password please"])
    assert vectors.shape == (2, HIDDEN)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
