"""Turning texts into normalised vectors: the Embedder protocol and its sentence-transformers implementation."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from retrieval.errors import ModelLoadError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

# The model reads at most 512 tokens; cutting long texts first keeps tokenising 100 KB cheap.
MAX_EMBED_CHARS = 2000


class Embedder(Protocol):
    """Anything that maps texts to L2-normalised float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(
        self,
        texts: Sequence[str],
        *,
        passages: bool = False,
        languages: Sequence[str | None] | None = None,
    ) -> Vectors:
        """Vectors of texts as customers' questions, or (``passages``) as passages that answer
        them: models trained for retrieval embed the two sides differently. ``languages`` are
        the texts' languages where the caller knows them; an embedder may use them."""
        ...


class WrappingEmbedder:
    """An embedder that changes another's vectors (or where they come from): it answers to the
    inner model's name and dimension."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension


class SentenceTransformerEmbedder:
    """A sentence-transformers model. Questions and their phrasings get its ``query`` prompt (if
    any) on both sides; answer passages get its ``document`` / ``passage`` prompt."""

    def __init__(self, name: str, model: SentenceTransformer, *, batch_size: int = 64) -> None:
        self._model = model
        self._name = name
        self._batch_size = batch_size
        self._prompt_name, self._passage_prompt_name = side_prompts(self._model.prompts)
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ModelLoadError(f"model '{name}' does not declare its embedding dimension")
        self._dimension = int(dimension)
        # The answer engine's thread and an eval or gap report may embed at the same time; the
        # fast tokenizer raises "Already borrowed" when two threads use it at once.
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(
        self,
        texts: Sequence[str],
        *,
        passages: bool = False,
        languages: Sequence[str | None] | None = None,
    ) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                [text[:MAX_EMBED_CHARS] for text in texts],
                prompt_name=self._passage_prompt_name if passages else self._prompt_name,
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def side_prompts(prompts: Mapping[str, str | None]) -> tuple[str | None, str | None]:
    """Which of a model's named prompts its questions get (``query``, if any) and which its
    answer passages get (``document`` or ``passage``, else the questions' one)."""
    query = "query" if "query" in prompts else None
    return query, next((name for name in ("document", "passage") if name in prompts), query)
