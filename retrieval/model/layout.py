"""The prepared model folder: where it lives, the names serving reads, how its JSON is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

BUNDLED_MODEL_FOLDER = "multilingual-e5-small"  # under the models directory
SENTENCEPIECE_FILE = "sentencepiece.model"
WEIGHTS_FILE = "model.safetensors"
ONNX_FILE = "onnx/model.onnx"
TOKEN_TABLE_FILE = "onnx/token_table.json"  # where in WEIGHTS_FILE the token table lies
# The weights beside the graph, not inside it: ONNX Runtime maps such a file instead of copying
# it (measured with the token table still in the graph: the session's resident memory 527 MB,
# peak 887 → 162 MB; loading 1.3 → 0.3 s).
ONNX_WEIGHTS_FILE = "model.onnx_data"

QUERY_PROMPT = "query: "
DOCUMENT_PROMPT = "passage: "

Progress = Callable[[str], None]


def write_json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
