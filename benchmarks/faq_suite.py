"""Every dev FAQ in evals/ decided the way `firstline eval` decides it, reported per FAQ and per
language (the hold-outs only with --holdout, which a session asks once). With --trade-off, per
answer threshold, what the FAQ's self-calibration rehearsal expects against what its questions get.

    .venv/bin/python -m benchmarks.faq_suite [--holdout] [--trade-off] [FILE ...]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from core.settings import Settings, get_settings
from firstline.assembly import configured_embedder
from retrieval.embedder import Embedder
from retrieval.evaluation import EvalFile, measure
from retrieval.scratch import EvalRun, run_eval, scratch_decisions
from retrieval.self_calibration import estimate, rehearse

EVALS = Path(__file__).resolve().parents[1] / "evals"
COLUMNS = ("self_service", "assisted", "wrong_answer", "uncovered_declined", "human_handoff")
ANSWER_MINS = (0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99)


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


async def trade_off(settings: Settings, eval_file: EvalFile, embedder: Embedder) -> None:
    """Answered right / wrong answers / uncovered declined at each answer threshold: expected by
    the rehearsal (with the wrong answers' upper bound) against the file's questions."""
    queries = eval_file.queries
    print(f"\n{eval_file.name}: expected (wrong answers at most, 90 %) | measured, in %")
    async with scratch_decisions(settings, eval_file.faq, embedder) as decisions:
        engine = decisions.engine
        base = engine.policy.thresholds
        rehearsal = await asyncio.to_thread(rehearse, list(engine.entries.values()), embedder, base)
        prepared = await asyncio.to_thread(engine.prepare_batch, [query.text for query in queries])
        for answer_min in ANSWER_MINS:
            thresholds = base.model_copy(
                update={
                    "answer_min": answer_min,
                    "answer_margin": 0.0,
                    "clarify_min": min(base.clarify_min, answer_min),
                }
            )
            expected = estimate(
                rehearsal,
                thresholds,
                source="trade-off",
                budget=settings.wrong_answer_budget,
                fingerprint=engine.fingerprint,
            )
            measured = measure(
                [query.expected for query in queries],
                [engine.conclude(item, thresholds) for item in prepared],
            )
            print(
                f"  answer at {answer_min:.2f}: "
                f"{expected.answered_right.value * 100:5.1f} / "
                f"{expected.wrong_answers.value * 100:4.1f} ({expected.wrong_answers.high * 100:4.1f}) / "
                f"{expected.uncovered_declined.value * 100:5.1f} | "
                f"{measured.self_service * 100:5.1f} / {measured.wrong_answer * 100:4.1f} / "
                f"{measured.uncovered_declined * 100:5.1f}"
            )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--holdout", action="store_true", help="the hold-outs instead (once)")
    parser.add_argument("--trade-off", action="store_true", help="expected against measured")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    settings = get_settings()
    embedder = configured_embedder(settings)
    for path in args.files or dev_files(args.holdout):
        eval_file = EvalFile.model_validate_json(path.read_text(encoding="utf-8"))
        if args.trade_off:
            await trade_off(settings, eval_file, embedder)
        else:
            report(await run_eval(settings, eval_file, embedder))


if __name__ == "__main__":
    asyncio.run(main())
