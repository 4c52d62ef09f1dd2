"""Learning from customers' choices, replayed: a stream of questions asked one after another,
where a simulated customer picks the right entry whenever "did you mean…" offers it, and says
"None of these" to options without it and 👎 to a wrong answer; each pick becomes a phrasing of
the entry as the product would make it one. Answered outright in the stream's second half
against its first says what the loop buys.

How picks become phrasings (one row each):
- ``none``: they do not (the same stream without learning: what the order alone does);
- ``labelled``: no editor acts; the picks, pending as proposals, are questions with a known right
  entry, and the rejected ones questions nothing offered fitted, that refine the
  self-calibration (handoff.insights.labels), as in the product (in every mode but ``none``);
- ``editor``: an editor accepts every proposal at once;
- ``auto-k``: by themselves, once k distinct customers picked the same entry for close wordings
  (cosine ≥ handoff.insights.choices.CLOSE_WORDINGS), every customer a different one; those still
  pending refine the self-calibration.

Thresholds: the FAQ's own self-calibration (retrieval.self_calibration, the product's default),
refitted at the halfway point when the FAQ or what is known of customers' questions has changed,
as the product refits.
FAQs: CLINC150 (10 train phrasings an intent; its test split with the out-of-scope questions,
shuffled) and our dev sets in evals/ (every query but requests for a person, shuffled; three
orders). Banking77 is never used.

    .venv/bin/python -m benchmarks.learning_replay [--clinc-limit N] [--orders 3] [--k 2]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from benchmarks.clinc150 import DATA, faq_from_intents, off_topic_references
from core.settings import DecisionThresholds, get_settings
from firstline.assembly import configured_embedder
from handoff.insights.choices import CLOSE_WORDINGS
from handoff.insights.clustering import wording
from retrieval.decision import Decision, Outcome
from retrieval.embedder import Embedder
from retrieval.engine import AnswerEngine
from retrieval.entries import IndexedEntry, load_off_topic_references
from retrieval.evaluation import HUMAN, EvalFile, EvalQuery, is_assisted, query_kind
from retrieval.self_calibration import LabelledQuestion, fit, rehearse

ROOT = Path(__file__).resolve().parents[1]
DEV_SETS = sorted((ROOT / "evals").glob("dev*.json"))


@dataclass
class Half:
    covered: int = 0
    answered_right: int = 0
    assisted: int = 0
    wrong: int = 0
    asked: int = 0
    uncovered: int = 0
    declined: int = 0

    def count(self, expected: str | None, decision: Decision) -> None:
        self.asked += 1
        answered = decision.decision is Outcome.ANSWER
        self.wrong += answered and decision.faq_key != expected
        if query_kind(expected) == "covered":
            self.covered += 1
            self.answered_right += answered and decision.faq_key == expected
            self.assisted += is_assisted(expected, decision)
        else:
            self.uncovered += 1
            self.declined += not answered

    def cells(self) -> str:
        return (
            f"{_share(self.answered_right, self.covered)} | {_share(self.assisted, self.covered)} | "
            f"{_share(self.wrong, self.asked)} | {_share(self.declined, self.uncovered)}"
        )


@dataclass
class Learner:
    """What becomes of the simulated customers' picks."""

    mode: str
    k: int
    embedder: Embedder
    pending: dict[str, list[tuple[int, str, np.ndarray]]] = field(default_factory=dict)
    labels: list[tuple[str, str | None]] = field(default_factory=list)
    learned: int = 0

    def picked(self, engine: AnswerEngine, customer: int, entry_key: str, text: str) -> None:
        if self.mode == "none":
            return
        if self.mode == "editor":
            self._publish(engine, entry_key, [text])
            return
        self.labels.append((text, entry_key))
        if self.mode == "labelled":
            return
        vector = self.embedder.encode([text])[0]
        waiting = [*self.pending.get(entry_key, []), (customer, text, vector)]
        close = [item for item in waiting if float(item[2] @ vector) >= CLOSE_WORDINGS]
        if len({who for who, _, _ in close}) >= self.k:
            self._publish(engine, entry_key, [phrase for _, phrase, _ in close])
            waiting = [item for item in waiting if item not in close]
        self.pending[entry_key] = waiting

    def rejected(self, text: str) -> None:
        """ "None of these" on the options, or 👎 on an answer: no entry offered was right."""
        if self.mode != "none":
            self.labels.append((text, None))

    def _publish(self, engine: AnswerEngine, entry_key: str, texts: Sequence[str]) -> None:
        entry = next(item for item in engine.entries.values() if item.key == entry_key)
        known = {wording(phrasing) for phrasing in entry.phrasings}
        new = [text for text in dict.fromkeys(texts) if wording(text) not in known]
        if new:
            engine.upsert(replace(entry, alt_questions=(*entry.alt_questions, *new)))
            self.learned += len(new)
        self.labels = [(text, key) for text, key in self.labels if text not in texts]

    def known(self, engine: AnswerEngine) -> list[LabelledQuestion]:
        """The picks still pending, as the product's calibration keeper reads them."""
        phrasings = {text for entry in engine.entries.values() for text in entry.phrasings}
        labels = [(text, key) for text, key in dict.fromkeys(self.labels) if text not in phrasings]
        prepared = engine.prepare_batch([text for text, _ in labels])
        return [
            LabelledQuestion(item, key) for item, (_, key) in zip(prepared, labels, strict=True)
        ]


