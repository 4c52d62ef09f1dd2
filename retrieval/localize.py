"""A decision in the customer's language: the answer and the options' questions from the entry's
translation, or from its main language where the translation is missing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from retrieval.decision import Candidate, Decision
from retrieval.entries import IndexedEntry

EntryLookup = Callable[[int], IndexedEntry | None]


def in_language(decision: Decision, entries: EntryLookup, language: str | None) -> Decision:
    """The decision with its answer (and ``answer_language``) and its options' questions in
    ``language`` where the entries have it; an entry no longer indexed keeps what was decided."""
    candidates = [_option_in(candidate, entries, language) for candidate in decision.candidates]
    entry = entries(decision.faq_id) if decision.faq_id is not None else None
    if entry is None or decision.answer is None:
        return replace(decision, candidates=candidates)
    answer_language, _, answer = entry.text_in(language)
    return replace(decision, answer=answer, answer_language=answer_language, candidates=candidates)


def _option_in(candidate: Candidate, entries: EntryLookup, language: str | None) -> Candidate:
    entry = entries(candidate.faq_id)
    if entry is None:
        return candidate
    return replace(candidate, question=entry.text_in(language)[1])
