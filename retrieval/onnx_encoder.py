"""The bundled model on ONNX Runtime: the embedder that serves with it alone.

PyTorch spends most of a one-message embedding on per-operator overhead; ONNX Runtime runs the
same graph with the same weights 2-3 times faster on one thread (benchmarks/speed.py prints both
in one run) and gives the same vectors. The graph is exported once, when the model folder is
prepared, and checked against PyTorch before it is kept (:mod:`retrieval.model.onnx_export`). Serving needs neither PyTorch nor
sentence-transformers: tokenizing is sentencepiece's, on the model the converter writes (the
same ids as ``tokenizer.json`` for every text of the eval files, a fifth of its memory), and
the prompts, mean pooling and normalisation are a few lines of numpy (:class:`OnnxEmbedder`).

The graph starts after the token lookup: the 250k x 384 token table (four fifths of the
weights) stays in ``model.safetensors`` and the rows a batch needs are read from it
(:class:`TokenTable`). Mapped into the process, the table's pages counted in its resident memory
as they were touched, and on a freshly written file the kernel maps whole large folios at a
time (measured right after `firstline model prepare`: 344 MB of the table resident, 64 MB once
the page cache had been refilled by reading; read row by row: none).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

from retrieval.embedder import MAX_EMBED_CHARS, Vectors, side_prompts
from retrieval.errors import ModelLoadError
from retrieval.model.layout import ONNX_FILE, SENTENCEPIECE_FILE, TOKEN_TABLE_FILE
from retrieval.native_memory import trim_native_heap

logger = logging.getLogger(__name__)

MAX_ATTENTION_CELLS = 512 * 512  # per run: one text of 512 tokens, or 655 of 20
MAX_ARENA_KEPT_TOKENS = 128  # a run of more tokens (all rows) gives its memory back afterwards


def open_session(path: Path, threads: int) -> Any:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_graph(session: Any, table: TokenTable, features: dict[str, Any]) -> np.ndarray:
    """The token embeddings of a padded batch, computed a few rows at a time when the texts are
    long: attention holds rows x tokens² scores, and ONNX Runtime's arena keeps the memory it once
    took (measured, 64 texts of 512 tokens: in one run the process peaked at 4.1 GB, one text per
    run 1.1 GB and faster; without the arena it peaked at 1.3-1.5 GB and ran 2x slower).

    After a run larger than a few messages the arena hands back what it took, and the heap is
    trimmed: an index build or a burst of messages otherwise left 50-60 MB more resident for the
    process's lifetime (measured; one message's run keeps its arena, and its speed)."""
    ids, mask = (
        np.asarray(features[name], dtype=np.int64) for name in ("input_ids", "attention_mask")
    )
    large = ids.size > MAX_ARENA_KEPT_TOKENS
    options = onnxruntime.RunOptions()
    if large:
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    rows = max(1, MAX_ATTENTION_CELLS // max(ids.shape[1], 1) ** 2)
    parts = [
        session.run(
            ["last_hidden_state"],
            {
                "inputs_embeds": table.rows(ids[start : start + rows]),
                "attention_mask": mask[start : start + rows],
            },
            options,
        )[0]
        for start in range(0, len(ids), rows)
    ]
    if large:
        trim_native_heap()
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


class TokenTable:
    """The rows of the token-embedding table a batch needs, read from the weights file with one
    positional read each (thread-safe, and nothing of the table stays in memory)."""

    def __init__(self, model_dir: Path) -> None:
        entry = _read_json(model_dir / TOKEN_TABLE_FILE)
        self._rows, self._dimension = int(entry["rows"]), int(entry["dim"])
        self._offset = int(entry["offset"])
        self._row_bytes = 4 * self._dimension
        self._file = (model_dir / str(entry["file"])).open("rb", buffering=0)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """``ids`` (batch x tokens) as a float32 array of their rows (batch x tokens x dim)."""
        unique, inverse = np.unique(ids, return_inverse=True)
        if len(unique) and not 0 <= unique[0] <= unique[-1] < self._rows:
            raise ValueError(f"token ids outside the table of {self._rows} rows")
        found = np.empty((len(unique), self._dimension), dtype=np.float32)
        descriptor = self._file.fileno()
        for row, token in enumerate(unique.tolist()):
            data = os.pread(descriptor, self._row_bytes, self._offset + token * self._row_bytes)
            found[row] = np.frombuffer(data, dtype="<f4")
        return found[inverse.reshape(ids.shape)]


def mean_pooled(hidden: np.ndarray, mask: Any) -> np.ndarray:
    weights = np.asarray(mask, dtype=np.float32)[..., np.newaxis]
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def _read_json(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text("utf-8"))
    return document if isinstance(document, dict) else {}


def _max_tokens(model_dir: Path, positions: int) -> int:
    """The window sentence-transformers truncates to: the folder's ``max_seq_length`` (older
    folders) or the tokenizer's ``model_max_length``, never more than the model's positions."""
    window = _read_json(model_dir / "sentence_bert_config.json").get("max_seq_length")
    if window is None:
        window = _read_json(model_dir / "tokenizer_config.json").get("model_max_length")
    return min(int(window or positions), positions)


class _SentencePieceTokenizer:
    """The folder's sentencepiece model (the bundled model's converter writes one): its trie
    holds 55 MB where ``tokenizers``' holds 282 MB for the same 250k pieces. Text that spells a
    special token (``<s>``, ``<mask>``) stays text."""

    def __init__(self, path: Path, max_length: int) -> None:
        import sentencepiece

        self._model = sentencepiece.SentencePieceProcessor(model_file=str(path))
        self._max_pieces = max_length - 2
        self._bos, self._eos = int(self._model.bos_id()), int(self._model.eos_id())
        self.pad_id = int(self._model.pad_id())

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        return [
            [self._bos, *ids[: self._max_pieces], self._eos] for ids in self._model.encode(texts)
        ]


class _JsonTokenizer:
    """The folder's ``tokenizer.json`` read by ``tokenizers`` itself: transformers' wrapper
    around the same file holds twice its memory (measured: 560 vs 280 MB)."""

    def __init__(self, model_dir: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        pad_token = _read_json(model_dir / "tokenizer_config.json").get("pad_token", "<pad>")
        pad_id = self.tokenizer.token_to_id(pad_token)
        if pad_id is None:
            raise ModelLoadError(f"{model_dir / 'tokenizer.json'} has no padding token {pad_token}")
        self.pad_id = pad_id

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]


def _tokenizer(model_dir: Path, max_length: int) -> _SentencePieceTokenizer | _JsonTokenizer:
    sentencepiece_model = model_dir / SENTENCEPIECE_FILE
    if sentencepiece_model.is_file():
        return _SentencePieceTokenizer(sentencepiece_model, max_length)
    return _JsonTokenizer(model_dir, max_length)


def _padded(rows: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded to the longest row, and the mask of real tokens."""
    width = max((len(row) for row in rows), default=0)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for number, row in enumerate(rows):
        ids[number, : len(row)] = row
        mask[number, : len(row)] = 1
    return ids, mask


