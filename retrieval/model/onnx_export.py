"""The transformer of a prepared folder exported for ONNX Runtime, its matrices in the 4-bit blocks
they came from (onnx_blocks.py), checked against PyTorch's vectors before it is kept; the token
table stays in ``model.safetensors`` and the export records where."""

from __future__ import annotations

import json
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np

from retrieval.errors import ModelPreparationError
from retrieval.model.layout import ONNX_FILE, ONNX_WEIGHTS_FILE, TOKEN_TABLE_FILE, WEIGHTS_FILE
from retrieval.model.onnx_blocks import pack_matmuls_as_q4_blocks
from retrieval.onnx_encoder import TokenTable, mean_pooled, open_session, run_graph

_OPSET = 17
# Texts of different lengths in one padded batch: the check covers padding and truncation.
_CHECK_TEXTS = (
    "query: как вернуть деньги за заказ",
    "query: where is my parcel? it was due yesterday and the tracking page says nothing at all",
    "query: з людиною",
)
MIN_CHECK_COSINE = 0.9999


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
        expected = mean_pooled(model(**sample).last_hidden_state.numpy(), sample["attention_mask"])
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
    graph = onnx.load(str(traced))
    pack_matmuls_as_q4_blocks(graph)
    onnx.save_model(
        graph,
        str(target),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=ONNX_WEIGHTS_FILE,
    )
    traced.unlink()
    session = open_session(target, threads=1)
    got = mean_pooled(run_graph(session, TokenTable(model_dir), sample), sample["attention_mask"])
    worst = float(np.min(np.sum(expected * got, axis=1)))
    if worst < MIN_CHECK_COSINE:
        shutil.rmtree(target.parent)
        raise ModelPreparationError(
            f"the ONNX export of {model_dir} does not reproduce PyTorch's vectors "
            f"(cosine {worst:.5f}): this torch / onnxruntime pair is broken; install the "
            "versions pyproject.toml names, or report it with the output of `pip list`"
        )
    return target


def _write_token_table_entry(model_dir: Path, table: np.ndarray) -> None:
    """Record where ``model.safetensors`` keeps the token table: the tensor equal to ``table``."""
    weights = model_dir / WEIGHTS_FILE
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
                entry = {"file": WEIGHTS_FILE, "tensor": name, "offset": offset}
                entry |= {"rows": rows, "dim": dimension}
                (model_dir / TOKEN_TABLE_FILE).write_text(json.dumps(entry, indent=2), "utf-8")
                return
    raise ModelPreparationError(f"{weights} holds no float32 copy of the model's token table")
