"""Conversational intents that are not FAQ questions: asking for a person, greetings, thanks,
small talk, and "that's not what I asked". Russian, Ukrainian and English, in their many forms.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache


class Conversational(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    SMALLTALK = "smalltalk"


def _pattern(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{alternative})" for alternative in alternatives), re.IGNORECASE)


# Domain roles count as a person: a customer of an accounting service asks for "живой бухгалтер".
_PERSON_RU = r"(?:человек\w*|оператор\w*|менеджер\w*|специалист\w*|сотрудник\w*|консультант\w*|агент\w*|админ\w*|бухгалтер(?:а|у|ом|ы|и|ів|ов)?\b|юрист(?:а|у|ом|ы|и|ів|ов)?\b)"
_PERSON_UK = r"(?:людин\w*|люди\b|оператор\w*|менеджер\w*|спеціаліст\w*|співробітник\w*|консультант\w*|працівник\w*|фахів\w*|бухгалтер(?:а|у|ом|ы|и|ів|ов)?\b|юрист(?:а|у|ом|ы|и|ів|ов)?\b)"
_PERSON_EN = (
    r"(?:person|human|agent|people|support|staff|someone|somebody|manager|specialist|"
    r"accountant|lawyer|consultant|advisor|adviser|employee|operator|representative)"
)
_HUMAN_REQUEST = _pattern(
    # Russian
    r"\bоператор\w*",
    r"\bжив\w*\s+(?:\w+\s+)?" + _PERSON_RU,
    r"\b(?:реальн|настоящ|нормальн)\w*\s+" + _PERSON_RU,
    r"\b(?:позов|позв|соедин|переключ|свяж|дайте|дай|нуж|хочу|хотел\w*|можно|давай\w*)\w*\s+(?:\w+\s+){0,3}?"
    + _PERSON_RU,
    r"\bперевед\w*\s+меня\s+(?:на|к)\s+(?:\w+\s+){0,2}?" + _PERSON_RU,
    r"\bс\s+(?:живым\s+)?(?:человеком|менеджером|специалистом|сотрудником|консультантом)",
    r"\b(?:поговорить|пообщаться|общаться)\s+с\s+(?!ботом)\w+",
    r"\bне\s+(?:с\s+)?бот(?:ом)?\b",
    r"\bжив\w*\s+поддержк\w*",
    r"\bподдержк\w*\s+жив\w*",
    r"\b(?:бот|робот)\w*\s+(?:\w+\s+)?не\s+помога\w*",
    # Ukrainian
    r"\bз\s+(?:живою\s+)?(?:людиною|менеджером|спеціалістом|оператором|консультантом|працівником)",
    r"\bжив\w*\s+(?:\w+\s+)?" + _PERSON_UK,
    r"\b(?:поклич|з['’]єдна|переключ|дайте|дай|потріб|треба|хочу|можна)\w*\s+(?:\w+\s+){0,3}?"
    + _PERSON_UK,
    r"\bперевед\w*\s+мене\s+(?:на|до)\s+(?:\w+\s+){0,2}?" + _PERSON_UK,
    r"\b(?:поговорити|поспілкуватися|спілкуватися)\s+з\s+(?!ботом)\w+",
    r"\bне\s+з\s+ботом\b",
    # English
    r"\b(?:human|humans|operator|representative|rep)\b",
    r"\b(?:real|live|actual)\s+(?:person|human|agent|people|support)\b",
    r"\b(?:need|want|get|give)\s+(?:me\s+)?(?:an?\s+)?(?:real|live|actual)\s+" + _PERSON_EN,
    r"\b(?:talk|speak|chat|connect|transfer|put)\w*\s+(?:me\s+)?(?:through\s+)?(?:to|with)\s+"
    r"(?:a\s+|an\s+|some\s+|your\s+|one\s+of\s+your\s+)?(?:real\s+|live\s+|actual\s+)?"
    + _PERSON_EN
    + r"s?\b",
    r"^\W*(?:an?\s+)?agent\W*(?:please|pls|now)?\W*$",
    r"\b(?:need|want|get|give)\s+(?:me\s+)?(?:an?\s+)?agent\b",
    r"\bagent\s+(?:please|pls|now)\b",
    r"\bnot\s+(?:a\s+)?(?:bot|robot)\b",
    # a role on its own: "менеджер", "співробітник!", "manager please"
    rf"^\W*(?:(?:an?\s+)?(?:real|live|actual)\s+)?(?:{_PERSON_RU}|{_PERSON_UK}|{_PERSON_EN})"
    r"\W*(?:please|pls|пожалуйста|будь\s+ласка)?\W*$",
)

# "Оператор" is also a mobile carrier ("перейти от другого оператора", "оператор связи"); in
# those phrases it asks nothing of a person.
_CARRIER = _pattern(
    r"\b(?:друг|ин|інш|нов|стар|сотов|мобильн|мобільн|свое|сво|наш|ваш)\w*\s+(?:\w+\s+)?оператор\w*",
    r"\b(?:от|від|сменить|поменять|змінити|поміняти)\s+оператор\w*",
    r"\b(?:к|до|у|в)\s+оператор\w*\s+(?!(?:пожалуйста|будь|срочно)\b)\w+",
    r"\bоператор\w*\s+(?:связи|зв['’]язку|сотов\w*|мобильн\w*|мобільн\w*)",
    r"\b(?:another|other|new|previous|old|mobile|network|phone|current)\s+(?:mobile\s+|network\s+)?operators?\b",
    r"\boperators?\s+(?:switch|change)\w*",
)

_NEGATIVE_FEEDBACK = _pattern(
    r"\bне\s+(?:то|тот|та|об\s+этом|про\s+это)\b",
    r"\bя\s+(?:не\s+)?(?:об\s+этом|про\s+это)\s+не\s+спрашива\w*",
    r"\bне\s+это\s+(?:спрашива|имел|хотел)\w*",
    r"\bне\s+(?:те|той|про\s+те)\b",
    r"\bне\s+про\s+це\b",
    r"\bя\s+не\s+(?:про\s+це|це)\s+питав\w*",
    r"\bце\s+не\s+те\b",
    r"\bне\s+те\b",
    r"\b(?:that'?s|that\s+is|this\s+is)\s+not\s+(?:what|it|right)\b",
    r"\bnot\s+what\s+i\s+(?:asked|meant|need|wanted)\b",
    r"\bwrong\s+answer\b",
    r"\byou\s+(?:don'?t|do\s+not)\s+understand\b",
    r"\bне\s+помогл\w*|\bне\s+допомогл\w*|\bdidn'?t\s+help\b|\bdoes\s*n'?t\s+help\b",
)

# "How long?" from a customer whose request waits for a person.
_WAIT_QUESTION = _pattern(
    # Russian
    r"\bскоро\s+(?:ли\s+)?(?:мне\s+)?(?:ответ\w*|отвеч\w*|помо\w*|свяж\w*)",
    r"\b(?:сколько|долго)\s+(?:ещ[её]\s+)?(?:мне\s+)?(?:ждать|ожидать|жду)",
    r"\bкогда\s+(?:же\s+)?(?:мне\s+)?(?:ответ\w*|отвеч\w*|свяж\w*|помо\w*|будет\s+ответ)",
    r"\bдолго\s+ещ[её]\b",
    r"\bгде\s+(?:же\s+)?(?:ответ|оператор\w*|специалист\w*)\b",
    r"\bесть\s+кто\b",
    # Ukrainian
    r"\bскоро\s+(?:мені\s+)?(?:відповід\w*|допомож\w*|зв['’]яж\w*)",
    r"\b(?:скільки|довго)\s+(?:ще\s+)?(?:мені\s+)?(?:чекати|очікувати|чекаю)",
    r"\bколи\s+(?:ж\s+)?(?:мені\s+)?(?:відповід\w*|зв['’]яж\w*|допомож\w*)",
    r"\bде\s+(?:ж\s+)?(?:відповідь|оператор\w*|фахів\w*)\b",
    r"\bє\s+хто\b",
    # English
    r"\bhow\s+(?:much\s+)?long(?:er)?\s*(?:[?!.]|$)",
    r"\bhow\s+long(?:er)?\s+(?:do|will|should|must|shall)\s+i\s+(?:have\s+to\s+)?wait",
    r"\bhow\s+long\s+(?:until|till|before)\s+(?:someone|somebody|anyone|an?\s+agent|you)\b",
    r"\bwhen\s+(?:will|do|can)\s+(?:i|you|someone|somebody|anyone|an?\s+agent)\s+(?:\w+\s+){0,2}?(?:answer|reply|respond|get\s+back|hear)",
    r"\bany\s+(?:update|news|one\s+there)\b",
    r"\bis\s+any(?:one|body)\s+there\b",
    r"\bstill\s+waiting\b",
)

# Whole-message conversational phrases; a message is conversational when nothing else remains.
_CONVERSATIONAL: dict[Conversational, tuple[str, ...]] = {
    Conversational.THANKS: (
        r"спасибо",
        r"спасиб\w*",
        r"спс",
        r"благодарю",
        r"большое",
        r"огромное",
        r"дякую",
        r"дякс",
        r"дуже",
        r"щиро",
        r"thanks?",
        r"thank\s+you",
        r"thx",
        r"ty",
        r"cheers",
        r"much",
        r"a\s+lot",
        r"so",
        r"very",
        r"вы\s+лучшие",
        r"супер",
        r"класс",
        r"круто",
        r"отлично",
        r"чудово",
        r"great",
        r"awesome",
        r"perfect",
        r"помогло",
        r"допомогло",
        r"it\s+helped",
        r"that\s+helped",
    ),
    Conversational.GREETING: (
        r"здравствуй\w*",
        r"здрасьте",
        r"здрасте",
        r"здрастуйте",
        r"привет\w*",
        r"хай",
        r"добр\w+\s+(?:день|дня|вечер|вечора|вечера|утро|утра|ранку|ночи|ніч)",
        r"доброе\s+утро",
        r"доброго\s+времени\s+суток",
        r"приветствую",
        r"салют",
        r"вітаю",
        r"привіт\w*",
        r"доброго\s+\w+",
        r"hi",
        r"hello",
        r"hey",
        r"hiya",
        r"good\s+(?:morning|afternoon|evening|day)",
        r"greetings",
        r"алло",
        r"ало",
        r"ау",
        r"есть\s+кто",
        r"є\s+хто",
        r"there",
    ),
    Conversational.SMALLTALK: (
        r"как\s+дела",
        r"как\s+ты",
        r"як\s+справи",
        r"як\s+ти",
        r"how\s+are\s+you",
        r"how\s+is\s+it\s+going",
        r"ты\s+(?:тут|здесь|бот|робот|человек)",
        r"вы\s+(?:тут|здесь|бот|робот)",
        r"ти\s+(?:тут|бот|людина)",
        r"are\s+you\s+(?:a\s+)?(?:bot|robot|human|there)",
        r"кто\s+ты",
        r"хто\s+ти",
        r"who\s+are\s+you",
        r"ок",
        r"окей",
        r"ok",
        r"okay",
        r"понятно",
        r"ясно",
        r"хорошо",
        r"ладно",
        r"зрозуміло",
        r"добре",
        r"гаразд",
        r"ага",
        r"угу",
        r"да",
        r"так",
        r"нет",
        r"ні",
        r"yes",
        r"no",
        r"yep",
        r"nope",
        r"got\s+it",
        r"cool",
        r"fine",
        r"пока",
        r"до\s+свидания",
        r"бувай",
        r"до\s+побачення",
        r"bye",
        r"goodbye",
        r"see\s+you",
        r"всё",
        r"все",
        r"усе",
        r"that'?s\s+all",
        r"nothing",
        r"ничего",
        r"нічого",
        r"тест",
        r"test",
        r"and\s+you",
        r"а\s+ты",
        r"а\s+ти",
    ),
}


def _phrases(alternatives: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so "thank you" is taken whole rather than "thank" leaving "you" behind.
    ordered = sorted(alternatives, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(ordered) + r")(?!\w)", re.IGNORECASE)


_INTENT_PHRASES = {
    intent: _phrases(alternatives) for intent, alternatives in _CONVERSATIONAL.items()
}
_ANY_PHRASE = _phrases(tuple(a for alternatives in _CONVERSATIONAL.values() for a in alternatives))
_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
MAX_CONVERSATIONAL_WORDS = 8


# The words a request for a person hinges on, as the patterns above spell them: a customer's
# typo in one of them ("аператора позавите", "operater", "humna") is read as the word.
_HUMAN_REQUEST_WORDS = frozenset(
    word
    for words in (
        "оператор оператора оператору оператором операторы операторов человек человека человеком "
        "человеку менеджер менеджера менеджером специалист специалиста специалистом сотрудник "
        "сотрудника консультант консультанта позовите позови соедините переключите поговорить "
        "пообщаться живой живым живого бухгалтер бухгалтера переведите",
        "людина людиною людини покличте поклич з'єднайте поговорити спеціаліст спеціаліста "
        "працівник працівником співробітник співробітника бухгалтер бухгалтера переведіть",
        "operator human person someone somebody representative agent speak talk accountant manager",
    )
    for word in words.split()
)
_MIN_TYPO_WORD = 5


def asks_for_human(text: str) -> bool:
    """True when the customer asks to talk to a person ("оператор", "з людиною", "agent please"),
    also with a typo in the word it hinges on."""
    text = _CARRIER.sub(" carrier ", text)
    if _HUMAN_REQUEST.search(text) is not None:
        return True
    corrected = _WORDS.sub(lambda word: _request_word_slipped(word.group().lower()), text.lower())
    return corrected != text.lower() and _HUMAN_REQUEST.search(corrected) is not None


@lru_cache(maxsize=8192)
def _request_word_slipped(word: str) -> str:
    """The request word this one is a one-letter slip of (a wrong, missing, extra or swapped
    letter), else the word itself."""
    if len(word) < _MIN_TYPO_WORD or word in _HUMAN_REQUEST_WORDS:
        return word
    for known in _HUMAN_REQUEST_WORDS:
        if abs(len(known) - len(word)) <= 1 and _one_slip_apart(word, known):
            return known
    return word


def _one_slip_apart(typed: str, known: str) -> bool:
    """Whether the two differ by exactly one substitution, insertion, deletion or swap of
    neighbouring letters."""
    if len(typed) == len(known):
        differ = [index for index, (a, b) in enumerate(zip(typed, known, strict=True)) if a != b]
        if len(differ) == 1:
            return True
        return (
            len(differ) == 2
            and differ[1] == differ[0] + 1
            and typed[differ[0]] == known[differ[1]]
            and typed[differ[1]] == known[differ[0]]
        )
    shorter, longer = sorted((typed, known), key=len)
    return any(longer[:index] + longer[index + 1 :] == shorter for index in range(len(longer)))


def says_not_helped(text: str) -> bool:
    """True when the customer says the bot's last answer missed ("не то", "not what I asked")."""
    return _NEGATIVE_FEEDBACK.search(text) is not None


def asks_about_wait(text: str) -> bool:
    """True when the customer asks how long until a person answers ("скоро ответите?",
    "коли відповідь?", "how long?")."""
    return _WAIT_QUESTION.search(text) is not None


def conversational_intent(text: str) -> Conversational | None:
    """The intent of a message made only of greetings, thanks or small talk; None if it asks more."""
    words = _WORDS.findall(text.lower())
    if not words or len(words) > MAX_CONVERSATIONAL_WORDS:
        return None
    joined = " ".join(words)
    if _ANY_PHRASE.sub(" ", joined).strip():
        return None
    return next(intent for intent, phrases in _INTENT_PHRASES.items() if phrases.search(joined))
