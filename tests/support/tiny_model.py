"""A tiny sentence-transformers model built on the spot (random weights, word-level vocabulary)."""

from __future__ import annotations

from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers import models as st_models
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

HIDDEN = 16


def build_tiny_model(folder: Path, words: list[str]) -> Path:
    """Save a 1-layer, 16-dimensional BERT with mean pooling; returns the model folder."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    vocabulary = {token: number for number, token in enumerate(specials + sorted(set(words)))}
    tokenizer = Tokenizer(WordLevel(vocabulary, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )
    config = BertConfig(
        vocab_size=len(vocabulary),
        hidden_size=HIDDEN,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    transformer_dir = folder / "transformer"
    BertModel(config).save_pretrained(transformer_dir)
    fast.save_pretrained(transformer_dir)
    model = SentenceTransformer(
        modules=[
            st_models.Transformer(str(transformer_dir), max_seq_length=64),
            st_models.Pooling(HIDDEN, pooling_mode="mean"),
            st_models.Normalize(),
        ],
        device="cpu",
    )
    target = folder / "tiny-model"
    model.save(str(target))
    return target
