"""The bundled model serves on ONNX Runtime alone: PyTorch, transformers and sentence-transformers
stay out of the serving process, and its vectors are sentence-transformers' own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.settings import DEFAULT_EMBEDDING_MODEL
from retrieval.evaluation import EvalFile
from retrieval.loading import load_embedder
from retrieval.model.layout import BUNDLED_MODEL_FOLDER
from retrieval.model.onnx_export import MIN_CHECK_COSINE
from retrieval.reference_cache import REFERENCE_FILE
from tests.support.processes import (
    BUNDLED_MODELS_DIR,
    ROOT,
    free_port,
    start_firstline,
    stop_firstline,
)

pytestmark = pytest.mark.model
HEAVY_PACKAGES = ("torch", "transformers", "sentence_transformers")


def _serving_env(data_dir: Path) -> dict[str, str]:
    return {
        **{name: value for name, value in os.environ.items() if not name.startswith("FIRSTLINE_")},
        "FIRSTLINE_DATA_DIR": str(data_dir),
        "FIRSTLINE_MODELS_DIR": str(BUNDLED_MODELS_DIR),
    }


def test_firstline_run_maps_no_pytorch_and_starts_again_without_embedding_its_references(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = _serving_env(tmp_path / "data") | {"FIRSTLINE_API_PORT": str(port)}
    stored = tmp_path / "data" / "index" / REFERENCE_FILE
    for start in ("first", "again"):
        process = start_firstline(env, port)
        try:
            maps = Path(f"/proc/{process.pid}/maps").read_text()
            assert "libtorch" not in maps, f"{start} start"
            assert "onnxruntime" in maps
        finally:
            stop_firstline(process)
        if start == "first":
            written = stored.stat().st_mtime_ns
    assert stored.stat().st_mtime_ns == written  # nothing changed: nothing embedded or written


def test_the_serving_path_imports_none_of_the_pytorch_stack(tmp_path: Path) -> None:
    """What `firstline run` loads, and a decision made: the heavy packages' modules stay out."""
    code = f"""
import asyncio, json, sys
import uvicorn
from admin_api.app import create_app
from bot.application import BotRunner
from core.settings import get_settings
from firstline.assembly import open_services

async def main():
    services = await open_services(get_settings(), load_demo=True)
    create_app(services)
    decision = await services.decisions.decide("не могу отменить подписку")
    await services.close()
    return decision.decision.value

outcome = asyncio.run(main())
heavy = sorted(name for name in sys.modules if name.split(".")[0] in {HEAVY_PACKAGES!r})
print(json.dumps({{"outcome": outcome, "heavy": heavy}}))
"""
    found = subprocess.run(
        [sys.executable, "-c", code],
        env=_serving_env(tmp_path / "data"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert found.returncode == 0, found.stderr[-3000:]
    report = json.loads(found.stdout.splitlines()[-1])
    assert report["outcome"] in ("answer", "clarify")
    assert report["heavy"] == []


def test_the_onnx_pipeline_gives_sentence_transformers_vectors_on_every_eval_text() -> None:
    from sentence_transformers import SentenceTransformer

    questions: list[str] = []
    passages: list[str] = []
    for path in sorted((ROOT / "evals").glob("*.json")):
        eval_file = EvalFile.model_validate_json(path.read_bytes())
        questions += [query.text for query in eval_file.queries]
        for entry in eval_file.faq:
            questions += [entry.question, *entry.alt_questions]
            passages.append(f"{entry.question}\n{entry.answer}")
    ours = load_embedder(DEFAULT_EMBEDDING_MODEL, BUNDLED_MODELS_DIR, runtime="onnx")
    reference = SentenceTransformer(str(BUNDLED_MODELS_DIR / BUNDLED_MODEL_FOLDER), device="cpu")
    for texts, prompt_name, is_passage in (
        (questions, "query", False),
        (passages, "document", True),
    ):
        expected = reference.encode(texts, prompt_name=prompt_name, normalize_embeddings=True)
        cosines = np.sum(ours.encode(texts, passages=is_passage) * expected, axis=1)
        worst = int(np.argmin(cosines))
        assert cosines[worst] >= MIN_CHECK_COSINE, f"{texts[worst]!r}: cosine {cosines[worst]}"
