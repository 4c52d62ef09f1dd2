"""The bundled model's transformer on ONNX Runtime, inside a sentence-transformers pipeline.

PyTorch spends most of a one-message embedding on per-operator overhead; ONNX Runtime runs the
same graph with the same weights 2-3 times faster on one thread (benchmarks/speed.py prints both
in one run) and gives the same vectors. The graph is exported once, when the model folder is
prepared, and checked against PyTorch before it is kept. Mean pooling, normalising and the
``query: `` / ``passage: `` prompts stay sentence-transformers' own modules; tokenizing is
sentencepiece's, on the model the converter writes (the same ids as ``tokenizer.json`` for
every text of the eval files, a fifth of its memory).

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
import shutil
import struct
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sentence_transformers.base.modules import InputModule

from retrieval.errors import ModelLoadError, ModelPreparationError
from retrieval.model_prep import SENTENCEPIECE_FILE

logger = logging.getLogger(__name__)

ONNX_FILE = "onnx/model.onnx"
TOKEN_TABLE_FILE = "onnx/token_table.json"
_WEIGHTS_FILE = "model.safetensors"
# The weights beside the graph, not inside it: ONNX Runtime maps such a file instead of copying
# it (measured with the token table still in the graph: the session's resident memory 527 MB,
# peak 887 → 162 MB; loading 1.3 → 0.3 s).
ONNX_WEIGHTS_FILE = "model.onnx_data"
_OPSET = 17
# Texts of different lengths in one padded batch: the check covers padding and truncation.
_CHECK_TEXTS = (
    "query: как вернуть деньги за заказ",
    "query: where is my parcel? it was due yesterday and the tracking page says nothing at all",
    "query: з людиною",
)
MIN_CHECK_COSINE = 0.9999
MAX_ATTENTION_CELLS = 512 * 512  # per run: one text of 512 tokens, or 655 of 20


def export_onnx(model_dir: Path) -> Path:
    """Trace the transformer of the sentence-transformers folder ``model_dir`` into
    ``model_dir/onnx/model.onnx``; raise ModelPreparationError if ONNX Runtime's vectors differ."""
    import onnx
    import torch
    from transformers import AutoModel, AutoTokenizer

    target = model_dir / ONNX_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    traced = target.with_name("traced.onnx")
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    sample = tokenizer(list(_CHECK_TEXTS), padding=True, return_tensors="pt")
    _write_token_table_entry(model_dir, model.get_input_embeddings().weight.detach().numpy())

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor
        ) -> torch.Tensor:
            # Zeros made from the input's shape: BERT's own default slices a fixed-size buffer,
            # which the tracer records for the sample's length only.
            return self.model(
                inputs_embeds=inputs_embeds,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(attention_mask),
            ).last_hidden_state

    axes = {0: "batch", 1: "tokens"}
    embedded = model.get_input_embeddings()(sample["input_ids"])
    # The tracer warns about shapes it records as constants; the vector check below is the test.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _mean_pooled(model(**sample).last_hidden_state.numpy(), sample["attention_mask"])
        torch.onnx.export(
            LastHiddenState().eval(),
            (embedded, sample["attention_mask"]),
            str(traced),
            input_names=["inputs_embeds", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"inputs_embeds": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=_OPSET,
            dynamo=False,
        )
    onnx.save_model(
        onnx.load(str(traced)),
        str(target),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=ONNX_WEIGHTS_FILE,
    )
    traced.unlink()
    session = _session(target, threads=1)
    got = _mean_pooled(_run(session, TokenTable(model_dir), sample), sample["attention_mask"])
    worst = float(np.min(np.sum(expected * got, axis=1)))
    if worst < MIN_CHECK_COSINE:
        shutil.rmtree(target.parent)
        raise ModelPreparationError(
            f"the ONNX export of {model_dir} does not reproduce PyTorch's vectors "
            f"(cosine {worst:.5f}): this torch / onnxruntime pair is broken; install the "
            "versions pyproject.toml names, or report it with the output of `pip list`"
        )
    return target


def _session(path: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _run(session: Any, table: TokenTable, features: dict[str, Any]) -> np.ndarray:
    """The token embeddings of a padded batch, computed a few rows at a time when the texts are
    long: attention holds rows x tokens² scores, and ONNX Runtime's arena keeps the memory it once
    took (measured, 64 texts of 512 tokens: in one run the process peaked at 4.1 GB, one text per
    run 1.1 GB and faster; without the arena it peaked at 1.3-1.5 GB and ran 2x slower)."""
    ids, mask = (
        np.asarray(features[name], dtype=np.int64) for name in ("input_ids", "attention_mask")
    )
    rows = max(1, MAX_ATTENTION_CELLS // max(ids.shape[1], 1) ** 2)
    parts = [
        session.run(
            ["last_hidden_state"],
            {
                "inputs_embeds": table.rows(ids[start : start + rows]),
                "attention_mask": mask[start : start + rows],
            },
        )[0]
        for start in range(0, len(ids), rows)
    ]
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _write_token_table_entry(model_dir: Path, table: np.ndarray) -> None:
    """Record where ``model.safetensors`` keeps the token table: the tensor equal to ``table``."""
    weights = model_dir / _WEIGHTS_FILE
    with weights.open("rb") as handle:
        (header_size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_size))
        for name, tensor in header.items():
            if name == "__metadata__" or tensor["dtype"] != "F32":
                continue
            if tuple(tensor["shape"]) != table.shape:
                continue
            offset = 8 + header_size + tensor["data_offsets"][0]
            handle.seek(offset)
            if np.array_equal(np.frombuffer(handle.read(table.nbytes), "<f4"), table.ravel()):
                rows, dimension = table.shape
                entry = {"file": _WEIGHTS_FILE, "tensor": name, "offset": offset}
                entry |= {"rows": rows, "dim": dimension}
                (model_dir / TOKEN_TABLE_FILE).write_text(json.dumps(entry, indent=2), "utf-8")
                return
    raise ModelPreparationError(f"{weights} holds no float32 copy of the model's token table")


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


def _mean_pooled(hidden: np.ndarray, mask: Any) -> np.ndarray:
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

        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length)
        pad_token = _read_json(model_dir / "tokenizer_config.json").get("pad_token", "<pad>")
        pad_id = self._tokenizer.token_to_id(pad_token)
        if pad_id is None:
            raise ModelLoadError(f"{model_dir / 'tokenizer.json'} has no padding token {pad_token}")
        self.pad_id = pad_id

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]


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


