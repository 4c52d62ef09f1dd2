"""The people on the other side of the fake Telegram: customers writing to the bot, agents in
their forum group, presses on the bot's buttons, each turned into the update Telegram would send.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BOT_ID = 7000001
BOT_USERNAME = "firstline_test_bot"
# What a customer may send besides text, as Telegram puts it in a message.
MEDIA: dict[str, dict[str, Any]] = {
    "sticker": {
        "sticker": {
            "file_id": "STICKER1",
            "file_unique_id": "s1",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
    },
    "voice": {"voice": {"file_id": "VOICE1", "file_unique_id": "v1", "duration": 3}},
    "photo": {
        "photo": [
            {"file_id": "PHOTO-small", "file_unique_id": "p0", "width": 90, "height": 90},
            {"file_id": "PHOTO-big", "file_unique_id": "p1", "width": 1280, "height": 960},
        ],
        "caption": "вот скриншот ошибки",
    },
    "document": {"document": {"file_id": "DOC1", "file_unique_id": "d1", "file_name": "log.txt"}},
    "location": {"location": {"latitude": 50.45, "longitude": 30.52}},
    "contact": {"contact": {"phone_number": "+380000000000", "first_name": "Ann"}},
}


@dataclass
class SentMessage:
    """A message the bot sent (or edited), as the fake Bot API recorded it."""

    message_id: int
    chat_id: int
    text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    received_at: float
    method: str = "sendMessage"
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """Inline buttons as (label, callback data), row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(button["text"], button.get("callback_data", "")) for row in rows for button in row]

    @property
    def keyboard(self) -> list[str]:
        rows = (self.reply_markup or {}).get("keyboard", [])
        return [
            button if isinstance(button, str) else button["text"] for row in rows for button in row
        ]


class TelegramPeople:
    """What customers and agents do; :class:`tests.support.fake_bot_api.FakeBotApi` queues the
    updates for the bot (``add_update``) and keeps what was said (``_contents``)."""

    _lock: threading.Lock
    _message_ids: itertools.count[int]
    _contents: dict[tuple[int, int], dict[str, Any]]
    callback_answers: list[dict[str, Any]]

    add_update: Callable[[dict[str, Any]], int]
    messages_to: Callable[[int], list[Any]]

    # --- the customer's side ---------------------------------------------------------------

    def send_text(self, user: dict[str, Any], text: str, **message: Any) -> int:
        """The customer writes a message; returns its message_id."""
        return self.send_message(user, {"text": text, **message})

    def send_command(self, user: dict[str, Any], command: str) -> int:
        entities = [{"type": "bot_command", "offset": 0, "length": len(command.split()[0])}]
        return self.send_message(user, {"text": command, "entities": entities})

    def send_message(self, user: dict[str, Any], content: dict[str, Any]) -> int:
        message_id = next(self._message_ids)
        self._contents[(user["id"], message_id)] = content
        self.add_update({"message": {**self._envelope(user, message_id), **content}})
        return message_id

    # --- the agents' side: a forum supergroup ------------------------------------------------

    def send_in_topic(
        self,
        group_id: int,
        thread_id: int | None,
        user: dict[str, Any],
        content: dict[str, Any] | str,
        *,
        reply_to: int | None = None,
    ) -> int:
        """An agent writes in the group, inside a topic (or in General when thread_id is None)."""
        body: dict[str, Any] = {"text": content} if isinstance(content, str) else dict(content)
        text = str(body.get("text", ""))
        if text.startswith("/"):
            body["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        message_id = next(self._message_ids)
        self._contents[(group_id, message_id)] = body
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": group_chat(group_id),
            "from": user,
            **body,
        }
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            # Telegram makes a topic message a reply to the topic's first message.
            message["reply_to_message"] = {
                "message_id": reply_to or thread_id,
                "date": int(time.time()),
                "chat": group_chat(group_id),
                "message_thread_id": thread_id,
            }
        self.add_update({"message": message})
        return message_id

    def edit_in_topic(
        self, group_id: int, thread_id: int, user: dict[str, Any], message_id: int, text: str
    ) -> None:
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": group_chat(group_id),
            "from": user,
            "text": text,
            "message_thread_id": thread_id,
            "is_topic_message": True,
        }
        self.add_update({"edited_message": message})

    def press_in_group(self, user: dict[str, Any], message: SentMessage, data: str) -> None:
        """An agent presses a button under one of the bot's messages in the group."""
        bot_message = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": group_chat(message.chat_id),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Firstline"},
            "text": message.text,
            "message_thread_id": message.params.get("message_thread_id"),
            "is_topic_message": True,
        }
        query = {
            "id": str(next(self._message_ids)),
            "from": user,
            "chat_instance": str(message.chat_id),
            "message": bot_message,
            "data": data,
        }
        self.add_update({"callback_query": query})

    def messages_in_topic(self, group_id: int, thread_id: int) -> list[SentMessage]:
        return [
            message
            for message in self.messages_to(group_id)
            if message.params.get("message_thread_id") == thread_id
        ]

    def answers_to_presses(self) -> list[str]:
        with self._lock:
            return [str(answer.get("text", "")) for answer in self.callback_answers]

    def edit_text(self, user: dict[str, Any], message_id: int, text: str) -> None:
        envelope = self._envelope(user, message_id)
        self.add_update(
            {"edited_message": {**envelope, "text": text, "edit_date": int(time.time())}}
        )

    def press(self, user: dict[str, Any], message: SentMessage, data: str) -> None:
        """The customer presses an inline button under one of the bot's messages."""
        bot_message = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private", "first_name": user["first_name"]},
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Firstline",
                "username": BOT_USERNAME,
            },
            "text": message.text,
        }
        query = {
            "id": str(next(self._message_ids)),
            "from": user,
            "chat_instance": str(user["id"]),
            "message": bot_message,
            "data": data,
        }
        self.add_update({"callback_query": query})

    def add_bot_to_group(self, chat_id: int, by: dict[str, Any]) -> None:
        bot_user = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Firstline",
            "username": BOT_USERNAME,
        }
        change = {
            "chat": {"id": chat_id, "type": "group", "title": "Some group"},
            "from": by,
            "date": int(time.time()),
            "old_chat_member": {"user": bot_user, "status": "left"},
            "new_chat_member": {"user": bot_user, "status": "member"},
        }
        self.add_update({"my_chat_member": change})

    def send_group_text(self, chat_id: int, user: dict[str, Any], text: str) -> None:
        message_id = next(self._message_ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "group", "title": "Some group"},
            "from": user,
            "text": text,
        }
        self.add_update({"message": message})

    def _envelope(self, user: dict[str, Any], message_id: int) -> dict[str, Any]:
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": user,
        }


def group_chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": "Support agents", "is_forum": True}


def agent(user_id: int, first_name: str, username: str) -> dict[str, Any]:
    """An agent: a Telegram user in the agents' group."""
    return {"id": user_id, "is_bot": False, "first_name": first_name, "username": username}


def customer(
    user_id: int, first_name: str = "Olena", language_code: str | None = "ru"
) -> dict[str, Any]:
    """A Telegram user as updates carry it."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        user["language_code"] = language_code
    return user
