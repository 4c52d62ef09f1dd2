"""The vector index: faiss inner product over normalised phrasing vectors, grouped by FAQ entry."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import faiss
import numpy as np

from retrieval.embedder import Vectors
from retrieval.errors import IndexMismatchError

logger = logging.getLogger(__name__)

# Each entry owns a block of ids, so one entry's vectors are removed by range without a lookup.
MAX_PHRASINGS_PER_ENTRY = 1024
INDEX_FORMAT = 2  # 2: vectors centred per language (retrieval/centring.py)
SUPPORT_PHRASINGS = 3
SEARCH_DEPTH = 256


@dataclass(frozen=True)
class IndexMeta:
    """What an index was built from; a mismatch with the running system means rebuild."""

    model: str
    dimension: int
    fingerprint: str
    format: int = INDEX_FORMAT


@dataclass(frozen=True)
class EntryHit:
    entry_id: int
    score: float
    phrasing: int  # which of the entry's phrasings matched best (0 = the main question)
    support: float  # mean score of the entry's best phrasings (up to SUPPORT_PHRASINGS)
    ranks: tuple[
        int, ...
    ]  # where the entry's phrasings stand among all nearest phrasings (0 = nearest)


class PhrasingIndex:
    """Exact cosine search over every phrasing; results aggregated to the best phrasing per entry."""

    def __init__(self, dimension: int) -> None:
        if dimension <= 0:
            raise ValueError("dimension must be positive")
        self.dimension = dimension
        self._index: faiss.IndexIDMap2 = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        # Removal scans the whole index, so it is skipped for entries that are not in it.
        self._entry_ids: set[int] = set()

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def copy(self) -> PhrasingIndex:
        """An independent copy: changing it leaves this index as it is."""
        copied = PhrasingIndex(self.dimension)
        copied._index = cast(faiss.IndexIDMap2, faiss.clone_index(self._index))
        copied._entry_ids = set(self._entry_ids)
        return copied

    def upsert(self, entry_id: int, vectors: Vectors) -> None:
        """Replace an entry's phrasing vectors (row 0 is its main question)."""
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(
                f"expected vectors of shape (n, {self.dimension}), got {vectors.shape}"
            )
        if len(vectors) > MAX_PHRASINGS_PER_ENTRY:
            raise ValueError(f"an entry may have at most {MAX_PHRASINGS_PER_ENTRY} phrasings")
        self.remove(entry_id)
        base = entry_id * MAX_PHRASINGS_PER_ENTRY
        ids = np.arange(base, base + len(vectors), dtype=np.int64)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._entry_ids.add(entry_id)

    def remove(self, entry_id: int) -> None:
        if entry_id not in self._entry_ids:
            return
        base = entry_id * MAX_PHRASINGS_PER_ENTRY
        self._index.remove_ids(faiss.IDSelectorRange(base, base + MAX_PHRASINGS_PER_ENTRY))
        self._entry_ids.discard(entry_id)

    def search(self, query: Vectors, entries: int) -> list[list[EntryHit]]:
        """For each query row, the best-scoring ``entries`` entries, best first."""
        if self.size == 0:
            return [[] for _ in range(len(query))]
        # Several phrasings of one entry crowd the top, so fetch generously, then group.
        depth = min(self.size, SEARCH_DEPTH)
        scores, ids = self._index.search(np.ascontiguousarray(query, dtype=np.float32), depth)
        return [
            self._group(row_scores, row_ids, entries)
            for row_scores, row_ids in zip(scores, ids, strict=True)
        ]

    @staticmethod
    def _group(scores: np.ndarray, ids: np.ndarray, entries: int) -> list[EntryHit]:
        by_entry: dict[int, list[tuple[float, int, int]]] = {}
        # Plain Python numbers: numpy's scalars cost a decision ~1 ms over 4 searches of 256.
        for rank, (score, vector_id) in enumerate(zip(scores.tolist(), ids.tolist(), strict=True)):
            if vector_id < 0:
                continue
            entry_id, phrasing = divmod(vector_id, MAX_PHRASINGS_PER_ENTRY)
            by_entry.setdefault(entry_id, []).append((score, phrasing, rank))
        hits = [
            EntryHit(
                entry_id=entry_id,
                score=found[0][0],
                phrasing=found[0][1],
                support=_mean([score for score, _, _ in found[:SUPPORT_PHRASINGS]]),
                ranks=tuple(rank for _, _, rank in found),
            )
            for entry_id, found in by_entry.items()
        ]
        return sorted(hits, key=lambda hit: -hit.score)[:entries]

    def save(self, directory: Path, meta: IndexMeta) -> None:
        """Write the index and its meta atomically (a crash leaves the previous pair intact)."""
        directory.mkdir(parents=True, exist_ok=True)
        # Names of this process's own: replicas sharing a data folder (or `firstline kb import`
        # beside a server) may save at the same moment.
        index_tmp = directory / f"phrasings.faiss.{os.getpid()}.tmp"
        meta_tmp = directory / f"meta.json.{os.getpid()}.tmp"
        faiss.write_index(self._index, str(index_tmp))
        meta_tmp.write_text(json.dumps(meta.__dict__), encoding="utf-8")
        index_tmp.replace(directory / "phrasings.faiss")
        meta_tmp.replace(directory / "meta.json")

    @classmethod
    def load(cls, directory: Path, expected: IndexMeta) -> PhrasingIndex:
        """Load a persisted index; raises IndexMismatchError saying what differs."""
        meta_path, index_path = directory / "meta.json", directory / "phrasings.faiss"
        if not meta_path.exists() or not index_path.exists():
            raise IndexMismatchError(f"no index in {directory}")
        try:
            found = IndexMeta(**json.loads(meta_path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as error:
            raise IndexMismatchError(f"unreadable index meta in {meta_path}: {error}") from error
        differences = [
            f"{name} {getattr(found, name)!r} != {getattr(expected, name)!r}"
            for name in ("format", "model", "dimension", "fingerprint")
            if getattr(found, name) != getattr(expected, name)
        ]
        if differences:
            raise IndexMismatchError("index out of date: " + ", ".join(differences))
        index = cls(expected.dimension)
        loaded: Any = faiss.read_index(str(index_path))  # an IndexIDMap2, as saved
        index._index = loaded
        if index._index.d != expected.dimension:
            raise IndexMismatchError(f"index file has dimension {index._index.d}")
        vector_ids = faiss.vector_to_array(index._index.id_map)
        index._entry_ids = {int(vector_id) // MAX_PHRASINGS_PER_ENTRY for vector_id in vector_ids}
        return index


def _mean(values: list[float]) -> float:
    """The mean as numpy's for a few values (summed in order), without its per-call cost."""
    return sum(values) / len(values)
