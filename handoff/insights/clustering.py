"""Grouping questions by meaning: pure computation on vectors (no database), run in a worker
thread by the gap report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from knowledge_base.language import LanguageCode, detect_language
from retrieval.embedder import Embedder, Vectors

# Measured with multilingual-e5-small on evals/dev.json and holdout_bystro.json (FAQ phrasings
# and customers' queries, grouped by the entry they mean): the median cosine of two questions
# meaning the same is 0.87, and one pair in ten of different questions is above 0.84-0.86. At
# 0.88, 86 % / 75 % of questions share their cluster with mostly their own kind (0.90: 95 % /
# 91 %, but only one same-meaning pair in nine is joined). A mixed cluster misleads an editor
# more than a gap split in two does, so the default leans to purity.
DEFAULT_THRESHOLD = 0.88
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class QuestionCluster:
    """Rows of the input that mean the same; rows are indices into the texts given."""

    members: tuple[int, ...]  # ascending
    representative: int  # the row whose wording is closest to the cluster's centre
    examples: tuple[int, ...]  # other distinct wordings, closest to the centre first


@dataclass(frozen=True)
class GroupedQuestions:
    clusters: list[QuestionCluster]
    languages: list[LanguageCode | None]  # one per input row


def wording(text: str) -> str:
    return " ".join(text.split()).casefold()


def cluster_questions(
    texts: Sequence[str], vectors: Vectors, threshold: float = DEFAULT_THRESHOLD
) -> list[QuestionCluster]:
    """Group questions by meaning; ``vectors[i]`` is ``texts[i]`` embedded and normalised.

    Every two wordings in a cluster have a cosine of at least ``threshold`` (complete linkage):
    when all cosines crowd together, as multilingual-e5's do, anything looser chains unrelated
    questions into one cluster. Greedy, in O(n²): the wording with the most questions within
    ``threshold`` among those not yet grouped seeds a cluster, which then takes, one at a time,
    the wording closest to all its members while that stays above ``threshold``. Identical
    wordings (case and spacing aside) always share a cluster and weigh by their number of rows.
    Ties go to the earlier row, so the same input gives the same clusters.
    """
    if len(texts) != len(vectors):
        raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold is a cosine in (0, 1], not {threshold}")
    rows_of: dict[str, list[int]] = {}
    for row, text in enumerate(texts):
        rows_of.setdefault(wording(text), []).append(row)
    wordings = list(rows_of.values())
    first_rows = [rows[0] for rows in wordings]
    unique = np.asarray(vectors, dtype=np.float32)[first_rows]
    weights = np.array([len(rows) for rows in wordings], dtype=np.int64)
    similarity = unique @ unique.T
    close = (similarity >= threshold).astype(np.int64)
    # Questions within reach of each wording, counting only those not yet in a cluster.
    reach = close @ weights
    free = np.ones(len(wordings), dtype=bool)
    clusters: list[QuestionCluster] = []
    while free.any():
        members = _grow(int(np.argmax(np.where(free, reach, -1))), similarity, free, threshold)
        reach -= close[:, members] @ weights[members]
        clusters.append(_cluster(np.array(members), unique, weights, wordings))
    return clusters


def _grow(
    seed: int, similarity: np.ndarray[Any, Any], free: np.ndarray[Any, Any], threshold: float
) -> list[int]:
    """The seed's cluster: free wordings added while each is close to every member."""
    members = [seed]
    free[seed] = False
    # Each wording's lowest cosine to the members so far.
    weakest = similarity[seed].copy()
    while True:
        fitting = np.where(free, weakest, -np.inf)
        best = int(np.argmax(fitting))
        if fitting[best] < threshold:
            return members
        members.append(best)
        free[best] = False
        np.minimum(weakest, similarity[best], out=weakest)


def _cluster(
    members: np.ndarray[Any, Any],
    unique: Vectors,
    weights: np.ndarray[Any, Any],
    wordings: list[list[int]],
) -> QuestionCluster:
    centre = (unique[members] * weights[members, None]).sum(axis=0)
    closeness = unique[members] @ centre
    # Stable sort: of equally typical wordings, the earlier one comes first.
    typical = [int(members[i]) for i in np.argsort(-closeness, kind="stable")]
    return QuestionCluster(
        members=tuple(sorted(row for wording in typical for row in wordings[wording])),
        representative=wordings[typical[0]][0],
        examples=tuple(wordings[wording][0] for wording in typical[1 : MAX_EXAMPLES + 1]),
    )


def group_questions(
    embedder: Embedder, texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD
) -> GroupedQuestions:
    """Embed, cluster and tell the languages of the texts: all the CPU work of a gap report.

    The texts go to the embedder as they are, as the answer engine sends customers' messages:
    the embedder adds the model's query prompt (e5's ``query: ``) itself.
    """
    firsts: dict[str, int] = {}
    for row, text in enumerate(texts):
        firsts.setdefault(wording(text), row)
    distinct = list(firsts.values())
    encoded = embedder.encode([texts[row] for row in distinct])
    position = {wording: index for index, wording in enumerate(firsts)}
    vectors = encoded[[position[wording(text)] for text in texts]]
    detected = [detect_language(texts[row]) for row in distinct]
    languages = [detected[position[wording(text)]] for text in texts]
    return GroupedQuestions(cluster_questions(texts, vectors, threshold), languages)
