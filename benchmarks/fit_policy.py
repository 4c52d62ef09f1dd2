"""Fits the confidence model's weights (retrieval/policy.py WEIGHTS, BIAS) on training data only:
our dev set (evals/dev.json) and CLINC150's validation splits — never a test split or the hold-out.

Every candidate the engine finds for a question is one example, labelled by whether it is the
right entry; each source weighs the same. Prints the weights to paste into policy.py and the
per-feature ranking quality (AUC), so a feature that stops helping is seen.

    .venv/bin/python -m benchmarks.fit_policy [--dev evals/dev.json] [--clinc-limit 1500]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from benchmarks.clinc150 import DATA, faq_from_intents, off_topic_references, queries
from core.settings import get_settings
from firstline.assembly import configured_embedder
from retrieval.calibration import effective_thresholds
from retrieval.embedder import Embedder
from retrieval.engine import AnswerEngine
from retrieval.entries import IndexedEntry
from retrieval.evaluation import EvalFile, EvalQuery
from retrieval.policy import FEATURES

ROOT = Path(__file__).resolve().parents[1]
# Each question's top candidates are examples: the model both ranks an entry above its close
# neighbours and says how sure the top one is.
CANDIDATES = 3


def examples(engine: AnswerEngine, asked: list[EvalQuery]) -> tuple[np.ndarray, np.ndarray]:
    keys = {entry.id: entry.key for entry in engine.entries.values()}
    rows, labels = [], []
    for query, prepared in zip(asked, engine.prepare_batch([q.text for q in asked]), strict=True):
        for evidence in prepared.evidence[:CANDIDATES]:
            rows.append([evidence.features[name] for name in FEATURES])
            labels.append(keys[evidence.entry_id] == query.expected)
    return np.array(rows), np.array(labels)


def dev_examples(embedder: Embedder, path: Path) -> tuple[np.ndarray, np.ndarray]:
    eval_file = EvalFile.model_validate_json(path.read_bytes())
    engine = AnswerEngine(embedder, thresholds=effective_thresholds(get_settings()))
    engine.rebuild(
        [
            IndexedEntry(n, e.key, e.question, e.answer, e.language or "ru", tuple(e.alt_questions))
            for n, e in enumerate(eval_file.faq, start=1)
        ]
    )
    return examples(engine, eval_file.queries)


def clinc_examples(embedder: Embedder, phrasings: int, limit: int) -> tuple[np.ndarray, np.ndarray]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    engine = AnswerEngine(
        embedder,
        thresholds=effective_thresholds(get_settings()),
        off_topic=off_topic_references(data),
    )
    engine.rebuild(faq_from_intents(data["train"], phrasings))
    return examples(engine, queries(data["val"], data["oos_val"], limit))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dev", type=Path, nargs="*", default=[ROOT / "evals" / "dev.json"])
    parser.add_argument("--clinc-limit", type=int, default=1500)
    args = parser.parse_args()
    settings = get_settings()
    embedder = configured_embedder(settings)
    sources = {
        "clinc-10": clinc_examples(embedder, 10, args.clinc_limit),
        "clinc-100": clinc_examples(embedder, 100, args.clinc_limit),
    }
    for path in args.dev:
        sources[path.stem] = dev_examples(embedder, path)
    features = np.vstack([x for x, _ in sources.values()])
    labels = np.concatenate([y for _, y in sources.values()])
    weights = np.concatenate([np.full(len(y), 1 / len(y)) for _, y in sources.values()])
    model = LogisticRegression(C=10.0, max_iter=2000).fit(
        features, labels, sample_weight=weights * len(labels)
    )
    print(
        "| source | examples | right | "
        + " | ".join(f"AUC {name}" for name in FEATURES)
        + " | AUC model |"
    )
    print("|---|---|---|" + "---|" * (len(FEATURES) + 1))
    for name, (x, y) in sources.items():
        aucs = [roc_auc_score(y, x[:, column]) for column in range(len(FEATURES))]
        combined = roc_auc_score(y, model.decision_function(x))
        print(
            f"| {name} | {len(y)} | {int(y.sum())} | "
            + " | ".join(f"{a:.3f}" for a in aucs)
            + f" | {combined:.3f} |"
        )
    print("\nWEIGHTS = {")
    for name, weight in zip(FEATURES, model.coef_[0], strict=True):
        print(f'    "{name}": {weight:.3f},')
    print(f"}}\nBIAS = {model.intercept_[0]:.3f}")


if __name__ == "__main__":
    main()
