"""The reference sentences' vectors, kept beside the index: a start with nothing changed does no
model work for them.

Start-up needs the vectors of the off-topic sentences (``retrieval/reference/off_topic.json``)
as questions and as passages: their means per language are the language centres
(:mod:`retrieval.centring`), and their centred question vectors the off-topic references the
engine weighs every message against (:mod:`retrieval.engine`); and those of the reference
requests for a person (:mod:`retrieval.person_requests`) and the questions asked elsewhere
(:mod:`retrieval.reach`). Embedding them took about a
second of every start. They are stored in one file under a key of the model (its name, runtime
and files: :func:`retrieval.loading.model_signature`) and the sentences; when either changed,
or the file cannot be read, they are embedded again and the file is replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from retrieval.embedder import Embedder, Vectors, WrappingEmbedder
from retrieval.entries import load_asked_elsewhere
from retrieval.person_requests import load_person_requests

logger = logging.getLogger(__name__)

REFERENCE_FILE = "reference_vectors.npz"


def startup_references(off_topic: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Every sentence start-up embeds, by kind and language: the off-topic messages, the
    reference requests for a person and the questions asked elsewhere."""
    kinds = {
        "off-topic": off_topic,
        "person request": load_person_requests(),
        "asked elsewhere": load_asked_elsewhere(),
    }
    return {
        f"{kind} {language}": list(texts)
        for kind, groups in kinds.items()
        for language, texts in groups.items()
    }


class ReferenceCachedEmbedder(WrappingEmbedder):
    """An embedder that answers for the reference sentences from the stored vectors, and for
    every other text with the model it wraps.

    ``model_signature`` None (a model hub's name: its files are not ours to check) embeds the
    references at every start and stores nothing.
    """

    def __init__(
        self,
        inner: Embedder,
        references: Mapping[str, Sequence[str]],
        path: Path,
        model_signature: str | None,
    ) -> None:
        super().__init__(inner)
        texts = list(dict.fromkeys(text for group in references.values() for text in group))
        key = _key(model_signature, texts) if model_signature is not None else None
        stored = _load(path, key, (len(texts), inner.dimension)) if key is not None else None
        if stored is None:
            stored = {
                passages: inner.encode(texts, passages=passages) for passages in (False, True)
            }
            if key is not None:
                _save(path, key, stored)
        self._known = {
            passages: dict(zip(texts, vectors, strict=True)) for passages, vectors in stored.items()
        }

    def encode(
        self,
        texts: Sequence[str],
        *,
        passages: bool = False,
        languages: Sequence[str | None] | None = None,
    ) -> Vectors:
        known = self._known[passages]
        if texts and all(text in known for text in texts):
            return np.stack([known[text] for text in texts])
        return self._inner.encode(texts, passages=passages, languages=languages)


def _key(model_signature: str, texts: list[str]) -> str:
    document = json.dumps([model_signature, texts], ensure_ascii=False)
    return hashlib.sha256(document.encode()).hexdigest()


def _load(path: Path, key: str, shape: tuple[int, int]) -> dict[bool, Vectors] | None:
    """The stored vectors if the file holds them under ``key``, else None (logged)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                logger.info("the reference vectors in %s are another model's: embedding", path)
                return None
            found = {False: stored["questions"], True: stored["passages"]}
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        logger.warning("cannot read the reference vectors in %s (%s): embedding", path, error)
        return None
    if any(vectors.shape != shape or vectors.dtype != np.float32 for vectors in found.values()):
        logger.warning("the reference vectors in %s have another shape: embedding", path)
        return None
    return found


def _save(path: Path, key: str, vectors: Mapping[bool, Vectors]) -> None:
    """Write the file whole under a name of this process's own, then rename it into place:
    replicas sharing a data directory may start together."""
    staging = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with staging.open("wb") as handle:
            np.savez(handle, key=np.array(key), questions=vectors[False], passages=vectors[True])
        staging.replace(path)
    except OSError as error:
        logger.warning("cannot store the reference vectors in %s: %s", path, error)
        with contextlib.suppress(OSError):
            staging.unlink(missing_ok=True)
