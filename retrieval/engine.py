"""The answer engine: the FAQ's vector and lexical indexes, and the decision for one message."""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.settings import DecisionThresholds
from knowledge_base.language import detect_language
from retrieval.decision import Candidate, Decision, Outcome, Reason, Turn
from retrieval.embedder import Embedder, Vectors
from retrieval.entries import (
    IndexedEntry,
    fingerprint,
    load_asked_elsewhere,
    load_off_topic_references,
)
from retrieval.errors import IndexMismatchError
from retrieval.index import IndexMeta, PhrasingIndex
from retrieval.lexical import Analyzer, LexicalIndex
from retrieval.person_requests import PersonRequests
from retrieval.policy import Evidence, Policy, Signals
from retrieval.reach import is_far_from_every_entry
from retrieval.reading import customer_language, earlier_questions, settle

logger = logging.getLogger(__name__)

SEARCH_DEPTH = 10
NEAREST_PHRASINGS = 10
PASSAGE_DEPTH = 256
PASSAGES_DIR = "passages"
CENTROIDS_DIR = "centroids"
RECENT_VECTORS = 4096  # customer messages whose vectors are kept (384 floats each: ~6 MB)
# A question repeated this closely after the bot already tried means the bot is failing them.
REPEAT_SIMILARITY = 0.95


_SETTLED_OUTCOMES = {
    Reason.EMPTY: Outcome.CLARIFY,
    Reason.NOT_TEXT: Outcome.CLARIFY,
    Reason.GREETING: Outcome.CLARIFY,
    Reason.THANKS: Outcome.CLARIFY,
    Reason.SMALLTALK: Outcome.CLARIFY,
    Reason.CUSTOMER_REQUEST: Outcome.HANDOFF,
    Reason.REPEATED_FAILURE: Outcome.HANDOFF,
}


@dataclass(frozen=True)
class Prepared:
    """A message made ready for the thresholds: settled already, or the evidence to weigh."""

    language: str | None
    settled: Reason | None
    evidence: list[Evidence] = field(default_factory=list)
    # How much nearer the message is to questions asked elsewhere (other businesses, general
    # knowledge) than to generic chat.
    elsewhere: float = 0.0


@dataclass(frozen=True)
class Message:
    """A customer message to decide on, with the conversation before it."""

    text: str
    language: str | None = None
    history: tuple[Turn, ...] = ()