def onnx_sentence_transformer(model_dir: Path, threads: int) -> Any:
    """The sentence-transformers model of ``model_dir`` with its transformer on ONNX Runtime."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize
    from sentence_transformers.sentence_transformer.modules import Pooling

    encoder = OnnxTransformer(model_dir, threads=threads)
    pooling = Pooling.load(str(model_dir), subfolder="1_Pooling")
    config = _read_json(model_dir / "config_sentence_transformers.json")
    return SentenceTransformer(
        modules=[encoder, pooling, Normalize()],
        device="cpu",
        prompts=config.get("prompts"),
        similarity_fn_name=config.get("similarity_fn_name"),
    )


class OnnxTransformer(InputModule):
    """A sentence-transformers input module: the tokenizer of ``model_dir`` and its exported
    graph, giving the token embeddings the Pooling module averages."""

    def __init__(self, model_dir: Path, *, threads: int = 1) -> None:
        super().__init__()
        path = model_dir / ONNX_FILE
        if not path.is_file() or not (model_dir / TOKEN_TABLE_FILE).is_file():
            raise ModelLoadError(f"{path} is missing: run `firstline model prepare`")
        config = _read_json(model_dir / "config.json")
        self._dimension = int(config["hidden_size"])
        self.max_seq_length = _max_tokens(model_dir, int(config["max_position_embeddings"]))
        self.piece_tokenizer = _tokenizer(model_dir, self.max_seq_length)
        self._session = _session(path, threads)
        self._table = TokenTable(model_dir)

    def preprocess(
        self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        import torch

        texts = [str(text) for text in inputs]
        if prompt:
            texts = self._prepend_prompt(texts, prompt)
        ids, mask = _padded(self.piece_tokenizer.token_ids(texts), self.piece_tokenizer.pad_id)
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        import torch

        features["token_embeddings"] = torch.from_numpy(_run(self._session, self._table, features))
        return features

    @property
    def session_threads(self) -> int:
        """The CPU threads ONNX Runtime computes one batch on."""
        return int(self._session.get_session_options().intra_op_num_threads)

    def get_embedding_dimension(self) -> int:
        return self._dimension

    def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "an ONNX model is rebuilt from its PyTorch folder by `firstline model prepare`; "
            "save that folder instead"
        )
