"""Which of the supported languages (ru, uk, en) a text is written in."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

import pymorphy3
from lingua import Language, LanguageDetector, LanguageDetectorBuilder

LanguageCode = Literal["ru", "uk", "en"]
SUPPORTED_LANGUAGES: tuple[LanguageCode, ...] = ("ru", "uk", "en")

_UKRAINIAN_ONLY = set("іїєґІЇЄҐ")
_RUSSIAN_ONLY = set("ыэъёЫЭЪЁ")
_CYRILLIC = re.compile(r"[а-яёіїєґА-ЯЁІЇЄҐ]")
_LATIN = re.compile(r"[a-zA-Z]")
_LINGUA_CODES: dict[Language, LanguageCode] = {
    Language.RUSSIAN: "ru",
    Language.UKRAINIAN: "uk",
    Language.ENGLISH: "en",
}


@lru_cache(maxsize=2)
def morphology(language: Literal["ru", "uk"]) -> pymorphy3.MorphAnalyzer:
    """The dictionary of Russian or Ukrainian word forms (shared: each costs ~15 MB)."""
    return pymorphy3.MorphAnalyzer(lang=language)


def _dictionary_vote(text: str) -> LanguageCode | None:
    """Which dictionary knows more of the words: 'позовите' is only Russian, 'покличте' only
    Ukrainian, though neither has a letter unique to its language."""
    words = [word.lower() for word in re.findall(r"[а-яёіїєґ']+", text, re.IGNORECASE)]
    russian = sum(morphology("ru").word_is_known(word) for word in words)
    ukrainian = sum(morphology("uk").word_is_known(word) for word in words)
    if russian == ukrainian:
        return None
    return "ru" if russian > ukrainian else "uk"


@lru_cache(maxsize=1)
def _lingua() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_LINGUA_CODES).build()


def detect_language(text: str) -> LanguageCode | None:
    """The text's language, or None when it has no letters to tell by.

    Letters that exist in only one of Russian and Ukrainian decide first (they are certain and
    cost nothing), then which language's dictionary knows more of the words; the statistical
    detector settles the rest.
    """
    cyrillic = len(_CYRILLIC.findall(text))
    latin = len(_LATIN.findall(text))
    if cyrillic == 0 and latin == 0:
        return None
    if latin > cyrillic:
        return "en"
    ukrainian_marks = sum(char in _UKRAINIAN_ONLY for char in text)
    russian_marks = sum(char in _RUSSIAN_ONLY for char in text)
    if ukrainian_marks != russian_marks:
        return "uk" if ukrainian_marks > russian_marks else "ru"
    by_dictionary = _dictionary_vote(text)
    if by_dictionary is not None:
        return by_dictionary
    detected = _lingua().detect_language_of(text)
    if detected is None or _LINGUA_CODES[detected] == "en":
        return "ru"
    return _LINGUA_CODES[detected]
