"""Everything a customer sends that is not a text: stickers, voice, photos, files, locations,
contacts, forwards and edits — kept for the agent, answered politely."""

from __future__ import annotations

from telegram import Message, Update

from bot.context import FirstlineContext
from bot.customers.chat import Inbound
from bot.customers.handlers import customer_chat, handled_by_people
from handoff.models import MessageKind


async def media_message(update: Update, context: FirstlineContext) -> None:
    """Stickers, voice, photos, files, locations, contacts: kept for the agent, answered politely."""
    message = update.effective_message
    if message is None:
        return
    kind, file_id = media_of(message)
    inbound = Inbound(kind, message.caption, file_id, _media_details(message))
    chat = await customer_chat(update, context, inbound)
    if chat is None or await handled_by_people(chat):
        return
    if message.forward_origin is not None:
        await chat.say(chat.texts.forwarded)
        return
    what = chat.texts.media_names.get(kind, chat.texts.media_names[MessageKind.OTHER])
    await chat.say(chat.texts.media_received.format(what=what))


async def forwarded_text(update: Update, context: FirstlineContext) -> None:
    """A forwarded text: kept for the agent; the customer is asked what their question is."""
    message = update.effective_message
    if message is None:
        return
    chat = await customer_chat(update, context, Inbound(MessageKind.FORWARD, text=message.text))
    if chat is None or await handled_by_people(chat):
        return
    await chat.say(chat.texts.forwarded)


async def edited_message(update: Update, context: FirstlineContext) -> None:
    """An edit of an earlier message: the new text is kept, the customer is told how to ask anew."""
    message = update.edited_message
    if message is None:
        return
    edit = Inbound(MessageKind.EDIT, text=message.text or message.caption)
    chat = await customer_chat(update, context, edit)
    if chat is None or await handled_by_people(chat):
        return
    await chat.say(chat.texts.edited)


def media_of(message: Message) -> tuple[MessageKind, str | None]:
    """What kind of non-text message this is, and the file Telegram keeps for it."""
    if message.sticker:
        return MessageKind.STICKER, message.sticker.file_id
    if message.photo:
        return MessageKind.PHOTO, message.photo[-1].file_id
    for kind, attachment in (
        (MessageKind.VOICE, message.voice),
        (MessageKind.VIDEO_NOTE, message.video_note),
        (MessageKind.ANIMATION, message.animation),
        (MessageKind.VIDEO, message.video),
        (MessageKind.AUDIO, message.audio),
        (MessageKind.DOCUMENT, message.document),
    ):
        if attachment is not None:
            return kind, attachment.file_id
    if message.location:
        return MessageKind.LOCATION, None
    if message.contact:
        return MessageKind.CONTACT, None
    return MessageKind.OTHER, None


def _media_details(message: Message) -> dict[str, object]:
    details: dict[str, object] = {}
    if message.forward_origin is not None:
        details["forwarded"] = True
    if message.location:
        details["location"] = [message.location.latitude, message.location.longitude]
    if message.contact:
        details["contact"] = {
            "phone_number": message.contact.phone_number,
            "first_name": message.contact.first_name,
        }
    if message.document and message.document.file_name:
        details["file_name"] = message.document.file_name
    return details