class AnswerEngine:
    """Decides, for one customer message, whether to answer, clarify or hand off."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        thresholds: DecisionThresholds,
        analyzer: Analyzer | None = None,
        off_topic: dict[str, list[str]] | None = None,
        person_requests: dict[str, list[str]] | None = None,
        asked_elsewhere: dict[str, list[str]] | None = None,
    ) -> None:
        self.embedder = embedder
        self.policy = Policy(thresholds)
        self._entries: dict[int, IndexedEntry] = {}
        self._directory: Path | None = None
        self._vectors = PhrasingIndex(embedder.dimension)
        self._passages = PhrasingIndex(embedder.dimension)  # one vector per entry
        self._centroids = PhrasingIndex(embedder.dimension)  # one per entry: its phrasings' mean
        self._lexical = LexicalIndex(analyzer or Analyzer())
        self._recent_vectors: OrderedDict[tuple[str, str | None], np.ndarray] = OrderedDict()
        self._person_requests = PersonRequests(embedder, person_requests)
        references = off_topic if off_topic is not None else load_off_topic_references()
        self._references = _reference_vectors(embedder, references)
        elsewhere = asked_elsewhere if asked_elsewhere is not None else load_asked_elsewhere()
        self._asked_elsewhere = _reference_vectors(embedder, elsewhere)

    # --- the knowledge base it reads -------------------------------------------------------

    @property
    def entries(self) -> dict[int, IndexedEntry]:
        return dict(self._entries)

    def entry(self, entry_id: int) -> IndexedEntry | None:
        """One published entry, or None when it is not (or no longer) in the index."""
        return self._entries.get(entry_id)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self._entries.values())

    def _meta(self, entries: Iterable[IndexedEntry]) -> IndexMeta:
        return IndexMeta(self.embedder.name, self.embedder.dimension, fingerprint(entries))

    def rebuild(self, entries: Sequence[IndexedEntry]) -> None:
        """Index a whole knowledge base from scratch."""
        self._entries = {}
        self._vectors = PhrasingIndex(self.embedder.dimension)
        self._passages = PhrasingIndex(self.embedder.dimension)
        self._centroids = PhrasingIndex(self.embedder.dimension)
        self._lexical = LexicalIndex(self._lexical.analyzer)
        self.apply(entries)

    def open(self, directory: Path, entries: Sequence[IndexedEntry]) -> None:
        """Load the persisted index if it fits these entries and this model, else rebuild it."""
        self._directory = directory
        try:
            meta = self._meta(entries)
            self._vectors = PhrasingIndex.load(directory, meta)
            self._passages = PhrasingIndex.load(directory / PASSAGES_DIR, meta)
            self._centroids = PhrasingIndex.load(directory / CENTROIDS_DIR, meta)
        except IndexMismatchError as mismatch:
            logger.warning("rebuilding the FAQ index (%d entries): %s", len(entries), mismatch)
            self.rebuild(entries)
            self.persist()
            return
        self._entries = {entry.id: entry for entry in entries}
        for entry in entries:
            self._lexical.upsert(entry.id, _with_languages(entry.phrasings))

    def persist(self) -> None:
        """Write the index where :meth:`open` found it (nothing to do for an in-memory engine)."""
        if self._directory is not None:
            meta = self._meta(self._entries.values())
            self._passages.save(self._directory / PASSAGES_DIR, meta)
            self._centroids.save(self._directory / CENTROIDS_DIR, meta)
            self._vectors.save(self._directory, meta)

    def apply(self, upserts: Sequence[IndexedEntry], removals: Sequence[int] = ()) -> None:
        """Add or replace some entries and remove others without rebuilding the rest: one
        embedding call for all their phrasings."""
        phrasings = _with_languages([text for entry in upserts for text in entry.phrasings])
        vectors = self.embedder.encode(
            [text for text, _ in phrasings], languages=[language for _, language in phrasings]
        )
        passages = self.embedder.encode(
            [entry.passage for entry in upserts],
            passages=True,
            languages=[entry.language for entry in upserts],
        )
        start = 0
        for entry, passage in zip(upserts, passages, strict=True):
            count = len(entry.phrasings)
            self._add(
                entry, vectors[start : start + count], passage, phrasings[start : start + count]
            )
            start += count
        for entry_id in removals:
            self._entries.pop(entry_id, None)
            self._vectors.remove(entry_id)
            self._passages.remove(entry_id)
            self._centroids.remove(entry_id)
            self._lexical.remove(entry_id)

    def with_changes(
        self, upserts: Sequence[IndexedEntry], removals: Sequence[int] = ()
    ) -> AnswerEngine:
        """A copy of this engine with some entries added, replaced or removed, to ask what
        publishing them would change; this engine stays as it is. Only the changed entries are
        embedded; the copy starts with this engine's remembered message vectors."""
        copied = copy.copy(self)
        copied.policy = Policy(self.policy.thresholds)
        copied._entries = dict(self._entries)
        copied._directory = None  # never persisted over the live index
        copied._vectors = self._vectors.copy()
        copied._passages = self._passages.copy()
        copied._centroids = self._centroids.copy()
        copied._lexical = self._lexical.copy()
        copied._recent_vectors = OrderedDict(self._recent_vectors)
        copied.apply(upserts, removals)
        return copied

    def upsert(self, entry: IndexedEntry) -> None:
        """Add or replace one entry without rebuilding the rest."""
        self.apply([entry])

    def remove(self, entry_id: int) -> None:
        self.apply([], [entry_id])

    def _add(
        self,
        entry: IndexedEntry,
        vectors: Vectors,
        passage: Vectors,
        phrasings: list[tuple[str, str | None]],
    ) -> None:
        self._entries[entry.id] = entry
        self._vectors.upsert(entry.id, vectors)
        self._passages.upsert(entry.id, passage[np.newaxis, :])
        self._centroids.upsert(entry.id, _centroid(vectors))
        self._lexical.upsert(entry.id, phrasings)

    # --- the decision ------------------------------------------------------------------------

    def decide(
        self, text: str, language: str | None = None, history: Sequence[Turn] = ()
    ) -> Decision:
        """Answer, clarify or hand off one customer message; never raises on odd input."""
        return self.conclude(self.prepare(text, language, history))

    def decide_many(self, messages: Sequence[Message]) -> list[Decision]:
        """:meth:`decide` for messages from many conversations at once (one embedding call)."""
        return [self.conclude(prepared) for prepared in self.prepare_many(messages)]

    def prepare(
        self, text: str, language: str | None = None, history: Sequence[Turn] = ()
    ) -> Prepared:
        """Everything about a message that does not depend on the thresholds."""
        return self.prepare_many([Message(text, language, tuple(history))])[0]

    def prepare_batch(self, texts: Sequence[str]) -> list[Prepared]:
        """:meth:`prepare` for many first messages of a conversation."""
        return self.prepare_many([Message(text) for text in texts])

    def prepare_many(self, messages: Sequence[Message]) -> list[Prepared]:
        """:meth:`prepare` for many messages, with every text embedded in one batched call."""
        settled = [settle(m.text, m.language, m.history) for m in messages]
        prepared = [Prepared(language, reason) for _, language, reason in settled]
        pending = [index for index, (_, _, reason) in enumerate(settled) if reason is None]
        texts = [(settled[index][0], settled[index][1]) for index in pending]
        earlier: dict[int, slice] = {}
        for index in pending:
            asked_before = [
                (text, customer_language(text, messages[index].language))
                for text in earlier_questions(messages[index].history)
            ]
            earlier[index] = slice(len(texts), len(texts) + len(asked_before))
            texts.extend(asked_before)
        if not texts:
            return prepared
        vectors = self._encode_remembering(texts)
        for row, index in enumerate(pending):
            query = vectors[row : row + 1]
            if self._person_requests.asks_for_person(query, self._rival_likeness(query)):
                prepared[index] = Prepared(settled[index][1], Reason.CUSTOMER_REQUEST)
                continue
            before = vectors[earlier[index]]
            if len(before) and float(np.max(before @ query[0])) >= REPEAT_SIMILARITY:
                prepared[index] = Prepared(settled[index][1], Reason.REPEATED_FAILURE)
                continue
            stripped, language, _ = settled[index]
            evidence = self.gather_evidence(stripped, query, language)
            prepared[index] = Prepared(language, None, evidence, self._elsewhere(query))
        return prepared

    def _elsewhere(self, query: Vectors) -> float:
        """How much nearer the message is to questions asked elsewhere than to generic chat
        (0 when it is not): another company's product is as far from the FAQ as the weather."""
        generic = float(np.max(self._references @ query[0]))
        return max(0.0, float(np.max(self._asked_elsewhere @ query[0])) - generic)

    def _rival_likeness(self, query: Vectors) -> float:
        """The message's best cosine with any FAQ phrasing or generic off-topic message."""
        hits = self._vectors.search(query, 1)[0]
        nearest = hits[0].score if hits else -1.0
        return max(nearest, float(np.max(self._references @ query[0])))

    def _encode_remembering(self, texts: list[tuple[str, str | None]]) -> Vectors:
        """Embed texts (each with its language), reusing the vectors of recent messages: a
        conversation's earlier questions are compared with each new one, and embedding them
        again would cost most of the engine's time."""
        missing = list(dict.fromkeys(key for key in texts if key not in self._recent_vectors))
        if missing:
            encoded = self.embedder.encode(
                [text for text, _ in missing], languages=[language for _, language in missing]
            )
            for key, vector in zip(missing, encoded, strict=True):
                self._recent_vectors[key] = vector
        for key in texts:
            self._recent_vectors.move_to_end(key)
        vectors = np.vstack([self._recent_vectors[key] for key in texts])
        while len(self._recent_vectors) > RECENT_VECTORS:
            self._recent_vectors.popitem(last=False)
        return vectors

    def gather_evidence(self, text: str, query: Vectors, language: str | None) -> list[Evidence]:
        """The top entries with every signal the policy weighs, best first."""
        hits = self._vectors.search(query, SEARCH_DEPTH)[0]
        lexical = self._lexical.match(text, language)
        off_topic = float(np.max(self._references @ query[0]))
        passages = _scores_by_entry(self._passages, query)
        centroids = _scores_by_entry(self._centroids, query)
        signals = []
        for hit in hits:
            phrasings = len(self._entries[hit.entry_id].phrasings)
            signals.append(
                Signals(
                    entry_id=hit.entry_id,
                    dense=hit.score,
                    support=hit.support,
                    votes=_votes(hit.ranks, phrasings),
                    coverage=lexical[hit.entry_id].coverage if hit.entry_id in lexical else 0.0,
                    off_topic=off_topic,
                    passage=passages(hit.entry_id),
                    centroid=centroids(hit.entry_id),
                    phrasings=phrasings,
                )
            )
        return self.policy.score(signals)

    def conclude(
        self, prepared: Prepared, thresholds: DecisionThresholds | None = None
    ) -> Decision:
        """The decision for a prepared message under the given (default: configured) thresholds."""
        language = prepared.language
        if prepared.settled is not None:
            return Decision(
                _SETTLED_OUTCOMES[prepared.settled], prepared.settled, language=language
            )
        evidence = prepared.evidence
        limits = thresholds or self.policy.thresholds
        if is_far_from_every_entry(evidence, prepared.elsewhere):
            # Even over a confident verdict: "how many stars are in the galaxy" once scored 0.97
            # for "how many devices can watch at once" (no dev set's answered question is far).
            top_score = round(evidence[0].confidence, 4)
            return Decision(Outcome.CLARIFY, Reason.OFF_TOPIC, language, score=top_score)
        verdict = self.policy.choose(evidence, limits)
        # A handoff keeps what the bot weighed: the agent's context card shows it.
        considered = verdict.options or evidence[: limits.clarify_options]
        candidates = [self._candidate(item) for item in considered]
        top = evidence[0] if evidence else None
        score = round(top.confidence, 4) if top else None
        if verdict.outcome is Outcome.ANSWER and top is not None:
            entry = self._entries[top.entry_id]
            return Decision(
                Outcome.ANSWER,
                verdict.reason,
                language=language,
                faq_id=entry.id,
                faq_key=entry.key,
                answer=entry.answer,
                score=score,
                candidates=candidates,
            )
        return Decision(
            verdict.outcome, verdict.reason, language, score=score, candidates=candidates
        )

    def _candidate(self, evidence: Evidence) -> Candidate:
        entry = self._entries[evidence.entry_id]
        return Candidate(entry.id, entry.key, entry.question, round(evidence.confidence, 4))


