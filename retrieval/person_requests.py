"""Requests for a person recognised by meaning: a message close to one of the reference requests
(``reference/person_requests.json``, ru/uk/en) asks for a person even in words the lexicon of
``retrieval.intents`` does not list ("can I have one of your accountants answer me?")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from knowledge_base.language import SUPPORTED_LANGUAGES
from retrieval.embedder import Embedder, Vectors

REFERENCES_PATH = Path(__file__).parent / "reference" / "person_requests.json"
# Measured on the language-centred vectors of the bundled model (docs/numbers.md, "Requests for
# a person"): the four dev sets' other questions score at most 0.505, carrier and staff questions
# at most 0.50; requests in words the lexicon lacks 0.61-0.72.
PERSON_REQUEST_SIMILARITY = 0.60


def load_person_requests() -> dict[str, list[str]]:
    document = json.loads(REFERENCES_PATH.read_text(encoding="utf-8"))
    return {language: document[language] for language in SUPPORTED_LANGUAGES}


class PersonRequests:
    """The reference requests' vectors, and how close a message comes to the nearest one."""

    def __init__(self, embedder: Embedder, references: dict[str, list[str]] | None = None) -> None:
        texts = references if references is not None else load_person_requests()
        self._vectors = np.vstack(
            [
                embedder.encode(phrases, languages=[language] * len(phrases))
                for language, phrases in texts.items()
                if phrases
            ]
        )

    def likeness(self, query: Vectors) -> float:
        """The cosine between one message's vector and the closest reference request."""
        return float(np.max(self._vectors @ np.asarray(query).reshape(-1)))

    def asks_for_person(self, query: Vectors, rival: float) -> bool:
        """Close enough to a reference request, and closer to it than to ``rival`` (the best the
        message does against the FAQ's phrasings and the generic off-topic messages): a message
        nearer an entry is that entry's question."""
        likeness = self.likeness(query)
        return likeness >= PERSON_REQUEST_SIMILARITY and likeness > rival
