"""The phrasing index with hand-written vectors: grouping by entry, incremental edits, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import IndexMismatchError
from retrieval.index import IndexMeta, PhrasingIndex


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _rows(*vectors: np.ndarray) -> np.ndarray:
    return np.stack(vectors).astype(np.float32)


def test_hits_are_grouped_by_entry_with_the_best_phrasing() -> None:
    index = PhrasingIndex(3)
    index.upsert(1, _rows(_unit(1, 0, 0), _unit(0.9, 0.1, 0)))
    index.upsert(2, _rows(_unit(0, 1, 0), _unit(0.6, 0.8, 0)))
    (hits,) = index.search(_rows(_unit(0.8, 0.6, 0)), entries=5)
    assert [hit.entry_id for hit in hits] == [2, 1]
    assert hits[0].phrasing == 1 and hits[0].score == pytest.approx(0.96, abs=0.01)
    assert len({hit.entry_id for hit in hits}) == len(hits)


def test_an_edit_replaces_only_that_entry_and_is_seen_at_once() -> None:
    index = PhrasingIndex(2)
    index.upsert(1, _rows(_unit(1, 0)))
    index.upsert(2, _rows(_unit(0, 1)))
    index.upsert(1, _rows(_unit(0.1, 1), _unit(0, 1)))
    assert index.size == 3
    (hits,) = index.search(_rows(_unit(1, 0)), entries=2)
    assert hits[0].score < 0.2
    index.remove(2)
    index.remove(99)
    (hits,) = index.search(_rows(_unit(0, 1)), entries=2)
    assert [hit.entry_id for hit in hits] == [1]


def test_an_empty_index_finds_nothing_and_bad_shapes_are_refused() -> None:
    index = PhrasingIndex(4)
    assert index.search(_rows(_unit(1, 0, 0, 0)), entries=3) == [[]]
    with pytest.raises(ValueError, match="shape"):
        index.upsert(1, _rows(_unit(1, 0)))
    with pytest.raises(ValueError):
        PhrasingIndex(0)


def test_saved_index_loads_only_with_matching_model_and_fingerprint(tmp_path: Path) -> None:
    index = PhrasingIndex(2)
    index.upsert(7, _rows(_unit(1, 0)))
    meta = IndexMeta(model="m", dimension=2, fingerprint="abc")
    index.save(tmp_path, meta)
    loaded = PhrasingIndex.load(tmp_path, meta)
    assert loaded.search(_rows(_unit(1, 0)), entries=1)[0][0].entry_id == 7
    loaded.remove(7)
    assert loaded.size == 0
    with pytest.raises(IndexMismatchError, match="model 'm' != 'other'"):
        PhrasingIndex.load(tmp_path, IndexMeta(model="other", dimension=2, fingerprint="abc"))
    with pytest.raises(IndexMismatchError, match="fingerprint"):
        PhrasingIndex.load(tmp_path, IndexMeta(model="m", dimension=2, fingerprint="new"))
    with pytest.raises(IndexMismatchError, match="no index"):
        PhrasingIndex.load(tmp_path / "missing", meta)
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(IndexMismatchError, match="unreadable"):
        PhrasingIndex.load(tmp_path, meta)
