"""Test doubles with hand-written vectors: no model needed."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from retrieval.embedder import Vectors


class KeywordEmbedder:
    """One dimension per topic word (any word starting with it counts), plus one for "anything else".

    Texts sharing topic words get high cosine; texts without any share only the last dimension,
    so each test can reason about scores exactly.
    """

    def __init__(self, topics: Sequence[str], name: str = "keyword-test-embedder") -> None:
        self.topics = [topic.lower() for topic in topics]
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return len(self.topics) + 1

    def encode(
        self,
        texts: Sequence[str],
        *,
        passages: bool = False,
        languages: Sequence[str | None] | None = None,
    ) -> Vectors:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            for column, topic in enumerate(self.topics):
                vectors[row, column] = sum(word.startswith(topic) for word in words)
            vectors[row, -1] = 0.3
            vectors[row] /= np.linalg.norm(vectors[row])
        return vectors