class OnnxEmbedder:
    """The bundled model on ONNX Runtime alone: sentencepiece, the token table, the graph, mean
    pooling and normalisation in numpy, with the folder's own ``query: `` / ``passage: ``
    prompts. It gives sentence-transformers' vectors (tests/retrieval/test_lean_serving.py checks every
    eval text) without importing PyTorch, which held ~400 MB of the serving process."""

    def __init__(
        self, name: str, model_dir: Path, *, threads: int = 1, batch_size: int = 64
    ) -> None:
        path = model_dir / ONNX_FILE
        if not path.is_file() or not (model_dir / TOKEN_TABLE_FILE).is_file():
            raise ModelLoadError(f"{path} is missing: run `firstline model prepare`")
        _check_mean_pooled(model_dir)
        config = _read_json(model_dir / "config.json")
        self._name = name
        self._dimension = int(config["hidden_size"])
        self._batch_size = batch_size
        prompts = _read_json(model_dir / "config_sentence_transformers.json").get("prompts") or {}
        self._prompts = {
            passages: str(prompts.get(name) or "")
            for passages, name in zip((False, True), side_prompts(prompts), strict=True)
        }
        window = _max_tokens(model_dir, int(config["max_position_embeddings"]))
        self.tokenizer = _tokenizer(model_dir, window)
        self._session = open_session(path, threads)
        self._table = TokenTable(model_dir)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def session_threads(self) -> int:
        """The CPU threads ONNX Runtime computes one batch on."""
        return int(self._session.get_session_options().intra_op_num_threads)

    def encode(
        self,
        texts: Sequence[str],
        *,
        passages: bool = False,
        languages: Sequence[str | None] | None = None,
    ) -> Vectors:
        prompt = self._prompts[passages]
        rows = self.tokenizer.token_ids([prompt + text[:MAX_EMBED_CHARS] for text in texts])
        vectors = np.zeros((len(rows), self._dimension), dtype=np.float32)
        # Longest first, as sentence-transformers batches: texts of a batch pad to alike lengths.
        order = sorted(range(len(rows)), key=lambda row: -len(rows[row]))
        for start in range(0, len(order), self._batch_size):
            chosen = order[start : start + self._batch_size]
            ids, mask = _padded([rows[row] for row in chosen], self.tokenizer.pad_id)
            hidden = run_graph(
                self._session, self._table, {"input_ids": ids, "attention_mask": mask}
            )
            vectors[chosen] = mean_pooled(hidden, mask)
        return vectors


def _check_mean_pooled(model_dir: Path) -> None:
    """The folder's sentence-transformers modules must be what :class:`OnnxEmbedder` computes:
    mean pooling over every token (the prompt's too), then normalisation."""
    pooling = _read_json(model_dir / "1_Pooling" / "config.json")
    modules = json.loads((model_dir / "modules.json").read_text("utf-8"))
    normalised = any(str(module.get("type", "")).endswith("Normalize") for module in modules)
    mean_pooled = _pooling_modes(pooling) in ({"mean"}, {"mean_tokens"})
    if not (mean_pooled and normalised and pooling.get("include_prompt", True)):
        raise ModelLoadError(
            f"{model_dir} is not mean-pooled and normalised as ONNX Runtime's pipeline computes: "
            "set FIRSTLINE_EMBEDDING_RUNTIME=torch"
        )


def _pooling_modes(pooling: dict[str, Any]) -> set[str]:
    """``{"pooling_mode": "mean"}`` (sentence-transformers 6) or ``pooling_mode_*`` flags."""
    named = pooling.get("pooling_mode")
    if named is not None:
        return {named} if isinstance(named, str) else set(named)
    return {
        key.removeprefix("pooling_mode_")
        for key, value in pooling.items()
        if key.startswith("pooling_mode_") and value
    }