def self_calibrated(
    engine: AnswerEngine,
    embedder: Embedder,
    budget: float,
    labelled: Sequence[LabelledQuestion] = (),
) -> DecisionThresholds:
    entries = list(engine.entries.values())
    base = DecisionThresholds()
    rehearsal = rehearse(entries, embedder, base)
    return fit(
        rehearsal, base, budget=budget, fingerprint=engine.fingerprint, labelled=labelled
    ).thresholds


def replay(
    entries: list[IndexedEntry],
    stream: list[EvalQuery],
    embedder: Embedder,
    learner: Learner,
    references: dict[str, list[str]],
    budget: float,
) -> tuple[Half, Half, DecisionThresholds, DecisionThresholds]:
    engine = AnswerEngine(embedder, thresholds=DecisionThresholds(), off_topic=references)
    engine.rebuild(entries)
    engine.policy.thresholds = first = self_calibrated(engine, embedder, budget)
    second = first
    halves = (Half(), Half())
    middle = len(stream) // 2
    for number, query in enumerate(stream):
        if number == middle and (learner.learned or learner.labels):
            known = learner.known(engine)
            engine.policy.thresholds = second = self_calibrated(engine, embedder, budget, known)
        decision = engine.decide(query.text, query.lang)
        halves[number >= middle].count(query.expected, decision)
        if decision.decision is Outcome.ANSWER and decision.faq_key != query.expected:
            learner.rejected(query.text)
        if decision.decision is not Outcome.CLARIFY:
            continue
        if any(c.faq_key == query.expected for c in decision.candidates):
            learner.picked(engine, number, str(query.expected), query.text)
        else:
            learner.rejected(query.text)
    return halves[0], halves[1], first, second


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def _thresholds(thresholds: DecisionThresholds) -> str:
    return f"{thresholds.answer_min:.3f}/{thresholds.answer_margin:.2f}"


def _dev_faq(eval_file: EvalFile) -> list[IndexedEntry]:
    return [
        IndexedEntry(n, e.key, e.question, e.answer, e.language or "ru", tuple(e.alt_questions))
        for n, e in enumerate(eval_file.faq, start=1)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clinc-limit", type=int, default=None, help="a sample of CLINC's test")
    parser.add_argument("--orders", type=int, default=3, help="shuffled orders of each dev set")
    parser.add_argument("--k", type=int, default=2, help="distinct customers for auto-accept")
    parser.add_argument("--skip-clinc", action="store_true")
    args = parser.parse_args()

    settings = get_settings()
    embedder = configured_embedder(settings)
    budget = settings.wrong_answer_budget
    modes = ["none", "labelled", "editor", f"auto-{args.k}"]
    print(f"model {embedder.name}; self-calibrated thresholds at a {budget:.0%} budget")
    print(
        "| FAQ | order | learning | phrasings learned | thresholds (answer_min/margin) 1st → 2nd"
        " | 1st half: answered right / right or offered / wrong (all) / uncovered declined"
        " | 2nd half: the same |"
    )
    print("|---|---|---|---|---|---|---|")
    runs: list[tuple[str, list[IndexedEntry], list[EvalQuery], dict[str, list[str]]]] = []
    for path in DEV_SETS:
        eval_file = EvalFile.model_validate_json(path.read_bytes())
        asked = [query for query in eval_file.queries if query.expected != HUMAN]
        for order in range(1, args.orders + 1):
            stream = random.Random(order).sample(asked, len(asked))
            runs.append((f"{path.name} | {order}", _dev_faq(eval_file), stream, {}))
    if not args.skip_clinc:
        data = json.loads(DATA.read_text(encoding="utf-8"))
        pairs = [(text, intent) for text, intent in data["test"]]
        pairs += [(text, None) for text, _ in data["oos_test"]]
        stream = [
            EvalQuery(text=text, lang="en", expected=intent)
            for text, intent in random.Random(150).sample(pairs, args.clinc_limit or len(pairs))
        ]
        faq = faq_from_intents(data["train"], 10)
        runs.append(("CLINC150, 10 phrasings | 1", faq, stream, off_topic_references(data)))
    for label, entries, stream, references in runs:
        for mode in modes:
            started = time.perf_counter()
            learner = Learner(mode.split("-")[0], args.k, embedder)
            first, second, before, after = replay(
                entries,
                stream,
                embedder,
                learner,
                references or load_off_topic_references(),
                budget,
            )
            print(
                f"| {label} | {mode} | {learner.learned} | {_thresholds(before)} → "
                f"{_thresholds(after)} | {first.cells()} | {second.cells()} |"
                f"  <!-- {time.perf_counter() - started:.0f} s -->",
                flush=True,
            )


if __name__ == "__main__":
    main()
