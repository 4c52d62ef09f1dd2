"""Every dev FAQ in evals/ decided the way `firstline eval` decides it, reported per FAQ and per
language (the hold-outs only with --holdout, which a session asks once).

    .venv/bin/python -m benchmarks.faq_suite [--holdout] [FILE ...]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from core.settings import get_settings
from firstline.assembly import configured_embedder
from retrieval.evaluation import EvalFile, measure
from retrieval.scratch import EvalRun, run_eval

EVALS = Path(__file__).resolve().parents[1] / "evals"
COLUMNS = ("self_service", "assisted", "wrong_answer", "uncovered_declined", "human_handoff")


def dev_files(holdout: bool) -> list[Path]:
    return sorted(
        path for path in EVALS.glob("*.json") if path.name.startswith("holdout") == holdout
    )


def report(run: EvalRun) -> None:
    queries = run.eval_file.queries
    languages = sorted({query.lang or "?" for query in queries})
    print(f"\n{run.eval_file.name}: {len(queries)} queries, {len(run.eval_file.faq)} entries")
    print(f"  {'lang':<5}" + "".join(f"{name:>20}" for name in COLUMNS) + f"{'queries':>9}")
    for language in [*languages, "all"]:
        chosen = [i for i, q in enumerate(queries) if language in ("all", q.lang or "?")]
        metrics = measure([queries[i].expected for i in chosen], [run.decisions[i] for i in chosen])
        values = metrics.as_dict()
        print(
            f"  {language:<5}"
            + "".join(f"{values[name] * 100:>19.1f}%" for name in COLUMNS)
            + f"{metrics.queries:>9}"
        )
    if run.calibration is not None:
        print(f"  the engine {run.calibration.summary()}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--holdout", action="store_true", help="the hold-outs instead (once)")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    settings = get_settings()
    embedder = configured_embedder(settings)
    for path in args.files or dev_files(args.holdout):
        eval_file = EvalFile.model_validate_json(path.read_text(encoding="utf-8"))
        report(await run_eval(settings, eval_file, embedder))


if __name__ == "__main__":
    asyncio.run(main())
