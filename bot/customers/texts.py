"""Everything the bot says, in one place per language (ru, uk, en).

Texts are Telegram HTML: a placeholder filled with a customer's words must be escaped first
(bot.formatting.escape); the texts themselves use only <b> and <i>.
"""

from __future__ import annotations

from dataclasses import dataclass

from handoff.models import MessageKind


@dataclass(frozen=True)
class Texts:
    greeting: str  # {name}
    help: str
    human_button: str
    helped_button: str
    not_that_button: str
    talk_button: str
    anything_else: str
    not_translated: str  # {language}: the language the answer is in, from ``in_language``
    in_language: dict[str, str]
    did_you_mean: str
    none_of_these: str
    other_options: str
    handoff_unsure: str
    handoff_requested: str
    handoff_not_helped: str
    handoff_already: str
    greeting_reply: str
    thanks_reply: str
    smalltalk_reply: str
    off_topic: str  # {topics}: a few questions the FAQ answers, quoted
    not_text: str
    media_received: str  # {what}
    media_names: dict[MessageKind, str]
    edited: str
    forwarded: str
    rate_limited: str
    apology: str
    private_only: str
    choose_language: str
    language_set: str
    vote_thanks: str
    button_expired: str
    rate_request: str
    rating_thanks: str
    comment_thanks: str
    ticket_reopened: str
    agent_joined: str  # {agent}
    passed_to_team: str  # {team}: another team of ours takes the request over
    out_of_hours: str  # {opening}
    out_of_hours_unknown: str
    queue_wait: str  # {position} {wait}
    wait_with_agent: str  # {agent}
    wait_closed: str  # {opening}
    line_open: str  # {position} {wait}


RU = Texts(
    greeting=(
        "Здравствуйте, {name}! Я бот поддержки.\n"
        "Отвечаю на частые вопросы сразу. Если не уверен — уточню или передам чат человеку, "
        "и повторять ничего не придётся: специалист увидит всю переписку.\n\n"
        "Напишите вопрос своими словами."
    ),
    help=(
        "<b>Как я помогаю</b>\n"
        "1. Напишите вопрос своими словами — отвечу из базы знаний.\n"
        "2. Если ответ не подошёл, нажмите «👎 Не то».\n"
        "3. Нужен человек — /human или кнопка «🙋 Позвать человека».\n"
        "4. Сменить язык — /language."
    ),
    human_button="🙋 Позвать человека",
    helped_button="👍 Помогло",
    not_that_button="👎 Не то",
    talk_button="🙋 Поговорить с человеком",
    anything_else="Могу ещё чем-то помочь?",
    not_translated="Этого ответа пока нет на русском — вот он на {language}.",
    in_language={"ru": "русском", "uk": "украинском", "en": "английском"},
    did_you_mean="Уточните, пожалуйста: вы имели в виду одно из этого?",
    none_of_these="Ничего из этого",
    other_options="Жаль, что не помогло. Может быть, вы имели в виду одно из этого?",
    handoff_unsure=(
        "Не хочу гадать с ответом, поэтому передал ваш вопрос специалисту поддержки. "
        "Он ответит здесь, в этом чате, и увидит всю переписку — повторять ничего не нужно."
    ),
    handoff_requested=(
        "Передал чат специалисту поддержки. Он ответит здесь и увидит всю переписку — "
        "повторять ничего не нужно."
    ),
    handoff_not_helped=(
        "Извините, что не помог. Передал вопрос специалисту поддержки: он ответит здесь и "
        "увидит всю переписку."
    ),
    handoff_already=(
        "Ваш запрос уже у специалиста поддержки, он ответит здесь. Всё, что вы напишете, "
        "он тоже увидит."
    ),
    greeting_reply="Здравствуйте! Чем могу помочь? Напишите вопрос своими словами.",
    thanks_reply="Рад помочь! Если появятся вопросы — пишите.",
    smalltalk_reply=(
        "Я бот поддержки и лучше всего отвечаю на вопросы о сервисе. "
        "Напишите, что случилось, или нажмите «🙋 Позвать человека»."
    ),
    off_topic=(
        "С этим я не помогу: это вне того, на что я отвечаю. Я отвечаю на вопросы вроде "
        "{topics}. Нужен человек — нажмите «🙋 Поговорить с человеком»."
    ),
    not_text="Я понимаю только слова. Напишите, пожалуйста, вопрос текстом.",
    media_received=(
        "Спасибо, {what} получил и сохранил для специалиста. Сам я понимаю только текст — "
        "опишите, пожалуйста, вопрос словами."
    ),
    media_names={
        MessageKind.STICKER: "стикер",
        MessageKind.PHOTO: "фото",
        MessageKind.VOICE: "голосовое сообщение",
        MessageKind.VIDEO: "видео",
        MessageKind.VIDEO_NOTE: "видеосообщение",
        MessageKind.AUDIO: "аудио",
        MessageKind.ANIMATION: "анимацию",
        MessageKind.DOCUMENT: "файл",
        MessageKind.LOCATION: "геопозицию",
        MessageKind.CONTACT: "контакт",
        MessageKind.OTHER: "сообщение",
    },
    edited=(
        "Вижу, вы исправили сообщение — изменение сохранено. "
        "Если вопрос стал другим, отправьте его, пожалуйста, новым сообщением."
    ),
    forwarded=(
        "Получил пересланное сообщение и сохранил его для специалиста. Какой у вас вопрос по нему?"
    ),
    rate_limited=(
        "Вы пишете быстрее, чем я успеваю отвечать. Все сообщения сохранены — "
        "подождите, пожалуйста, минуту."
    ),
    apology=(
        "Извините, у меня что-то пошло не так. Попробуйте ещё раз через минуту "
        "или нажмите «🙋 Позвать человека»."
    ),
    private_only="Я работаю только в личных сообщениях — напишите мне, пожалуйста, напрямую.",
    choose_language="На каком языке вам удобнее?",
    language_set="Готово, теперь отвечаю по-русски.",
    vote_thanks="Спасибо за оценку!",
    button_expired="Эта кнопка уже не действует — напишите вопрос ещё раз.",
    rate_request=(
        "Мы закрыли ваше обращение. Оцените, пожалуйста, помощь от 1 до 5 — это займёт секунду."
    ),
    rating_thanks=(
        "Спасибо за оценку! Если хотите что-то добавить, просто напишите — я передам команде."
    ),
    comment_thanks="Спасибо, передал ваш отзыв команде.",
    ticket_reopened=(
        "Я снова передал ваш чат специалисту, который вам помогал: он увидит это сообщение "
        "и ответит здесь."
    ),
    agent_joined="{agent} из поддержки взял(а) ваш вопрос и ответит здесь.",
    passed_to_team=(
        "Передал ваш вопрос нашим специалистам ({team}): они ответят здесь, в этом чате, и "
        "увидят всю переписку."
    ),
    out_of_hours=(
        "Сейчас мы не на связи. Специалист ответит {opening} — ваш запрос сохранён, повторять "
        "ничего не нужно. А пока я могу ответить на вопросы из справки."
    ),
    out_of_hours_unknown=(
        "Сейчас мы не на связи. Ваш запрос сохранён: специалист ответит, как только мы снова "
        "откроемся."
    ),
    queue_wait="Место в очереди: {position}. Ожидаемое время ответа: {wait}.",
    wait_with_agent="Ваш вопрос уже у специалиста ({agent}), он ответит здесь.",
    wait_closed="Сейчас мы не на связи; специалист ответит {opening}. Ваш запрос в очереди.",
    line_open=(
        "Мы снова на связи! Ваш запрос в очереди (место {position}), ожидаемое время ответа: "
        "{wait}."
    ),
)

