"""Lexical evidence: which of a question's informative words (lemmatised) an FAQ entry contains.

Kept as a small inverted index of our own, so one entry's change is applied incrementally,
like the vector index. It yields BM25 for ranking and an IDF-weighted coverage in 0..1.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

from knowledge_base.language import morphology

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яёіїєґ]")
# Parts of speech that carry no topic: prepositions, conjunctions, particles, pronouns, interjections.
_FUNCTION_TAGS = {"PREP", "CONJ", "PRCL", "NPRO", "INTJ", "PRED"}
_ENGLISH_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "when",
        "where",
        "why",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "not",
        "no",
        "yes",
        "so",
        "than",
        "too",
        "very",
        "just",
        "also",
        "please",
        "hi",
        "hello",
        "thanks",
        "thank",
        "ok",
    ]
)
# Function words the dictionaries do not tag as such (or tag as rare nouns, like "як" = yak).
_CYRILLIC_STOPWORDS = frozenset(
    [
        "як",
        "що",
        "щоб",
        "чи",
        "це",
        "мені",
        "мене",
        "мій",
        "моя",
        "моє",
        "мої",
        "ти",
        "ви",
        "вас",
        "вам",
        "ваш",
        "я",
        "ми",
        "нам",
        "нас",
        "він",
        "вона",
        "воно",
        "вони",
        "та",
        "і",
        "й",
        "у",
        "в",
        "на",
        "до",
        "з",
        "із",
        "зі",
        "за",
        "не",
        "так",
        "вже",
        "ще",
        "є",
        "був",
        "була",
        "було",
        "але",
        "або",
        "коли",
        "де",
        "тут",
        "там",
        "как",
        "что",
        "чтобы",
        "это",
        "мне",
        "меня",
        "мой",
        "моя",
        "мое",
        "мои",
        "ты",
        "вы",
        "вас",
        "вам",
        "ваш",
        "я",
        "мы",
        "нам",
        "нас",
        "он",
        "она",
        "оно",
        "они",
        "и",
        "а",
        "у",
        "в",
        "на",
        "до",
        "с",
        "со",
        "за",
        "не",
        "так",
        "уже",
        "ещё",
        "еще",
        "есть",
        "был",
        "была",
        "было",
        "но",
        "или",
        "когда",
        "где",
        "тут",
        "там",
        "здравствуйте",
        "привет",
        "добрый",
        "день",
        "вечер",
        "утро",
        "пожалуйста",
        "подскажите",
        "скажите",
    ]
)
K1, B = 1.2, 0.75


@dataclass(frozen=True)
class LexicalMatch:
    bm25: float
    coverage: float  # share of the query's IDF mass found in the entry


class Analyzer:
    """Words to index terms: lemmas for Russian and Ukrainian (pymorphy3), Snowball stems for English."""

    def __init__(self) -> None:
        self._russian = morphology("ru")
        self._ukrainian = morphology("uk")
        self._russian_stemmer = Stemmer.Stemmer("russian")
        self._english_stemmer = Stemmer.Stemmer("english")
        self.term = lru_cache(maxsize=200_000)(self._term)

    def terms(self, text: str, language: str | None = None) -> list[str]:
        """Index terms of a text; ``language`` decides whether Ukrainian or Russian is tried first."""
        ukrainian_first = language == "uk"
        words = _WORD.findall(text.lower().replace("ё", "е"))
        return [term for word in words if (term := self.term(word, ukrainian_first))]

    def _term(self, word: str, ukrainian_first: bool) -> str | None:
        if len(word) < 2:
            return None
        if not _CYRILLIC.search(word):
            return None if word in _ENGLISH_STOPWORDS else self._english_stemmer.stemWord(word)
        if word in _CYRILLIC_STOPWORDS:
            return None
        order = (
            (self._ukrainian, self._russian)
            if ukrainian_first
            else (self._russian, self._ukrainian)
        )
        for morph in order:
            if morph.word_is_known(word):
                parse = morph.parse(word)[0]
                if parse.tag.POS in _FUNCTION_TAGS:
                    return None
                return str(parse.normal_form).replace("ё", "е")
        return self._russian_stemmer.stemWord(word)


class LexicalIndex:
    """BM25 over entries, each entry one document of all its phrasings."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self._documents: dict[int, Counter[str]] = {}
        self._lengths: dict[int, int] = {}
        self._postings: dict[str, set[int]] = {}
        self._total_length = 0

    def copy(self) -> LexicalIndex:
        """An independent copy: changing it leaves this index as it is (an entry's counts are
        replaced, never changed in place, so they are shared)."""
        copied = LexicalIndex(self.analyzer)
        copied._documents = dict(self._documents)
        copied._lengths = dict(self._lengths)
        copied._postings = {term: set(ids) for term, ids in self._postings.items()}
        copied._total_length = self._total_length
        return copied

    def upsert(self, entry_id: int, texts: list[tuple[str, str | None]]) -> None:
        """Index an entry's texts, each with its language."""
        self.remove(entry_id)
        counts = Counter(
            term for text, language in texts for term in self.analyzer.terms(text, language)
        )
        self._documents[entry_id] = counts
        self._lengths[entry_id] = sum(counts.values())
        self._total_length += self._lengths[entry_id]
        for term in counts:
            self._postings.setdefault(term, set()).add(entry_id)

    def remove(self, entry_id: int) -> None:
        counts = self._documents.pop(entry_id, None)
        if counts is None:
            return
        self._total_length -= self._lengths.pop(entry_id)
        for term in counts:
            postings = self._postings[term]
            postings.discard(entry_id)
            if not postings:
                del self._postings[term]

    def _idf(self, term: str) -> float:
        documents = len(self._documents)
        frequency = len(self._postings.get(term, ()))
        return math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))

    def match(self, text: str, language: str | None) -> dict[int, LexicalMatch]:
        """Every entry sharing a term with the text, with its BM25 and coverage."""
        query_terms = set(self.analyzer.terms(text, language))
        if not query_terms or not self._documents:
            return {}
        idf = {term: self._idf(term) for term in query_terms}
        mass = sum(idf.values())
        average_length = self._total_length / len(self._documents) or 1.0
        bm25: dict[int, float] = {}
        covered: dict[int, float] = {}
        for term in query_terms:
            for entry_id in self._postings.get(term, ()):
                frequency = self._documents[entry_id][term]
                norm = K1 * (1 - B + B * self._lengths[entry_id] / average_length)
                bm25[entry_id] = bm25.get(entry_id, 0.0) + idf[term] * frequency * (K1 + 1) / (
                    frequency + norm
                )
                covered[entry_id] = covered.get(entry_id, 0.0) + idf[term]
        return {
            entry_id: LexicalMatch(bm25=score, coverage=covered[entry_id] / mass)
            for entry_id, score in bm25.items()
        }
