"""The configured embedding model: loaded (the bundled one prepared on first use, then served
on ONNX Runtime or PyTorch; or any sentence-transformers model), and the signature of its files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from core.settings import DEFAULT_EMBEDDING_MODEL, EmbeddingRuntime
from retrieval.embedder import Embedder, SentenceTransformerEmbedder
from retrieval.errors import ModelLoadError
from retrieval.model.layout import BUNDLED_MODEL_FOLDER
from retrieval.model.prepare import prepare_default_model

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def load_embedder(
    name: str, models_dir: Path, threads: int = 1, runtime: EmbeddingRuntime = "onnx"
) -> Embedder:
    """The configured model (the bundled default, converted on first use, or any
    sentence-transformers name or path), computing on ``threads`` CPU threads; ``runtime``
    says what runs the bundled model. PyTorch and sentence-transformers are imported only for a
    model that runs on them."""
    from retrieval.threads import limit_compute_threads

    embedder: Embedder
    if name == DEFAULT_EMBEDDING_MODEL:
        folder = prepare_default_model(models_dir / BUNDLED_MODEL_FOLDER)
        if runtime == "onnx":
            from retrieval.onnx_encoder import OnnxEmbedder

            embedder = OnnxEmbedder(name, folder, threads=threads)
        else:
            embedder = SentenceTransformerEmbedder(name, _sentence_transformer(name, folder))
    else:
        embedder = SentenceTransformerEmbedder(name, _sentence_transformer(name, name))
    # After loading: threadpoolctl limits only the libraries loaded by then.
    limit_compute_threads(threads)
    return embedder


def model_signature(name: str, models_dir: Path, runtime: EmbeddingRuntime) -> str | None:
    """Identifies the vectors the configured model gives: its name, what runs it and each of
    its files' path, size and modification time (a file replaced or converted again changes
    it). None for a model hub's name, whose files sentence-transformers finds by itself."""
    if name == DEFAULT_EMBEDDING_MODEL:
        folder = models_dir / BUNDLED_MODEL_FOLDER
    elif Path(name).is_dir():
        folder, runtime = Path(name), "torch"
    else:
        return None
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    stats = [
        (path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns)
        for path, stat in ((path, path.stat()) for path in files)
    ]
    document = json.dumps([name, runtime, stats], ensure_ascii=False)
    return hashlib.sha256(document.encode()).hexdigest()


def _sentence_transformer(name: str, path: str | Path) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    try:
        return SentenceTransformer(str(path), device="cpu")
    except Exception as error:  # sentence-transformers raises many kinds here
        raise ModelLoadError(
            f"cannot load embedding model '{name}' from {path}: {error}. "
            "Check FIRSTLINE_EMBEDDING_MODEL, or unset it to use the bundled model."
        ) from error