UK = Texts(
    greeting=(
        "Вітаю, {name}! Я бот підтримки.\n"
        "Відповідаю на часті запитання одразу. Якщо не впевнений — уточню або передам чат "
        "людині, і нічого не доведеться повторювати: фахівець побачить усе листування.\n\n"
        "Напишіть запитання своїми словами."
    ),
    help=(
        "<b>Як я допомагаю</b>\n"
        "1. Напишіть запитання своїми словами — відповім із бази знань.\n"
        "2. Якщо відповідь не підійшла, натисніть «👎 Не те».\n"
        "3. Потрібна людина — /human або кнопка «🙋 Покликати людину».\n"
        "4. Змінити мову — /language."
    ),
    human_button="🙋 Покликати людину",
    helped_button="👍 Допомогло",
    not_that_button="👎 Не те",
    talk_button="🙋 Поговорити з людиною",
    anything_else="Чи можу ще чимось допомогти?",
    not_translated="Цієї відповіді ще немає українською — ось вона {language}.",
    in_language={"ru": "російською", "uk": "українською", "en": "англійською"},
    did_you_mean="Уточніть, будь ласка: ви мали на увазі одне з цього?",
    none_of_these="Нічого з цього",
    other_options="Шкода, що не допомогло. Можливо, ви мали на увазі одне з цього?",
    handoff_unsure=(
        "Не хочу вгадувати відповідь, тому передав ваше запитання фахівцю підтримки. "
        "Він відповість тут, у цьому чаті, і побачить усе листування — повторювати нічого не треба."
    ),
    handoff_requested=(
        "Передав чат фахівцю підтримки. Він відповість тут і побачить усе листування — "
        "повторювати нічого не треба."
    ),
    handoff_not_helped=(
        "Вибачте, що не допоміг. Передав запитання фахівцю підтримки: він відповість тут і "
        "побачить усе листування."
    ),
    handoff_already=(
        "Ваш запит уже у фахівця підтримки, він відповість тут. Усе, що ви напишете, "
        "він теж побачить."
    ),
    greeting_reply="Вітаю! Чим можу допомогти? Напишіть запитання своїми словами.",
    thanks_reply="Радий допомогти! Якщо з'являться запитання — пишіть.",
    smalltalk_reply=(
        "Я бот підтримки і найкраще відповідаю на запитання про сервіс. "
        "Напишіть, що сталося, або натисніть «🙋 Покликати людину»."
    ),
    off_topic=(
        "З цим я не допоможу: це поза тим, на що я відповідаю. Я відповідаю на запитання "
        "на кшталт {topics}. Потрібна людина — натисніть «🙋 Поговорити з людиною»."
    ),
    not_text="Я розумію лише слова. Напишіть, будь ласка, запитання текстом.",
    media_received=(
        "Дякую, {what} отримав і зберіг для фахівця. Сам я розумію лише текст — "
        "опишіть, будь ласка, запитання словами."
    ),
    media_names={
        MessageKind.STICKER: "стікер",
        MessageKind.PHOTO: "фото",
        MessageKind.VOICE: "голосове повідомлення",
        MessageKind.VIDEO: "відео",
        MessageKind.VIDEO_NOTE: "відеоповідомлення",
        MessageKind.AUDIO: "аудіо",
        MessageKind.ANIMATION: "анімацію",
        MessageKind.DOCUMENT: "файл",
        MessageKind.LOCATION: "геопозицію",
        MessageKind.CONTACT: "контакт",
        MessageKind.OTHER: "повідомлення",
    },
    edited=(
        "Бачу, ви виправили повідомлення — зміну збережено. "
        "Якщо запитання змінилося, надішліть його, будь ласка, новим повідомленням."
    ),
    forwarded=(
        "Отримав переслане повідомлення і зберіг його для фахівця. Яке у вас запитання щодо нього?"
    ),
    rate_limited=(
        "Ви пишете швидше, ніж я встигаю відповідати. Усі повідомлення збережено — "
        "зачекайте, будь ласка, хвилину."
    ),
    apology=(
        "Вибачте, у мене щось пішло не так. Спробуйте ще раз за хвилину "
        "або натисніть «🙋 Покликати людину»."
    ),
    private_only="Я працюю лише в особистих повідомленнях — напишіть мені, будь ласка, напряму.",
    choose_language="Якою мовою вам зручніше?",
    language_set="Готово, тепер відповідаю українською.",
    vote_thanks="Дякую за оцінку!",
    button_expired="Ця кнопка вже не діє — напишіть запитання ще раз.",
    rate_request=(
        "Ми закрили ваше звернення. Оцініть, будь ласка, допомогу від 1 до 5 — це займе секунду."
    ),
    rating_thanks=(
        "Дякую за оцінку! Якщо хочете щось додати, просто напишіть — я передам команді."
    ),
    comment_thanks="Дякую, передав ваш відгук команді.",
    ticket_reopened=(
        "Я знову передав ваш чат фахівцеві, який вам допомагав: він побачить це повідомлення "
        "і відповість тут."
    ),
    agent_joined="{agent} з підтримки взяв(ла) ваше питання і відповість тут.",
    passed_to_team=(
        "Передав ваше питання нашим фахівцям ({team}): вони відповідять тут, у цьому чаті, і "
        "бачитимуть усе листування."
    ),
    out_of_hours=(
        "Зараз ми не на зв'язку. Фахівець відповість {opening} — ваш запит збережено, "
        "повторювати нічого не треба. А поки я можу відповісти на запитання з довідки."
    ),
    out_of_hours_unknown=(
        "Зараз ми не на зв'язку. Ваш запит збережено: фахівець відповість, щойно ми знову "
        "відкриємося."
    ),
    queue_wait="Місце в черзі: {position}. Очікуваний час відповіді: {wait}.",
    wait_with_agent="Ваше питання вже у фахівця ({agent}), він відповість тут.",
    wait_closed="Зараз ми не на зв'язку; фахівець відповість {opening}. Ваш запит у черзі.",
    line_open=(
        "Ми знову на зв'язку! Ваш запит у черзі (місце {position}), очікуваний час відповіді: "
        "{wait}."
    ),
)