def _reference_vectors(embedder: Embedder, references: dict[str, list[str]]) -> Vectors:
    return np.vstack(
        [
            embedder.encode(texts, languages=[language] * len(texts))
            for language, texts in references.items()
            if texts
        ]
    )


def _centroid(vectors: Vectors) -> Vectors:
    """An entry's phrasings averaged into one unit vector: with many phrasings it stands for the
    whole entry better than any one of them (CLINC150 val, 100 phrasings: top-1 89.1 → 92.6 %)."""
    mean = np.asarray(vectors, dtype=np.float32).mean(axis=0, keepdims=True)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def _scores_by_entry(index: PhrasingIndex, query: Vectors) -> Callable[[int], float]:
    """A look-up of each entry's score in a one-vector-per-entry index; an entry beyond the
    ones searched scores no better than the last one found."""
    hits = index.search(query, PASSAGE_DEPTH)[0]
    scores = {hit.entry_id: hit.score for hit in hits}
    floor = hits[-1].score if hits else 0.0
    return lambda entry_id: scores.get(entry_id, floor)


def _votes(ranks: tuple[int, ...], phrasings: int) -> float:
    """Of the k phrasings nearest to the message (k = the entry's phrasing count, at most
    NEAREST_PHRASINGS), the share that are this entry's: 1.0 when its phrasings alone surround it."""
    nearest = min(phrasings, NEAREST_PHRASINGS)
    return sum(rank < nearest for rank in ranks) / nearest


def _with_languages(texts: Sequence[str]) -> list[tuple[str, str | None]]:
    return [(text, detect_language(text)) for text in texts]