EN = Texts(
    greeting=(
        "Hello, {name}! I'm the support bot.\n"
        "I answer common questions right away. When I'm not sure, I'll ask what you mean or "
        "pass the chat to a person, and you won't have to repeat anything: they see the whole "
        "conversation.\n\n"
        "Just write your question in your own words."
    ),
    help=(
        "<b>How I help</b>\n"
        "1. Write your question in your own words — I answer from our knowledge base.\n"
        "2. If an answer doesn't fit, press «👎 Not that».\n"
        "3. Need a person? /human or the «🙋 Talk to a person» button.\n"
        "4. Change the language with /language."
    ),
    human_button="🙋 Talk to a person",
    helped_button="👍 Helped",
    not_that_button="👎 Not that",
    talk_button="🙋 Talk to a person",
    anything_else="Anything else I can help with?",
    not_translated="This answer isn't in English yet — here it is in {language}.",
    in_language={"ru": "Russian", "uk": "Ukrainian", "en": "English"},
    did_you_mean="Just to be sure: did you mean one of these?",
    none_of_these="None of these",
    other_options="Sorry that didn't help. Did you perhaps mean one of these?",
    handoff_unsure=(
        "I'd rather not guess, so I've passed your question to our support team. "
        "An agent will reply here, in this chat, and will see the whole conversation — "
        "no need to repeat anything."
    ),
    handoff_requested=(
        "I've passed the chat to our support team. An agent will reply here and will see "
        "the whole conversation — no need to repeat anything."
    ),
    handoff_not_helped=(
        "Sorry I couldn't help. I've passed your question to our support team: an agent "
        "will reply here and will see the whole conversation."
    ),
    handoff_already=(
        "Your request is already with our support team; an agent will reply here. "
        "They will see everything you write."
    ),
    greeting_reply="Hello! How can I help? Write your question in your own words.",
    thanks_reply="Glad to help! If anything else comes up, just write.",
    smalltalk_reply=(
        "I'm the support bot and best at questions about our service. "
        "Tell me what happened, or press «🙋 Talk to a person»."
    ),
    off_topic=(
        "That's outside what I can help with. I answer questions like {topics}. "
        "Need a person? Press «🙋 Talk to a person»."
    ),
    not_text="I only understand words. Please write your question as text.",
    media_received=(
        "Thanks, I got the {what} and kept it for our team. I only understand text myself — "
        "please describe your question in words."
    ),
    media_names={
        MessageKind.STICKER: "sticker",
        MessageKind.PHOTO: "photo",
        MessageKind.VOICE: "voice message",
        MessageKind.VIDEO: "video",
        MessageKind.VIDEO_NOTE: "video message",
        MessageKind.AUDIO: "audio",
        MessageKind.ANIMATION: "animation",
        MessageKind.DOCUMENT: "file",
        MessageKind.LOCATION: "location",
        MessageKind.CONTACT: "contact",
        MessageKind.OTHER: "message",
    },
    edited=(
        "I see you edited your message — the change is saved. "
        "If your question changed, please send it as a new message."
    ),
    forwarded=(
        "I got the forwarded message and kept it for our team. What would you like to ask about it?"
    ),
    rate_limited=(
        "You're writing faster than I can answer. Every message is saved — please give me a minute."
    ),
    apology=(
        "Sorry, something went wrong on my side. Please try again in a minute "
        "or press «🙋 Talk to a person»."
    ),
    private_only="I only work in private chats — please write to me directly.",
    choose_language="Which language do you prefer?",
    language_set="Done, I'll answer in English now.",
    vote_thanks="Thanks for your feedback!",
    button_expired="This button no longer works — please write your question again.",
    rate_request="We have closed your request. Please rate the help from 1 to 5 — it takes a second.",
    rating_thanks="Thank you for the rating! If you'd like to add something, just write it here.",
    comment_thanks="Thank you, I have passed your feedback to the team.",
    ticket_reopened=(
        "I have passed your chat back to the person who helped you: they will see this message "
        "and reply here."
    ),
    agent_joined="{agent} from support has taken your question and will reply here.",
    passed_to_team=(
        "I've passed your question to our specialists ({team}): they will answer here, in this "
        "chat, and see the whole conversation."
    ),
    out_of_hours=(
        "We're closed right now. A person will answer {opening} — your request is saved, no "
        "need to repeat anything. Meanwhile I can answer questions from our help pages."
    ),
    out_of_hours_unknown=(
        "We're closed right now. Your request is saved: a person will answer as soon as we "
        "open again."
    ),
    queue_wait="Your place in the queue: {position}. Expected wait for an answer: {wait}.",
    wait_with_agent="{agent} from support has your question and will reply here.",
    wait_closed="We're closed right now; a person will answer {opening}. Your request is queued.",
    line_open="We're online again! Your request is in the queue (place {position}); expected wait: {wait}.",
)

TEXTS: dict[str, Texts] = {"ru": RU, "uk": UK, "en": EN}
LANGUAGE_NAMES = {"ru": "Русский", "uk": "Українська", "en": "English"}
HUMAN_BUTTONS = frozenset(texts.human_button for texts in TEXTS.values()) | frozenset(
    texts.talk_button for texts in TEXTS.values()
)


def texts_for(language: str | None) -> Texts:
    """The texts in a language, English for any we do not speak."""
    return TEXTS.get(language or "en", EN)
